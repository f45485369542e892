package tests

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// shape is one way a legacy application sends its fields.
type shape struct {
	name, method, path, ctype, body string
	want                            map[string]string // fields QFPay must read, signed
}

// shapeGateway is a gateway in front of the double with merchant options.
func shapeGateway(t *testing.T, merchantExtra, options string) (*upstream, *gateway) {
	t.Helper()
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", merchantExtra), `route /trade/v1/* {
		qfpay_gateway shop {
			`+options+`
		}
	}`)
	return up, gw
}

// send sends one shape as is (no Content-Type when ctype is empty).
func (s shape) send(t *testing.T, gw *gateway) (*http.Response, []byte) {
	t.Helper()
	var body io.Reader // nil for GET: no body at all
	if s.method != http.MethodGet {
		body = strings.NewReader(s.body)
	}
	req, err := http.NewRequest(s.method, gw.base+s.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if s.ctype != "" {
		req.Header.Set("Content-Type", s.ctype)
	}
	return gw.do(t, req)
}

// checkForwarded: QFPay's double verified the signature over the bytes
// it received (respcd 0000, not 1108), the request is the documented
// POST with every field in the body and none in the query string, and
// QFPay reads exactly the wanted values.
func checkForwarded(t *testing.T, up *upstream, resp *http.Response, body []byte, want map[string]string) {
	t.Helper()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"respcd":"0000"`)) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	ex := up.exchanges()
	got := ex[len(ex)-1].req
	if got.Method != http.MethodPost || got.RawQuery != "" || got.Header.Get("Content-Type") != formType {
		t.Fatalf("forwarded %s ?%q %q", got.Method, got.RawQuery, got.Header.Get("Content-Type"))
	}
	if sign := got.Header.Get("X-Qf-Sign"); sign != seedSign(t, got.Body, testKey) {
		t.Fatalf("X-QF-SIGN %q does not cover the body %q", sign, got.Body)
	}
	vals, err := url.ParseQuery(string(got.Body))
	if err != nil {
		t.Fatalf("forwarded body %q: %v", got.Body, err)
	}
	for k, v := range want {
		if vals.Get(k) != v {
			t.Errorf("QFPay reads %s=%q, want %q (body %q)", k, vals.Get(k), v, got.Body)
		}
	}
}

func multipartForm(t *testing.T, fields [][2]string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.String(), w.FormDataContentType()
}

// TestRequestShapes: every shape legacy applications send is read into
// one form, signed, and forwarded as QFPay documents it.
func TestRequestShapes(t *testing.T) {
	up, gw := shapeGateway(t, "", "")
	mp, mpType := multipartForm(t, [][2]string{{"txamt", "300"}, {"txcurrcd", "HKD"}, {"pay_type", "801101"},
		{"out_trade_no", "SHAPE-MP-1"}, {"goods_name", "50% off"}})
	for _, s := range []shape{
		{name: "fields only in a POST's query string, no body", method: http.MethodPost,
			path: "/trade/v1/payment?txamt=100&txcurrcd=HKD&pay_type=801101&out_trade_no=SHAPE-Q-1",
			want: map[string]string{"txamt": "100", "out_trade_no": "SHAPE-Q-1"}},
		{name: "fields split between query string and body", method: http.MethodPost, ctype: formType,
			path: "/trade/v1/payment?txamt=101&pay_type=801101", body: "txcurrcd=HKD&out_trade_no=SHAPE-QB-1",
			want: map[string]string{"txamt": "101", "txcurrcd": "HKD", "out_trade_no": "SHAPE-QB-1"}},
		{name: "literal percent and raw space", method: http.MethodPost, ctype: formType, path: "/trade/v1/payment",
			body: "txamt=102&txcurrcd=HKD&pay_type=801101&out_trade_no=SHAPE-P-1&goods_name=50% off",
			want: map[string]string{"goods_name": "50% off"}},
		{name: "invalid escapes kept", method: http.MethodPost, ctype: formType, path: "/trade/v1/payment",
			body: "txamt=103&txcurrcd=HKD&pay_type=801101&out_trade_no=SHAPE-P-2&goods_name=%zz+100%&udid=a%2",
			want: map[string]string{"goods_name": "%zz 100%", "udid": "a%2"}},
		{name: "multipart of plain fields", method: http.MethodPost, ctype: mpType, path: "/trade/v1/payment", body: mp,
			want: map[string]string{"txamt": "300", "goods_name": "50% off", "out_trade_no": "SHAPE-MP-1"}},
		{name: "GET query, forwarded as POST", method: http.MethodGet, path: "/trade/v1/query?out_trade_no=SHAPE-Q-1",
			want: map[string]string{"out_trade_no": "SHAPE-Q-1"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			resp, body := s.send(t, gw)
			checkForwarded(t, up, resp, body, s.want)
		})
	}
}

// TestStrictEscapes: strict_escapes keeps the earlier refusal of invalid
// percent-escapes; nothing is forwarded.
func TestStrictEscapes(t *testing.T) {
	up, gw := shapeGateway(t, "", "strict_escapes")
	for _, form := range []string{okForm + "&goods_name=50%+off", okForm + "&goods_name=%zz", okForm + "&udid=1%"} {
		resp, body := gw.post(t, "/trade/v1/payment", form)
		if resp.StatusCode != 400 || !strings.Contains(string(body), `"rule":"escape"`) {
			t.Errorf("%q: got %d %s", form, resp.StatusCode, body)
		}
	}
	if n := up.double.Count(); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
}
