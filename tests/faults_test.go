package tests

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// mangler sits between the gateway and the QFPay double: QFPay receives
// and records the payment, but the answer the gateway gets is mangled,
// as a broken proxy or a cut connection would leave it.
func mangler(t *testing.T, double *qfpaytest.Server, mangle map[string]func(w http.ResponseWriter)) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		rec := httptest.NewRecorder()
		double.ServeHTTP(rec, r)
		for otn, f := range mangle {
			if r.URL.Path == "/trade/v1/payment" && strings.Contains(string(body), "out_trade_no="+otn) {
				f(w)
				return
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// Mangled answers after QFPay took the payment: the caller gets what
// came back, the order is unknown, and the retry is answered by a query,
// never by a second payment. No request left unsigned (no 1108).
func TestMangledAnswers(t *testing.T) {
	double := qfpaytest.New(qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	t.Cleanup(double.Close)
	run := testvault.RandomID(4)
	cases := []struct {
		name   string
		mangle func(w http.ResponseWriter)
		status int
		rule   string // in the first answer's body, when set
	}{
		{"HTML instead of JSON", func(w http.ResponseWriter) { w.WriteHeader(200); io.WriteString(w, "<html>maintenance</html>") }, 200, ""},
		{"truncated JSON", func(w http.ResponseWriter) { w.WriteHeader(200); io.WriteString(w, `{"respcd":"0000","syss`) }, 200, ""},
		{"502 from a proxy", func(w http.ResponseWriter) { w.WriteHeader(502); io.WriteString(w, "bad gateway") }, 502, ""},
		{"empty 200", func(w http.ResponseWriter) { w.WriteHeader(200) }, 200, ""},
		// Larger than the 1 MiB bound, with and without a Content-Length.
		{"2 MiB answer", func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", fmt.Sprint(2<<20))
			io.WriteString(w, strings.Repeat(" ", 2<<20))
		}, 502, `"rule":"upstream_answer"`},
		{"2 MiB chunked answer", func(w http.ResponseWriter) {
			io.WriteString(w, `{"respcd":"0000","x":"`+strings.Repeat("x", 2<<20)+`"}`)
		}, 502, `"rule":"upstream_answer"`},
	}
	mangle := map[string]func(w http.ResponseWriter){}
	for i, c := range cases {
		mangle[fmt.Sprintf("F-%s-%d&", run, i)] = c.mangle
	}
	url := mangler(t, double, mangle)
	gw := startGateway(t, url, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			otn := fmt.Sprintf("F-%s-%d", run, i)
			form := payForm(otn, 1500) // signed sorted: "out_trade_no=<otn>&pay_type=..."
			resp, body := gw.post(t, "/trade/v1/payment", form)
			if resp.StatusCode != c.status || !strings.Contains(string(body), c.rule) {
				t.Fatalf("first: %d %.200s, want %d %s", resp.StatusCode, body, c.status, c.rule)
			}
			resp, body = gw.post(t, "/trade/v1/payment", form)
			if resp.StatusCode != 200 || resp.Header.Get("X-Qfsign-Resolved") != "query" || !strings.Contains(string(body), `"respcd":"0000"`) {
				t.Fatalf("retry: %d %s", resp.StatusCode, body)
			}
		})
	}
	payments, queries := double.CountPath("/trade/v1/payment"), double.CountPath("/trade/v1/query")
	if payments != len(cases) || queries != len(cases) {
		t.Fatalf("QFPay saw %d payments and %d queries, want %d and %d", payments, queries, len(cases), len(cases))
	}
	for _, r := range double.Requests() {
		if r.Header.Get("X-Qf-Sign") == "" || r.Header.Get("X-Qf-Appcode") != testAppCode {
			t.Fatalf("a request left without signature or app code: %s %s", r.Method, r.Path)
		}
	}
}

// Redis down, then back: refused while down (nothing sent), and the
// gateway recovers by itself once Redis answers again.
func TestRedisDownAndBack(t *testing.T) {
	rs := testredis.Start(t)
	s := newGuardSetup(t, "store redis "+rs.Addr, "", "")
	if r := s.pay(t, payForm(s.otn("before"), 1500)); r.field("respcd") != "0000" {
		t.Fatalf("before: %+v", r)
	}
	rs.Stop()
	for i := range 3 {
		if r := s.pay(t, payForm(s.otn(fmt.Sprint("down", i)), 1500)); r.status != 503 || r.field("rule") != "store" {
			t.Fatalf("Redis down: %+v", r)
		}
	}
	rs.Restart()
	if r := s.pay(t, payForm(s.otn("after"), 1500)); r.field("respcd") != "0000" {
		t.Fatalf("after Redis came back: %+v", r)
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != 2 {
		t.Fatalf("QFPay saw %d payments, want 2 (none while Redis was down)", p)
	}
}
