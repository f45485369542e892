package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestFormSizeBoundsWhatIsSigned: the probe's 9,405 invented fields in a
// POST's query string, and smaller variants, through Caddyfile.example
// and the built binary: max_body and max_fields bound the merged form
// (issue 22.4), and nothing is forwarded.
func TestFormSizeBoundsWhatIsSigned(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	listen, logs := startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey)
	fields := func(prefix string, n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "&%s%04d=v", prefix, i)
		}
		return b.String()
	}
	const base = "txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=FS-"
	// Caddy reads at most ~20 KiB of headers (16 KiB max_header_size):
	// a longer query string gets Go's plain-text 431 before any handler.
	tests := []struct {
		name, query, body string
		status            int
		field, rule       string
	}{
		{"probe: 9,405 fields, 73 KB, query and body", fields("q", 1800)[1:], base + "1" + fields("f", 7605), 413, "f0064", "form_size"},
		{"65 fields in the body", "", base + "2" + fields("f", 61), 413, "txcurrcd", "form_size"},
		{"query and body each under max_body, together over", "q=" + strings.Repeat("x", 15000), base + "3&goods=" + strings.Repeat("y", 52000), 413, "", "form_size"},
		{"64 fields", "", base + "4" + fields("f", 60), 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.exchanges())
			resp, err := http.Post("http://"+listen+"/trade/v1/payment?"+tt.query, "application/x-www-form-urlencoded", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct{ Field, Rule string }
			_ = json.Unmarshal(b, &got)
			if resp.StatusCode != tt.status || got.Field != tt.field || got.Rule != tt.rule {
				t.Fatalf("%d %.300s, want %d field %q rule %q\n%s", resp.StatusCode, b, tt.status, tt.field, tt.rule, tail(logs.String(), 2000))
			}
			forwarded := 0
			if tt.status == 200 {
				forwarded = 1
				if !strings.Contains(string(b), `"respcd":"0000"`) { // the double answers a bad signature 200 with 1108
					t.Fatalf("answer %.300s, want QFPay's 0000", b)
				}
			}
			if n := len(up.exchanges()) - before; n != forwarded {
				t.Fatalf("%d requests reached QFPay, want %d", n, forwarded)
			}
		})
	}
}
