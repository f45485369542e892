package tests

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestIntegrationShapesThroughBinary: the shipped Caddyfile.example in
// the built binary, in front of its embedded double, with QFPAY_MCHID
// set and unset: the legacy request shapes carry the merchant's mchid
// as the seed's Java and Node samples do.
func TestIntegrationShapesThroughBinary(t *testing.T) {
	const mchid = "MCH-EXAMPLE-1"
	withMchID, logs := startExample(t, "QFPAY_MCHID="+mchid)
	withoutMchID, logs2 := startExample(t)
	base := func(listen string) string { return "http://" + listen }
	tests := []struct {
		name, listen string
		req          func(t *testing.T, base string) *http.Request
		status       int
		want         string // in the answer
	}{
		// QFPAY_Global's Python sample: requests.post(url, params=...) with mchid.
		{"Python params with QFPAY_MCHID", withMchID, func(t *testing.T, b string) *http.Request {
			q := pythonURLEncode([]kv{{"pay_type", "801101"}, {"out_trade_no", "BIN-PY-1"}, {"txamt", "10"}, {"txcurrcd", "HKD"}, {"mchid", mchid}})
			return newRequest(t, http.MethodPost, b+"/trade/v1/payment?"+q, "", "")
		}, 200, `"respcd":"0000"`},
		// The seed's Java sample: a concatenated body with a literal '%'.
		{"Java raw body with a literal percent", withMchID, func(t *testing.T, b string) *http.Request {
			body := phpConcat([]kv{{"mchid", mchid}, {"out_trade_no", "BIN-JAVA-1"}, {"pay_type", "801101"}, {"txamt", "10"},
				{"txcurrcd", "HKD"}, {"goods_name", "50% off"}})
			return newRequest(t, http.MethodPost, b+"/trade/v1/payment", "application/x-www-form-urlencoded", body)
		}, 200, `"respcd":"0000"`},
		// Another merchant's mchid is refused, nothing forwarded.
		{"another mchid", withMchID, func(t *testing.T, b string) *http.Request {
			return newRequest(t, http.MethodPost, b+"/trade/v1/payment", "application/x-www-form-urlencoded",
				"mchid=OTHER&out_trade_no=BIN-X-1&pay_type=801101&txamt=10&txcurrcd=HKD")
		}, 400, `"rule":"mismatch"`},
		// QFPAY_MCHID unset: the default merchant has no mchid.
		{"mchid sent, QFPAY_MCHID unset", withoutMchID, func(t *testing.T, b string) *http.Request {
			q := pythonURLEncode([]kv{{"pay_type", "801101"}, {"out_trade_no", "BIN-PY-2"}, {"txamt", "10"}, {"txcurrcd", "HKD"}, {"mchid", mchid}})
			return newRequest(t, http.MethodPost, b+"/trade/v1/payment?"+q, "", "")
		}, 400, `"rule":"forbidden"`},
		{"no mchid, QFPAY_MCHID unset", withoutMchID, func(t *testing.T, b string) *http.Request {
			q := pythonURLEncode([]kv{{"pay_type", "801101"}, {"out_trade_no", "BIN-PY-3"}, {"txamt", "10"}, {"txcurrcd", "HKD"}})
			return newRequest(t, http.MethodPost, b+"/trade/v1/payment?"+q, "", "")
		}, 200, `"respcd":"0000"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req(t, base(tt.listen)))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var sb strings.Builder
			_, _ = io.Copy(&sb, resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(sb.String(), tt.want) {
				t.Fatalf("got %d %s, want %d with %s\nlogs:\n%s\n%s", resp.StatusCode, sb.String(), tt.status, tt.want, logs.String(), logs2.String())
			}
		})
	}
}
