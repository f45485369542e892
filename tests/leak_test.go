package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestNoKeyInLogsConfigOrErrors runs accepted, refused and failed
// transactions with Caddy logging at DEBUG, then scans every log line, the
// admin API's /config/ and every response for the key and the signatures.
func TestNoKeyInLogsConfigOrErrors(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	var bodies [][]byte
	for i, form := range []string{
		"txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=LEAK-1",
		"txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=LEAK-1", // duplicate: QFPay 1102
		"txamt=bad&txcurrcd=HKD&pay_type=801101&out_trade_no=LEAK-2",
		"sign=" + testKey + "&txamt=1&txcurrcd=HKD&pay_type=801101&out_trade_no=LEAK-3",
		"txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=LEAK-4&goods_name=" + testKey[:10],
	} {
		_, b := gw.post(t, "/trade/v1/payment", form, "X-QF-SIGN", fmt.Sprint("client-", i))
		bodies = append(bodies, b)
	}
	gw.waitLogLines(t, `"out_trade_no":"LEAK-4"`)

	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/config/", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(cfg, []byte(`{env.QFSIGN_TEST_KEY}`)) {
		t.Fatalf("admin config does not show the placeholder: %s", cfg)
	}

	haystacks := map[string][]byte{"logs": gw.logs(t), "admin config": cfg, "responses": bytes.Join(bodies, nil)}
	needles := []string{testKey}
	for _, ex := range up.exchanges() {
		if sig := ex.req.Header.Get("X-Qf-Sign"); sig != "" {
			needles = append(needles, sig, strings.ToLower(sig))
		}
	}
	if len(needles) < 3 {
		t.Fatalf("no signature reached the upstream; the scan would prove nothing")
	}
	debugLines := 0
	for name, h := range haystacks {
		for _, n := range needles {
			if bytes.Contains(h, []byte(n)) {
				t.Errorf("%s contain %q", name, n[:6]+"...")
			}
		}
		if name == "logs" {
			debugLines = bytes.Count(h, []byte(`"level":"debug"`))
		}
	}
	if debugLines == 0 {
		t.Error("no debug lines captured: the scan did not cover Caddy's debug log")
	}
}
