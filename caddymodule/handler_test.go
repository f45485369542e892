package caddymodule

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

const qfpayAnswer = `{"respcd":"0000","respmsg":"","resperr":"success","syssn":"20251117000300020087033882","out_trade_no":"B-1","pay_type":"801101","txamt":"1500","txcurrcd":"HKD","pay_url":"https://openapi-int.qfapi.com/checkstand/alipay?syssn=20251117000300020087033882"}`

// seen is what the test upstream received.
type seen struct {
	mu       sync.Mutex
	requests []*http.Request
	bodies   []string
}

func (s *seen) add(r *http.Request, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
	s.bodies = append(s.bodies, body)
}

func (s *seen) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// testHandler is a provisioned gateway for merchant "shop" (demo key,
// memory store) whose QFPay is a real HTTP server answering with
// answerFn (QFPay's fixed payment answer when nil).
func testHandler(t testing.TB, answerFn ...http.HandlerFunc) (*Gateway, *seen) {
	t.Helper()
	got := new(seen)
	fn := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, qfpayAnswer)
	}
	if len(answerFn) > 0 {
		fn = answerFn[0]
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.add(r, string(body))
		fn(w, r)
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	m := &Merchant{AppCode: "APP", ClientKey: demoClientKey} // a literal: allowed for embedded only
	if err := m.provision("shop", true); err != nil {
		t.Fatal(err)
	}
	h := &Gateway{merchantRef: merchantRef{Merchant: "shop", MaxBody: defaultMaxBody, m: m, logger: zap.NewNop(),
		app: &App{upstream: u, store: store.NewMemory(0)}}}
	if err := h.provisionEndpoints(); err != nil {
		t.Fatal(err)
	}
	send, err := h.Client.sender(u)
	if err != nil {
		t.Fatal(err)
	}
	h.provisionExchange(send)
	t.Cleanup(func() { _ = h.Cleanup() })
	return h, got
}

func newRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/trade/v1/payment", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
}

// TestGatewaySendsWhatItSigns: QFPay receives exactly the signed,
// normalised form with QFPay's headers only, and the caller gets QFPay's
// answer unchanged, with QFPay's own headers.
func TestGatewaySendsWhatItSigns(t *testing.T) {
	h, got := testHandler(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Qf-Sign", "ANSWER-SIG")
		w.Header().Set("Keep-Alive", "timeout=5")
		_, _ = io.WriteString(w, qfpayAnswer)
	})
	r := newRequest("txamt=1500&txcurrcd=hkd&pay_type=801101&out_trade_no=B-1")
	r.Header.Set("X-QF-SIGN", "forged")
	r.Header.Set("Cookie", "session=s3cr3t")
	r.TransferEncoding = []string{"chunked"}
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, r, nil); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != qfpayAnswer || rec.Header().Get("X-Qf-Sign") != "ANSWER-SIG" || rec.Header().Get("Keep-Alive") != "" {
		t.Fatalf("answer altered: %v %s", rec.Header(), rec.Body)
	}
	if got.count() != 1 {
		t.Fatalf("QFPay saw %d requests", got.count())
	}
	in, body := got.requests[0], got.bodies[0]
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range in.Header {
			if !yield(k) {
				return
			}
		}
	})
	if want := []string{"Content-Length", "Content-Type", "User-Agent", "X-Qf-Appcode", "X-Qf-Sign"}; !slices.Equal(names, want) {
		t.Fatalf("QFPay saw headers %v, want %v", names, want)
	}
	if in.ContentLength != int64(len(body)) || in.TransferEncoding != nil {
		t.Fatalf("CL %d body %d TE %v", in.ContentLength, len(body), in.TransferEncoding)
	}
	p, err := signer.ParseForm([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := h.m.credentials()
	if sig := in.Header.Get(headerSign); !signer.Verify(p, creds.Key, signer.MD5, sig) {
		t.Fatalf("signature %q does not verify over the sent body", sig)
	}
	if v, _ := p.Get("txcurrcd"); v != "HKD" {
		t.Errorf("txcurrcd not normalised: %s", v)
	}
}

// BenchmarkGateway: the whole handler with a real loopback QFPay: a new
// payment (validate, guard claim, sign, send, record in the memory
// store), a replayed one (no send), and an unguarded query.
func BenchmarkGateway(b *testing.B) {
	const form = "txamt=1500&txcurrcd=HKD&pay_type=801101&goods_name=%E6%B8%AC%E8%A9%A6&txdtm=2025-11-17+18%3A00%3A00&out_trade_no=ORDER-"
	for _, bb := range []struct {
		name string
		body func(i int) string
	}{
		{"new_payment", func(i int) string { return form + strconv.Itoa(i) }},
		{"replayed_payment", func(int) string { return form + "SAME" }},
		{"query", func(int) string { return "out_trade_no=ORDER-1" }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			h, _ := testHandler(b)
			h.app.store = store.NewMemory(1 << 30) // the default bound would refuse a long run
			h.x.Store = h.app.store
			path := "/trade/v1/payment"
			if bb.name == "query" {
				path = "/trade/v1/query"
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				r := newRequest(bb.body(i))
				r.URL.Path = path
				rec := httptest.NewRecorder()
				if err := h.ServeHTTP(rec, r, nil); err != nil || rec.Code != 200 {
					b.Fatal(err, rec.Code, rec.Body.String())
				}
			}
		})
	}
}

