#!/bin/sh
# qfsign's release build: xcaddy.Dockerfile runs this very script in its
# builder stage, and CI runs it without Docker, so both are one build.
#   sh scripts/xcaddy-build.sh [output]        (default: a temporary file)
# Environment: QFSIGN_VERSION, QFSIGN_COMMIT (default: from git, else dev
# and unknown) become the binary's version (`qfsign version`).
# POSIX sh: the builder image (Alpine) has no bash.
set -eu
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)/qfsign}
version=${QFSIGN_VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${QFSIGN_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}

# No file capability on the binary. The caddy builder image sets
# XCADDY_SETCAP=1, and a binary carrying cap_net_bind_service is refused at
# exec by a container that drops every capability (deployment.yaml).
# qfsign binds ports above 1024 and needs none.
export XCADDY_SETCAP=0
# xcaddy's default flags, plus the version: stripped, reproducible paths.
export XCADDY_GO_BUILD_FLAGS="-trimpath -tags nobadger,nomysql,nopgx -ldflags '-w -s -X github.com/caddyserver/caddy/v2.CustomVersion=qfsign-$version+$commit'"
if command -v xcaddy >/dev/null 2>&1; then
	xcaddy=xcaddy
else
	xcaddy="go run github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5"
fi
$xcaddy build v2.11.9 --with "github.com/qfsign/qfsign@v0.0.0=$PWD" --output "$out"

fail() { echo "xcaddy build: $*" >&2; exit 1; }
mods=$("$out" list-modules)
for m in qfpay http.handlers.qfpay_sign http.handlers.qfpay_notify http.handlers.qfpay_health http.reverse_proxy.transport.qfpay; do
	printf '%s\n' "$mods" | grep -qx "$m" || fail "module $m missing"
done
QFPAY_ENV=embedded "$out" validate --config Caddyfile.example --adapter caddyfile >/dev/null 2>&1 ||
	fail "Caddyfile.example does not validate"
for c in sign verify-notify sandbox doctor; do
	"$out" help "$c" >/dev/null 2>&1 || fail "the $c command is missing"
done
"$out" version | grep -q "^qfsign-$version+$commit " || fail "version is not qfsign's: $("$out" version)"
# A file capability would make exec fail under capabilities: drop [ALL].
command -v getcap >/dev/null 2>&1 || fail "getcap is required (Debian libcap2-bin, Alpine libcap)"
caps=$(getcap "$out")
[ -z "$caps" ] || fail "the binary carries a file capability: $caps"
# The time zone database is linked in (merchant timezones in a minimal image).
grep -q 'Pacific/Chatham' "$out" || fail "no embedded time zone database (time/tzdata)"
echo "xcaddy build ok: $out ($(du -h "$out" | cut -f1)), $("$out" version | cut -d' ' -f1), qfsign modules and commands, no file capability, tzdata"
