#!/usr/bin/env bash
# A/B benchmark: A = plain Caddy reverse_proxy, B = qfsign (qfpay_gateway
# with validation, signing, the out_trade_no guard on STORE, and one log
# line per transaction), same binary, same upstream, same load,
# interleaved over ROUNDS rounds; prints medians and the ratios B/A.
# STORE: file (the default store, sync on), memory, or redis://host:port.
# Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} DUR=${DUR:-10s} CONC=${CONC:-16} RATE=${RATE:-1000} WARM=${WARM:-2s} STORE=${STORE:-file}
work=$(mktemp -d)
case "$STORE" in
file) store="store file $work/store.db" ;;
memory) store="store memory" ;;
redis://*) store="store $STORE" ;;
*) echo "STORE must be file, memory or redis://host:port" >&2; exit 1 ;;
esac
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building (go build, default flags)..."
go build -o "$work/qfsign" ./cmd/qfsign
go build -o "$work/upstream" ./bench/upstream
go build -o "$work/load" ./bench/load

"$work/upstream" -listen 127.0.0.1:18090 & pids+=($!)

cat > "$work/A.Caddyfile" <<'CFG'
{
	admin localhost:12019
}
http://127.0.0.1:18080 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:18090
}
CFG
cat > "$work/B.Caddyfile" <<CFG
{
	admin localhost:12019
	qfpay {
		environment http://127.0.0.1:18090
		$store
		merchant default {
			app_code BENCHAPPCODE
			client_key {env.QFPAY_CLIENT_KEY}
		}
	}
}
http://127.0.0.1:18080 {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway default {
			# At this benchmark's thousands of payments/s the default
			# 7-day order_ttl would fill the memory store (100,000 orders)
			# in seconds (QFPay's own limit is 400/min); 5s keeps the
			# guard's claim, record and lookup on every request.
			order_ttl 5s
		}
	}
}
CFG

wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:18080/" && return 0; sleep 0.05; done; echo "server did not start" >&2; return 1; }
field() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }

run_one() { # $1 = A|B, $2 = round
	QFPAY_CLIENT_KEY=bench-key-not-secret "$work/qfsign" run --config "$work/$1.Caddyfile" --adapter caddyfile >"$work/$1.$2.log" 2>&1 &
	local pid=$!
	pids+=($pid)
	wait_up
	"$work/load" -c "$CONC" -d "$WARM" -prefix "w$1$2" >/dev/null
	local closed open rss
	closed=$("$work/load" -c "$CONC" -d "$DUR" -prefix "c$1$2")
	open=$("$work/load" -rate "$RATE" -d "$DUR" -prefix "o$1$2")
	rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
	kill "$pid"; wait "$pid" 2>/dev/null || true
	echo "$1 $2 errors=$(( $(echo "$closed" | field errors) + $(echo "$open" | field errors) )) rps=$(echo "$closed" | field rps) p50=$(echo "$closed" | field p50_ms) p99=$(echo "$closed" | field p99_ms) rate_p50=$(echo "$open" | field p50_ms) rate_p99=$(echo "$open" | field p99_ms) rss_kib=$rss" | tee -a "$work/results"
}

for r in $(seq "$ROUNDS"); do
	run_one A "$r"
	run_one B "$r"
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
med() { grep "^$1 " "$work/results" | field "$2" | median; }
echo
echo "B's store: $STORE"
echo "medians over $ROUNDS rounds (closed loop: $CONC connections, $DUR; open loop: $RATE req/s, $DUR):"
printf "%-4s %10s %10s %10s %14s %14s %10s\n" "" "req/s" "p50 ms" "p99 ms" "p50@rate ms" "p99@rate ms" "RSS MiB"
for x in A B; do
	printf "%-4s %10s %10s %10s %14s %14s %10.1f\n" "$x" "$(med $x rps)" "$(med $x p50)" "$(med $x p99)" "$(med $x rate_p50)" "$(med $x rate_p99)" "$(awk -v k="$(med $x rss_kib)" 'BEGIN {print k/1024}')"
done
awk -v a="$(med A rps)" -v b="$(med B rps)" -v pa="$(med A rate_p99)" -v pb="$(med B rate_p99)" 'BEGIN {
	printf "B/A throughput: %.3f   added p99 at %s req/s: %.3f ms\n", b/a, "'"$RATE"'", pb-pa }'
