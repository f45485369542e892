package tests

import (
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestJSONConfig: the gateway configured in JSON, its options included.
func TestJSONConfig(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	port := freePort(t)
	cfg := fmt.Sprintf(`{
	"admin": {"listen": "localhost:%d"},
	"apps": {
		"qfpay": {
			"environment": %q,
			"merchants": {"shop": {"app_code": "{env.QFSIGN_TEST_APPCODE}", "client_key": "{env.QFSIGN_TEST_KEY}"}}
		},
		"http": {"servers": {"s": {
			"listen": ["127.0.0.1:%d"],
			"routes": [{
				"match": [{"path": ["/trade/v1/*"]}],
				"handle": [
					{"handler": "qfpay_gateway", "merchant": "shop", "max_body": 2048, "dial_timeout": "2s", "response_header_timeout": "10s"}
				]
			}]
		}}}
	}
}`, adminPort, up.URL, port)
	tc := caddytest.NewTester(t)
	tc.InitServer(cfg, "json")
	gw := &gateway{Tester: tc, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	_, body := gw.post(t, "/trade/v1/payment", okForm)
	if !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("got %s", body)
	}
	resp, _ := gw.post(t, "/trade/v1/payment", okForm+"&goods_name="+strings.Repeat("x", 3000))
	if resp.StatusCode != 413 || len(up.exchanges()) != 1 {
		t.Fatalf("max_body from JSON not applied: %d, upstream saw %d", resp.StatusCode, len(up.exchanges()))
	}
}
