package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestEmbeddedSurvivesKill is `make run` killed with SIGKILL and started
// again on the same data directory: the embedded double listens where it
// did, so the old pay_url opens and pays; the query finds the order; the
// replay answers the recorded payment; a new order gets a new syssn.
func TestEmbeddedSurvivesKill(t *testing.T) {
	data := t.TempDir()
	listen, logs, proc := startConfigProcess(t, "Caddyfile.example", "XDG_DATA_HOME="+data)
	first := embeddedPay(t, listen, "KILL-1", "801101")
	payURL, _ := first["pay_url"].(string)
	if first["respcd"] != "0000" || !strings.HasPrefix(payURL, "http://127.0.0.1:") {
		t.Fatalf("payment: %v\n%s", first, logs.String())
	}
	// The next claim commits KILL-1's deferred record (store/ group commit).
	second := embeddedPay(t, listen, "KILL-2", "800101")
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, proc)

	listen, logs, _ = startConfigProcess(t, "Caddyfile.example", "XDG_DATA_HOME="+data)
	page, err := http.Get(payURL)
	if err != nil {
		t.Fatalf("the old pay_url after a restart: %v\n%s", err, logs.String())
	}
	page.Body.Close()
	paid, err := http.PostForm(payURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	paid.Body.Close()
	if page.StatusCode != 200 || paid.StatusCode >= 400 {
		t.Fatalf("old pay_url: GET %d, Pay %d", page.StatusCode, paid.StatusCode)
	}
	rows := gatewayCall(t, listen, "/trade/v1/query", url.Values{"out_trade_no": {"KILL-1"}}, nil)["data"].([]any)
	if len(rows) != 1 || rows[0].(map[string]any)["respcd"] != "0000" {
		t.Fatalf("query after restart: %v", rows)
	}
	hdr := http.Header{}
	replay := gatewayCall(t, listen, "/trade/v1/payment", embeddedPayForm("KILL-1", "801101"), hdr)
	if hdr.Get("X-Qfsign-Replayed") != "true" || replay["pay_url"] != payURL || replay["syssn"] != first["syssn"] {
		t.Fatalf("replay after restart: %v %v", hdr, replay)
	}
	third := embeddedPay(t, listen, "KILL-3", "800101")
	if s := third["syssn"].(string); s <= second["syssn"].(string) {
		t.Fatalf("new syssn %s does not follow %s", s, second["syssn"])
	}
}

func embeddedPayForm(outTradeNo, payType string) url.Values {
	return url.Values{"txamt": {"1500"}, "txcurrcd": {"HKD"}, "pay_type": {payType}, "out_trade_no": {outTradeNo}}
}

func embeddedPay(t *testing.T, listen, outTradeNo, payType string) map[string]any {
	t.Helper()
	return gatewayCall(t, listen, "/trade/v1/payment", embeddedPayForm(outTradeNo, payType), nil)
}

// gatewayCall posts form to the gateway and decodes the answer; hdr, when not
// nil, receives the answer's headers.
func gatewayCall(t *testing.T, listen, path string, form url.Values, hdr http.Header) map[string]any {
	t.Helper()
	resp, err := http.PostForm("http://"+listen+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var v map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(body, &v) != nil {
		t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
	}
	for k, vs := range resp.Header {
		if hdr != nil {
			hdr[k] = vs
		}
	}
	return v
}

// waitGone waits until the killed process is reaped (its sockets closed).
func waitGone(t *testing.T, p *os.Process) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for p.Signal(syscall.Signal(0)) == nil {
		if time.Now().After(deadline) {
			t.Fatal("the killed process is still there after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
