#!/usr/bin/env bash
# Runs every native Go fuzz target (func FuzzXxx(f *testing.F) in a
# *_test.go) for a bounded time, one target at a time (go test accepts one
# -fuzz target per package run), prints each target's exec count, and
# fails when any target fails.
#
#   bash scripts/fuzz.sh                 every target, FUZZTIME each (default 10s)
#   FUZZTIME=2m bash scripts/fuzz.sh ./signer
#   FUZZTARGETS='^Fuzz(ParseForm|Validate)$' bash scripts/fuzz.sh
#
# FUZZTIME is go test's -fuzztime: a duration (30s) or an exec count (50000x).
# FUZZMINIMIZETIME (default 30s) bounds each minimisation of an input.
# FUZZTARGETS, a regular expression, selects targets by name (default all).
# A failing input is written by go test to <package>/testdata/fuzz/<FuzzXxx>/:
# commit it with the fix, and plain `go test` replays it from then on.
set -uo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
minimize=${FUZZMINIMIZETIME:-30s}

# Packages: the arguments, or every directory holding a fuzz target.
if [ $# -gt 0 ]; then
  pkgs=("$@")
else
  mapfile -t pkgs < <(grep -rlE --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor --exclude-dir=.git \
    '^func Fuzz[A-Za-z0-9_]*\(' . | xargs -r -n1 dirname | sort -u)
fi
if [ ${#pkgs[@]} -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# fuzz_once runs one target for FUZZTIME into a log.
fuzz_once() {
  go test -run='^$' -fuzz="^${2}\$" -fuzztime="$fuzztime" -fuzzminimizetime="$minimize" "$1" >"$3" 2>&1
}

# deadline_flake: the log's only complaint is the coordinator's deadline.
deadline_flake() {
  grep -q 'context deadline exceeded' "$1" &&
    ! grep -qE 'Failing input written|panic:|_test\.go:[0-9]+:' "$1"
}

status=0 ran=0 failed=()
for pkg in "${pkgs[@]}"; do
  case $pkg in ./* | /*) ;; *) pkg=./$pkg ;; esac
  # go test -list is authoritative (build tags, real names); it also
  # fails loudly when the package does not build.
  if ! go test -list '^Fuzz' "$pkg" >"$tmp/list" 2>&1; then
    echo "fuzz: $pkg: cannot list targets:" >&2
    cat "$tmp/list" >&2
    status=1 failed+=("$pkg")
    continue
  fi
  mapfile -t targets < <(grep -E '^Fuzz[A-Za-z0-9_]*$' "$tmp/list" | grep -E -- "${FUZZTARGETS:-.}")
  for target in "${targets[@]}"; do
    log="$tmp/$target.log"
    start=$SECONDS
    fuzz_once "$pkg" "$target" "$log"
    rc=$?
    # Go 1.26's coordinator can fail a target with a bare "context
    # deadline exceeded" as -fuzztime ends, under CPU contention, without
    # any failing input (go.dev/issue/75804, fixed in Go 1.27). Such a run
    # is tried once more; a second one, or any failure that wrote an
    # input or said anything else, fails.
    if [ "$rc" -ne 0 ] && deadline_flake "$log"; then
      echo "     $target: context deadline exceeded with no failing input (go.dev/issue/75804); once more"
      fuzz_once "$pkg" "$target" "$log"
      rc=$?
    fi
    # The coordinator's last line is "fuzz: elapsed: 10s, execs: 123456 (12345/sec), ...".
    execs=$(grep -oE 'execs: [0-9]+' "$log" | tail -n1 | cut -d' ' -f2)
    ran=$((ran + 1))
    if [ "$rc" -eq 0 ]; then
      result=ok
    else
      result=FAIL status=1 failed+=("$pkg $target")
    fi
    note=
    if [ -z "$execs" ]; then
      execs=0
      [ "$rc" -eq 0 ] && note='  no fuzzing: the time went on the baseline corpus; raise FUZZTIME'
    fi
    printf '%-4s %-26s %-16s execs %10s  (%ss)%s\n' "$result" "$target" "$pkg" "$execs" "$((SECONDS - start))" "$note"
    if [ "$rc" -ne 0 ]; then
      grep -vE '^fuzz: elapsed: ' "$log" | sed 's/^/    /'
      crasher=$(sed -n 's/^ *Failing input written to //p' "$log" | tail -n1)
      [ -n "$crasher" ] && echo "    failing input: ${pkg#./}/$crasher (keep it as a regression input once fixed)"
    fi
  done
done

echo "fuzz: $ran targets run for $fuzztime each, ${#failed[@]} failed"
for f in "${failed[@]}"; do echo "  FAIL $f"; done
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no fuzz targets ran" >&2
  status=1
fi
exit "$status"
