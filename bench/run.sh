#!/usr/bin/env bash
# Three servers in front of the same fixed-answer upstream, under the same
# load, interleaved over ROUNDS rounds, each server fresh per measurement:
#   caddy   plain Caddy reverse_proxy (the same qfsign binary, no qfsign module)
#   nginx   nginx proxy_pass with an upstream keep-alive pool (Debian package)
#   qfsign  Caddyfile.example unchanged: qfpay_gateway with validation,
#           signing, the out_trade_no guard on the default store (a file,
#           fsync per commit; STORE=memory or STORE=redis://host:port to
#           compare) and one log line per transaction
# Every request carries a new out_trade_no. Per server it measures a
# closed loop (CONC connections, DUR) and an open loop (RATE req/s, DUR),
# and prints medians and the ratios to plain Caddy: throughput, CPU per
# request (the server's own user+system time, children included), p99,
# and peak RSS. Everything it starts is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} DUR=${DUR:-6s} CONC=${CONC:-16} RATE=${RATE:-1000} WARM=${WARM:-1s} STORE=${STORE:-}
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

start() { # $1 = server; prints the pid
	case $1 in
	caddy) "$work/qfsign" run --config "$work/caddy.Caddyfile" --adapter caddyfile >>"$work/caddy.log" 2>&1 & ;;
	nginx) nginx -c "$work/nginx.conf" -e "$work/nginx/error.log" >>"$work/nginx.log" 2>&1 & ;;
	qfsign) XDG_DATA_HOME="$work/data" QFSIGN_STORE="$STORE" QFSIGN_PORT=18080 QFPAY_ENV=http://127.0.0.1:18090 QFPAY_APP_CODE=BENCHAPPCODE \
		QFPAY_CLIENT_KEY=bench-key-not-secret "$work/qfsign" run --config Caddyfile.example >>"$work/qfsign.log" 2>&1 & ;;
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

measure() { # $1 = server, $2 = round, $3 = closed|open
	local pid out c0 c1 rss
	pid=$(start "$1"); pids+=("$pid")
	wait_up
	"$work/load" -c "$CONC" -d "$WARM" -prefix "w$1$2$3" >/dev/null
	c0=$(cpu_ticks "$pid")
	if [ "$3" = closed ]; then
		out=$("$work/load" -c "$CONC" -d "$DUR" -prefix "c$1$2")
	else
		out=$("$work/load" -rate "$RATE" -d "$DUR" -prefix "o$1$2")
	fi
	c1=$(cpu_ticks "$pid")
	rss=$(rss_kib "$pid")
	stop "$pid"
	echo "$out cpu_us=$(awk -v c=$((c1 - c0)) -v n="$(echo "$out" | field requests)" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f", c * 1e6 / hz / n}') rss_kib=$rss"
}

servers=(caddy nginx qfsign)
for r in $(seq "$ROUNDS"); do
	for s in "${servers[@]}"; do
		closed=$(measure "$s" "$r" closed)
		open=$(measure "$s" "$r" open)
		errors=$(( $(echo "$closed" | field errors) + $(echo "$open" | field errors) ))
		echo "$s $r errors=$errors rps=$(echo "$closed" | field rps) cpu_us=$(echo "$closed" | field cpu_us) p50=$(echo "$closed" | field p50_ms) p99=$(echo "$closed" | field p99_ms) rate_p99=$(echo "$open" | field p99_ms) rss_kib=$(echo "$closed" | field rss_kib)" | tee -a "$work/results"
	done
done

if grep -qv " errors=0 " "$work/results"; then
	echo "some requests failed (see errors= above): the numbers are not comparable" >&2
	exit 1
fi
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
med() { grep "^$1 " "$work/results" | field "$2" | median; }
echo
echo "medians over $ROUNDS rounds (closed loop: $CONC connections, $DUR; open loop: $RATE req/s, $DUR; cpu = server CPU per request in the closed loop):"
printf "%-7s %9s %9s %8s %8s %12s %8s   %s\n" "" "req/s" "cpu us" "p50 ms" "p99 ms" "p99@rate ms" "RSS MiB" "ratios to caddy: throughput cpu/req p99 RSS"
for s in "${servers[@]}"; do
	awk -v s="$s" -v rps="$(med "$s" rps)" -v cpu="$(med "$s" cpu_us)" -v p50="$(med "$s" p50)" -v p99="$(med "$s" p99)" \
		-v rp99="$(med "$s" rate_p99)" -v rss="$(med "$s" rss_kib)" \
		-v crps="$(med caddy rps)" -v ccpu="$(med caddy cpu_us)" -v cp99="$(med caddy p99)" -v crss="$(med caddy rss_kib)" 'BEGIN {
		printf "%-7s %9.0f %9.1f %8.3f %8.3f %12.3f %8.1f   %.2fx %.2fx %.2fx %.2fx\n", s, rps, cpu, p50, p99, rp99, rss/1024, rps/crps, cpu/ccpu, p99/cp99, rss/crss }'
done
awk -v a="$(med caddy rate_p99)" -v b="$(med qfsign rate_p99)" 'BEGIN { printf "qfsign added p99 at '"$RATE"' req/s: %.3f ms\n", b-a }'
