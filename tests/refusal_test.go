package tests

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

const okForm = "txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=R-1"

// refusalCase is one request that must be refused: status, JSON field
// and rule, and nothing forwarded.
type refusalCase struct {
	name, method, path, ctype, body string
	status                          int
	field, rule                     string
}

// methodChunked is POST with a chunked body (no Content-Length).
const methodChunked = "POST-CHUNKED"

const formType = "application/x-www-form-urlencoded"

// TestRefusalsForwardNothing: every refusal is JSON naming field and
// rule, with the right status, and the upstream sees no request at all.
func TestRefusalsForwardNothing(t *testing.T) {
	form := formType
	runRefusals(t, []refusalCase{
		{"txamt letters", "", "", "", strings.Replace(okForm, "1500", "15a", 1), 400, "txamt", "digits"},
		{"txamt zero", "", "", "", strings.Replace(okForm, "1500", "0", 1), 400, "txamt", "positive"},
		{"txamt too long", "", "", "", strings.Replace(okForm, "1500", "123456789012", 1), 400, "txamt", "max_length"},
		{"txamt missing", "", "", "", "txcurrcd=HKD&pay_type=801101&out_trade_no=R-1", 400, "txamt", "required"},
		{"currency", "", "", "", strings.Replace(okForm, "HKD", "XXX", 1), 400, "txcurrcd", "one_of"},
		{"pay type not enabled", "", "", "", strings.Replace(okForm, "801101", "800201", 1), 400, "pay_type", "one_of"},
		{"out_trade_no space", "", "", "", strings.Replace(okForm, "R-1", "R+1", 1), 400, "out_trade_no", "printable"},
		{"txdtm invalid", "", "", "", okForm + "&txdtm=2025-13-01+00%3A00%3A00", 400, "txdtm", "datetime"},
		{"expired_time range", "", "", "", okForm + "&expired_time=500", 400, "expired_time", "range"},
		{"goods_name long", "", "", "", okForm + "&goods_name=" + strings.Repeat("x", 21), 400, "goods_name", "max_length"},
		{"udid long", "", "", "", okForm + "&udid=" + strings.Repeat("x", 41), 400, "udid", "max_length"},
		{"return_url relative", "", "", "", okForm + "&return_url=%2Fdone", 400, "return_url", "url"},
		{"notify_url scheme", "", "", "", okForm + "&notify_url=ftp%3A%2F%2Fx", 400, "notify_url", "url"},
		{"mchid without config", "", "", "", okForm + "&mchid=M", 400, "mchid", "forbidden"},
		{"sign field", "", "", "", okForm + "&sign=ABC", 400, "sign", "forbidden"},
		{"client_key field", "", "", "", okForm + "&client_key=x", 400, "client_key", "forbidden"},
		{"repeated key", "", "", "", okForm + "&txamt=1", 400, "txamt", "repeated"},
		{"bad escape", "", "", "", okForm + "&goods_name=%E6%B8", 400, "goods_name", "utf8"},
		{"bad percent in a name", "", "", "", okForm + "&goods%G1=x", 400, "goods%G1", "name"},
		{"empty name", "", "", "", okForm + "&=x", 400, "", "name"},
		{"control char", "", "", "", okForm + "&goods_name=a%00b", 400, "goods_name", "control"},
		{"body too large", "", "", "", okForm + "&goods_name=" + strings.Repeat("x", 5000), 413, "", "max_body"},
		{"json body", "", "", "application/json", `{"txamt":"1"}`, 415, "", "content_type"},
		{"no content type", "", "", "-", okForm, 415, "", "content_type"},
		{"unknown charset", "", "", form + "; charset=klingon", okForm, 415, "", "charset"},
		{"undecodable big5", "", "", form + "; charset=big5", okForm + "&goods_name=%FF%FF", 400, "goods_name", "charset"},
		{"GET payment", "GET", "", "", "", 405, "", "method"},
		{"unknown path", "", "/trade/v1/anything", "", okForm, 404, "", "path"},
		{"encoded path", "", "/trade/v1/pay%6Dent", "", okForm, 404, "", "path"},
		{"a field in the query string and the body", "", "/trade/v1/payment?txamt=1", "", okForm, 400, "txamt", "repeated"},
	})
}

// runRefusals runs cases against one gateway whose merchant allows only
// the online Alipay types and whose body cap is 4096 bytes.
func runRefusals(t *testing.T, cases []refusalCase) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", "pay_types 801101 801107 801501 801512"), `route /trade/v1/* {
		qfpay_gateway shop {
			max_body 4096
		}
	}`)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			method, path, ctype := tt.method, tt.path, tt.ctype
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = "/trade/v1/payment"
			}
			if ctype == "" {
				ctype = formType
			}
			chunked := method == methodChunked
			if chunked {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, gw.base+path, strings.NewReader(tt.body))
			if chunked {
				req.ContentLength = -1
			}
			if ctype != "-" {
				req.Header.Set("Content-Type", ctype)
			}
			resp, body := gw.do(t, req)
			var got struct{ Error, Field, Rule string }
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("not JSON (%d): %s", resp.StatusCode, body)
			}
			if resp.StatusCode != tt.status || got.Field != tt.field || got.Rule != tt.rule || got.Error == "" {
				t.Errorf("got %d %+v, want %d field %q rule %q", resp.StatusCode, got, tt.status, tt.field, tt.rule)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			if n := up.double.Count(); n != 0 {
				t.Fatalf("upstream saw %d requests", n)
			}
		})
	}
}

// TestChunkedAndLegacyCharset: a chunked body and a Big5 form are signed
// as UTF-8; QFPay's own check passing proves the body and signature agree.
func TestChunkedAndLegacyCharset(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	req, _ := http.NewRequest(http.MethodPost, gw.base+"/trade/v1/payment",
		strings.NewReader(okForm+"&goods_name=%B4%FA%B8%D5"))
	req.ContentLength = -1 // forces Transfer-Encoding: chunked
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=big5")
	resp, body := gw.do(t, req)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	got := up.exchanges()[0].req
	if !strings.Contains(string(got.Body), "goods_name=%E6%B8%AC%E8%A9%A6") {
		t.Errorf("not transcoded to UTF-8: %s", got.Body)
	}
}