// BenchmarkPrepareSign: read, validate and normalise, guard claim and
// sign: everything the gateway adds before the send.
func BenchmarkPrepareSign(b *testing.B) {
	h, _ := testHandler(b)
	h.app.store = store.NewMemory(1 << 30)
	h.x.Store = h.app.store
	const form = "txamt=1500&txcurrcd=HKD&pay_type=801101&goods_name=%E6%B8%AC%E8%A9%A6&txdtm=2025-11-17+18%3A00%3A00&out_trade_no=ORDER-"
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		r := newRequest(form + strconv.Itoa(i))
		t := &txn{}
		if rf := h.prepare(r, t); rf != nil {
			b.Fatal(rf.Error)
		}
		h.x.Guard(r.Context(), &t.Txn)
		h.x.Sign(&t.Txn)
	}
}

func TestVerifyResponseModes(t *testing.T) {
	body := `{"respcd":"0000","syssn":"1","txamt":"1500"}`
	var sig string
	h, _ := testHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if sig != "" {
			w.Header().Set("X-QF-SIGN", sig)
		}
		_, _ = io.WriteString(w, body)
	})
	creds, _ := h.m.credentials()
	p, _ := signer.ParseForm([]byte("respcd=0000&syssn=1&txamt=1500"), nil)
	goodSig := signer.Sign(p, creds.Key, signer.MD5)
	tests := []struct {
		mode, sig  string
		wantStatus int
		wantBody   string
		mismatches float64 // counted by qfsign_response_signatures_total
	}{
		{verifyEnforce, goodSig, 200, body, 0},
		{verifyEnforce, "BAD", 502, `"rule":"response_signature"`, 1},
		{verifyEnforce, "", 200, body, 0},
		{verifyLog, "BAD", 200, body, 1},
		{verifyLog, goodSig, 200, body, 0},
		{verifyOff, "BAD", 200, body, 0},
	}
	mismatch := responseSigTotal.WithLabelValues("shop", "mismatch")
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.sig, func(t *testing.T) {
			h.VerifyResponse, sig = tt.mode, tt.sig
			h.provisionExchange(h.x.Sender)
			rec := httptest.NewRecorder()
			before := testutil.ToFloat64(mismatch)
			if err := h.ServeHTTP(rec, newRequest("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=V-"+tt.mode+tt.sig[:min(4, len(tt.sig))]), nil); err != nil {
				t.Fatal(err)
			}
			if got := testutil.ToFloat64(mismatch) - before; got != tt.mismatches {
				t.Errorf("mismatches counted %v, want %v", got, tt.mismatches)
			}
			if rec.Code != tt.wantStatus || !strings.Contains(rec.Body.String(), tt.wantBody) {
				t.Fatalf("got %d %s", rec.Code, rec.Body)
			}
			if cl := rec.Header().Get("Content-Length"); cl != strconv.Itoa(rec.Body.Len()) {
				t.Errorf("Content-Length %s for %d bytes", cl, rec.Body.Len())
			}
		})
	}
}
