#!/usr/bin/env bash
# Four servers in front of the same fixed-answer upstream, under the same
# load, interleaved over ROUNDS rounds, each server fresh per measurement:
#   caddy   plain Caddy reverse_proxy (the same qfsign binary, no qfsign module)
#   nginx   nginx proxy_pass with an upstream keep-alive pool (Debian package)
#   memory  Caddyfile.example with QFSIGN_STORE=memory
#   qfsign  Caddyfile.example unchanged: qfpay_gateway with validation,
#           signing, the out_trade_no guard on the default store (a file:
#           the claim fsynced before the request leaves) and one log line
#           per transaction (STORE=redis://host:port to swap its store)
# Every request carries a new out_trade_no. Per server it measures closed
# loops (each of CONCS connections, DUR) and an open loop (RATE req/s,
# DUR), and prints medians and the ratios to plain Caddy (throughput, CPU
# per request: the server's own user+system time, children included; p99;
# peak RSS), the file store's ratios to the memory store, and its added
# latency at one connection in units of this disk's synchronous write,
# measured in the same run (dd oflag=dsync, 512 bytes, in the data dir).
# The memory store holds at most 100,000 live orders: at ~10,000
# payments/s keep DUR at 10s or less, or its row fails (503 store).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} DUR=${DUR:-6s} CONCS=${CONCS:-1 16 64} RATE=${RATE:-1000} WARM=${WARM:-1s} STORE=${STORE:-}
command -v nginx >/dev/null || { echo "nginx is required: apt-get install nginx (or nginx-light)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

echo "building (go build, default flags)..."
go build -o "$work/qfsign" ./cmd/qfsign
go build -o "$work/upstream" ./bench/upstream
go build -o "$work/load" ./bench/load

"$work/upstream" -listen 127.0.0.1:18090 & pids+=($!)

cat > "$work/caddy.Caddyfile" <<'CFG'
{
	admin off
}
http://127.0.0.1:18080 {
	bind 127.0.0.1
	reverse_proxy 127.0.0.1:18090
}
CFG
mkdir -p "$work/nginx"
cat > "$work/nginx.conf" <<CFG
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $work/nginx/body;
	proxy_temp_path $work/nginx/proxy;
	upstream qfpay { server 127.0.0.1:18090; keepalive 64; }
	server {
		listen 127.0.0.1:18080;
		location / {
			proxy_pass http://qfpay;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CFG

gateway() { # $1 = QFSIGN_STORE, $2 = log name: Caddyfile.example as shipped
	XDG_DATA_HOME="$work/data" QFSIGN_STORE="$1" QFSIGN_PORT=18080 QFPAY_ENV=http://127.0.0.1:18090 QFPAY_APP_CODE=BENCHAPPCODE \
		QFPAY_CLIENT_KEY=bench-key-not-secret "$work/qfsign" run --config Caddyfile.example >>"$work/$2.log" 2>&1 &
}
start() { # $1 = server; prints the pid
	case $1 in
	caddy) "$work/qfsign" run --config "$work/caddy.Caddyfile" --adapter caddyfile >>"$work/caddy.log" 2>&1 & ;;
	nginx) nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" >>"$work/nginx.log" 2>&1 & ;;
	memory) gateway memory memory ;;
	qfsign) gateway "$STORE" qfsign ;;
	esac
	echo $!
}
wait_up() { for _ in $(seq 200); do curl -s -o /dev/null "http://127.0.0.1:18080/" && return 0; sleep 0.05; done; echo "server did not start" >&2; return 1; }
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p"; }
# procfiles: /proc/<pid>/<file> of a process and its children (nginx's workers).
procfiles() {
	local p
	for p in $1 $(cat "/proc/$1/task/"*/children 2>/dev/null); do echo "/proc/$p/$2"; done
}
cpu_ticks() { awk '{t += $14 + $15} END {print t}' $(procfiles "$1" stat); }
rss_kib() { awk '/VmHWM/ {t += $2} END {print t}' $(procfiles "$1" status); }
# stop: the servers are started in a command substitution, so they are
# not this shell's children to wait for: poll until the port is free.
stop() {
	kill "$1"
	for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
	echo "server $1 did not stop" >&2; return 1
}

