#!/usr/bin/env bash
# Posts an UNSIGNED QFPay payment to the qfsign sidecar and prints pay_url.
# No key, no signature here: the sidecar signs. Needs only bash and curl.
set -euo pipefail

base="${QFSIGN_URL:-http://127.0.0.1:8080}"
# In an application out_trade_no is the order's own id, stored before the
# call and reused on retry; a fresh one here makes every run a new order.
order="${QFSIGN_OUT_TRADE_NO:-ORDER-$(date +%s)-$(printf '%04x%04x' $RANDOM $RANDOM)}"

headers=$(mktemp)
trap 'rm -f "$headers"' EXIT
# --data-urlencode percent-encodes each value (UTF-8 goods_name included)
# and sets Content-Type: application/x-www-form-urlencoded.
response=$(curl -sS --max-time 30 -D "$headers" -w '\n%{http_code}' "$base/trade/v1/payment" \
	--data-urlencode "txamt=${QFSIGN_TXAMT:-1500}" \
	--data-urlencode "txcurrcd=HKD" \
	--data-urlencode "pay_type=801101" \
	--data-urlencode "out_trade_no=$order" \
	--data-urlencode "goods_name=測試 test" \
	--data-urlencode "return_url=https://shop.example/done")
status=${response##*$'\n'}
body=${response%$'\n'*}

# A refusal ({"error","field","rule"}) or a QFPay business error.
if [[ $status != 200 ]] || ! grep -Eq '"respcd" *: *"0000"' <<<"$body"; then
	echo "payment $order failed (HTTP $status): $body" >&2
	exit 1
fi
if grep -qi '^x-qfsign-replayed: *true' "$headers"; then
	echo "order $order was already submitted: this is the gateway's recorded answer (X-Qfsign-Replayed)" >&2
fi
# bash has no JSON parser: take the string, undo the escapes a JSON
# encoder may use in a URL (\/ and \u0026). Use jq or a real language
# where you can.
sed -n 's/.*"pay_url" *: *"\([^"]*\)".*/\1/p' <<<"$body" | sed 's#\\/#/#g; s/\\u0026/\&/g'
