#!/usr/bin/env bash
# Runs the whole test suite once, with the race detector, and fails when a
# test fails or is skipped: a skipped test proves nothing. caddytest skips
# silently under -short or -trimpath, so neither is used here.
set -uo pipefail
cd "$(dirname "$0")/.."

# Caddy writes under XDG dirs; keep them out of $HOME.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CONFIG_HOME="$tmp/config" XDG_DATA_HOME="$tmp/data"

log="$tmp/test.log"
# 30m, not go test's 10m: on a fresh machine the first package that needs
# the Kubernetes API server builds it (internal/testkube, minutes).
go test -race -count=1 -timeout 30m -v ./... 2>&1 | tee "$log" | grep -E '^(--- FAIL|--- SKIP|FAIL|ok|panic|leak scan)' 
status=${PIPESTATUS[0]}

passed=$(grep -c -- '--- PASS' "$log")
failed=$(grep -c -- '--- FAIL' "$log")
skipped=$(grep -c -- '--- SKIP' "$log")
if [ "$skipped" -gt 0 ]; then
  echo "unexpected skips:"; grep -- '--- SKIP' "$log"
  status=1
fi
if [ "$status" -ne 0 ] && [ "$failed" -gt 0 ]; then
  grep -B2 -A20 -- '--- FAIL' "$log" | head -200
fi
echo "$passed passed, $failed failed, $skipped skipped"
exit "$status"
