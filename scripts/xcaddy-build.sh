#!/usr/bin/env bash
# The image's build, without Docker: the same `xcaddy build` that
# xcaddy.Dockerfile runs, with the module proxy, then a check that the
# binary carries qfsign's modules and runs the shipped example config.
#   bash scripts/xcaddy-build.sh [output]    (default: a temporary file)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)/caddy}
export XCADDY_SKIP_CLEANUP=0
go run github.com/caddyserver/xcaddy/cmd/xcaddy@v0.4.5 build v2.11.9 \
	--with "github.com/qfsign/qfsign@v0.0.0=$PWD" \
	--output "$out"
mods=$("$out" list-modules)
for m in qfpay http.handlers.qfpay_sign http.handlers.qfpay_notify http.handlers.qfpay_health http.reverse_proxy.transport.qfpay; do
	grep -qx "$m" <<<"$mods" || { echo "xcaddy build: module $m missing" >&2; exit 1; }
done
"$out" validate --config Caddyfile.example --adapter caddyfile >/dev/null 2>&1 || {
	echo "xcaddy build: Caddyfile.example does not validate" >&2; exit 1; }
"$out" help sign >/dev/null 2>&1 || { echo "xcaddy build: the sign command is missing" >&2; exit 1; }
echo "xcaddy build ok: $out ($(du -h "$out" | cut -f1)), qfsign modules and commands present"
