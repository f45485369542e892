package tests

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// scrape reads Prometheus text into series -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// refusal names a payment refusal series; Prometheus sorts label names.
func refusal(field, rule string) string {
	return fmt.Sprintf(`qfsign_sign_refusals_total{endpoint="/trade/v1/payment",field=%q,merchant="shop",rule=%q}`, field, rule)
}

// Traffic of every kind, then each family is on /metrics (admin API and
// Caddy's metrics directive) with the deltas the traffic implies.
func TestMetricsAfterTraffic(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "resolve_pending 5s 50ms", "")
	adminURL := fmt.Sprintf("http://localhost:%d/metrics", adminPort)
	before := scrape(t, adminURL)
	otn := s.otn("m")
	s.pay(t, payForm(otn, 1500))
	s.pay(t, payForm(otn, 1500))                                                  // replayed
	s.pay(t, payForm(otn, 1700))                                                  // reused
	s.pay(t, payForm(s.otn("bad"), 0))                                            // txamt positive
	s.pay(t, "txamt=1&sign=x&out_trade_no=z")                                     // forbidden credential name
	s.pay(t, "txamt=1&"+strings.Repeat("z", 9)+"=1&"+strings.Repeat("z", 9)+"=2") // caller-chosen repeated name
	pending := s.otn("p")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: pending, Respcd: "1143", FinalRespcd: "0000"})
	s.pay(t, payForm(pending, 1500))
	after := scrape(t, adminURL)
	const pay = `endpoint="/trade/v1/payment",merchant="shop"`
	for _, tt := range []struct {
		series string
		min    float64
	}{
		{`qfsign_requests_total{` + pay + `,outcome="success"}`, 2},
		{`qfsign_requests_total{` + pay + `,outcome="refused"}`, 4},
		{refusal("txamt", "positive"), 1},
		{refusal("sign", "forbidden"), 1},
		{refusal("other", "repeated"), 1},
		{refusal("out_trade_no", "reused"), 1},
		{`qfsign_orders_total{merchant="shop",outcome="new"}`, 2},
		{`qfsign_orders_total{merchant="shop",outcome="replayed"}`, 1},
		{`qfsign_orders_total{merchant="shop",outcome="reused"}`, 1},
		{`qfsign_pending_resolutions_total{merchant="shop",result="final"}`, 1},
		{`qfsign_upstream_duration_seconds_count{` + pay + `}`, 2},
		{`qfsign_sign_duration_seconds_count{merchant="shop"}`, 3},
	} {
		if d := after[tt.series] - before[tt.series]; d < tt.min || (tt.min > 0 && after[tt.series] == 0) {
			t.Errorf("%s: delta %v, want >= %v", tt.series, d, tt.min)
		}
	}
	for series := range after {
		if strings.Contains(series, "zzzzzzzzz") {
			t.Errorf("a caller-chosen name became a label: %s", series)
		}
	}
	if after[`qfsign_requests_total{`+pay+`,outcome="pending"}`] != before[`qfsign_requests_total{`+pay+`,outcome="pending"}`] {
		t.Error("a resolved pending payment is counted by its final class, not as pending")
	}
}

// Vault-backed keys: fetch counters and the key's timestamp.
func TestKeyMetrics(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "", "")
	s.waitReady(t, true, 5*time.Second)
	m := scrape(t, fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if m[`qfsign_key_fetches_total{merchant="default",result="ok"}`] < 1 {
		t.Errorf("key fetches not counted")
	}
	ts := m[`qfsign_key_last_success_timestamp_seconds{merchant="default"}`]
	if age := float64(time.Now().UnixNano())/1e9 - ts; age < 0 || age > 60 {
		t.Errorf("key age %vs from timestamp %v", age, ts)
	}
}

// Probes flip with the keys: startup once loaded, ready while usable,
// live unless the refresher is stuck; none depends on QFPay.
func TestProbesFollowKeys(t *testing.T) {
	s := newVaultSetup(t)
	s.e.SetDown(true)
	s.start(t, "refresh 50ms\nmax_stale 500ms\nretry 20ms 50ms", "")
	probe := func(kind string) int {
		resp, err := http.Get(s.gw.base + "/healthz/" + kind)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	check := func(step string, startup, ready, live int) {
		t.Helper()
		if got := [3]int{probe("startup"), probe("ready"), probe("live")}; got != [3]int{startup, ready, live} {
			t.Fatalf("%s: startup/ready/live = %v, want %v", step, got, [3]int{startup, ready, live})
		}
	}
	check("Vault down at start", 503, 503, 200)
	s.e.SetDown(false)
	s.waitReady(t, true, 5*time.Second)
	check("keys loaded", 200, 200, 200)
	s.up.Close() // QFPay unreachable changes nothing
	check("QFPay down", 200, 200, 200)
	s.e.SetDown(true)
	s.waitReady(t, false, 5*time.Second)
	check("Vault down past max_stale", 200, 503, 200)
}

// Shutdown: during shutdown_delay the listener still answers, and
// readiness is 503 so the pod leaves the Service before connections close.
func TestShutdownMakesUnready(t *testing.T) {
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	shutdown_delay 2s
	qfpay {
		environment embedded
		merchant default {
			app_code {env.QFPAY_APP_CODE}
			client_key {env.QFPAY_CLIENT_KEY}
		}
	}
}
http://%s {
	bind 127.0.0.1
	route /healthz/ready {
		qfpay_health ready
	}
	route /healthz/live {
		qfpay_health live
	}
}
`, freePort(t), listen)
	cmd := startBinaryConfig(t, cfg, listen)
	get := func(path string) int {
		resp, err := http.Get("http://" + listen + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if r := get("/healthz/ready"); r != 200 {
		t.Fatalf("ready before shutdown = %d", r)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for get("/healthz/ready") != http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("ready never turned 503 during shutdown_delay")
		}
		time.Sleep(20 * time.Millisecond) // a probe is a poll
	}
	if l := get("/healthz/live"); l != 200 {
		t.Fatalf("live during shutdown = %d, want 200 (no restart while draining)", l)
	}
}

// Even at DEBUG, the signature and QFPay's headers never reach the log:
// the gateway sends with its own client, and no proxy module logs the
// request it sends.
func TestDebugLogCarriesNoSignature(t *testing.T) {
	path := filepath.Join(t.TempDir(), "Caddyfile")
	config := `{
	admin off
	log {
		level DEBUG
	}
	qfpay {
		environment embedded
		merchant default
	}
}
http://:{$QFSIGN_PORT} {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway default
	}
}
`
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	listen, logs := startConfig(t, path)
	resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded",
		strings.NewReader("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=LOG-1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("payment: %s", body)
	}
	out := waitLog(t, logs, `"msg":"transaction"`)
	for _, leak := range []string{"X-Qf-Sign", "X-Qf-Appcode", qfpaytest.DemoClientKey} {
		if strings.Contains(out, leak) {
			t.Errorf("%q in the debug log", leak)
		}
	}
}

// The families are served by Caddy's own metrics directive too.
func TestMetricsDirective(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}
	route /metrics {
		metrics
	}`)
	gw.post(t, "/trade/v1/payment", payForm("MD-"+strconv.FormatInt(time.Now().UnixNano(), 36), 1500))
	m := scrape(t, gw.base+"/metrics")
	if m[`qfsign_requests_total{endpoint="/trade/v1/payment",merchant="shop",outcome="success"}`] < 1 {
		t.Fatal("qfsign_requests_total not served by the metrics directive")
	}
}