# measure: one fresh server, warmed, then one load; prints the load's
# numbers with the server's CPU per request and peak RSS.
measure() { # $1 = server, $2 = round, $3 = closed:<connections> | open
	local pid out c0 c1 rss
	pid=$(start "$1"); pids+=("$pid")
	wait_up
	"$work/load" -c 16 -d "$WARM" -prefix "w$1$2$3" >/dev/null
	c0=$(cpu_ticks "$pid")
	case $3 in
	closed:*) out=$("$work/load" -c "${3#closed:}" -d "$DUR" -prefix "c$1$2${3#closed:}") ;;
	open) out=$("$work/load" -rate "$RATE" -d "$DUR" -prefix "o$1$2") ;;
	esac
	c1=$(cpu_ticks "$pid")
	rss=$(rss_kib "$pid")
	stop "$pid"
	echo "$out cpu_us=$(awk -v c=$((c1 - c0)) -v n="$(echo "$out" | field requests)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", c * 1e6 / hz / n}') rss_kib=$rss"
}

# The disk's synchronous write, where the store's file lives.
mkdir -p "$work/data"
dsync_ms=$(dd if=/dev/zero of="$work/data/dsync" bs=512 count=2000 oflag=dsync 2>&1 | awk '/copied/ {print $(NF-3) * 1000 / 2000}')
rm -f "$work/data/dsync"

servers=(caddy nginx memory qfsign)
for r in $(seq "$ROUNDS"); do
	for s in "${servers[@]}"; do
		line="$s $r"
		for c in $CONCS; do
			out=$(measure "$s" "$r" "closed:$c")
			line+=" errors_c$c=$(echo "$out" | field errors) rps_c$c=$(echo "$out" | field rps) cpu_c$c=$(echo "$out" | field cpu_us) p50_c$c=$(echo "$out" | field p50_ms) p99_c$c=$(echo "$out" | field p99_ms) rss_c$c=$(echo "$out" | field rss_kib)"
		done
		out=$(measure "$s" "$r" open)
		line+=" errors_open=$(echo "$out" | field errors) rate_p99=$(echo "$out" | field p99_ms)"
		echo "$line" | tee -a "$work/results"
	done
done

if grep -E -q "errors_[a-z0-9]+=[1-9]" "$work/results"; then
	echo "some requests failed (see errors_*= above): the numbers are not comparable" >&2
	exit 1
fi
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
med() { grep "^$1 " "$work/results" | field "$2" | median; }
echo
echo "medians over $ROUNDS rounds (closed loops at $CONCS connections, $DUR each; open loop: $RATE req/s, $DUR; cpu = server CPU per request):"
for c in $CONCS; do
	echo "-c$c"
	printf "  %-7s %9s %9s %8s %8s %8s   %s\n" "" "req/s" "cpu us" "p50 ms" "p99 ms" "RSS MiB" "vs caddy: req/s cpu/req p99 RSS | vs memory: req/s cpu/req"
	for s in "${servers[@]}"; do
		awk -v s="$s" -v rps="$(med "$s" "rps_c$c")" -v cpu="$(med "$s" "cpu_c$c")" -v p50="$(med "$s" "p50_c$c")" -v p99="$(med "$s" "p99_c$c")" -v rss="$(med "$s" "rss_c$c")" \
			-v crps="$(med caddy "rps_c$c")" -v ccpu="$(med caddy "cpu_c$c")" -v cp99="$(med caddy "p99_c$c")" -v crss="$(med caddy "rss_c$c")" \
			-v mrps="$(med memory "rps_c$c")" -v mcpu="$(med memory "cpu_c$c")" 'BEGIN {
			printf "  %-7s %9.0f %9.1f %8.3f %8.3f %8.1f   %.2fx %.2fx %.2fx %.2fx | %.2fx %.2fx\n", s, rps, cpu, p50, p99, rss/1024, rps/crps, cpu/ccpu, p99/cp99, rss/crss, rps/mrps, cpu/mcpu }'
	done
done
awk -v a="$(med caddy rate_p99)" -v m="$(med memory rate_p99)" -v b="$(med qfsign rate_p99)" 'BEGIN {
	printf "p99 at '"$RATE"' req/s: qfsign %.3f ms, memory %.3f ms, caddy %.3f ms; the file store adds %.3f ms over memory\n", b, m, a, b-m }'
first=${CONCS%% *}
awk -v f="$(med qfsign "p50_c$first")" -v m="$(med memory "p50_c$first")" -v d="$dsync_ms" 'BEGIN {
	printf "a lone payment (-c'"$first"' p50): file store %.3f ms, memory %.3f ms: +%.3f ms = %.2f synchronous writes of this disk (%.3f ms each)\n", f, m, f-m, (f-m)/d, d }'
