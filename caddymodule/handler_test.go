package caddymodule

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

const answer = `{"respcd":"0000","respmsg":"","resperr":"success","syssn":"20251117000300020087033882","out_trade_no":"B-1","pay_type":"801101","txamt":"1500","txcurrcd":"HKD","pay_url":"https://openapi-int.qfapi.com/checkstand/alipay?syssn=20251117000300020087033882"}`

func testHandler(t testing.TB) *SignHandler {
	t.Helper()
	m := &Merchant{AppCode: "APP", ClientKey: demoClientKey} // a literal: allowed for embedded only
	if err := m.provision("shop", true); err != nil {
		t.Fatal(err)
	}
	h := &SignHandler{merchantRef: merchantRef{Merchant: "shop", MaxBody: defaultMaxBody, m: m, logger: zap.NewNop(),
		app: &App{upstream: &url.URL{Scheme: "http", Host: "127.0.0.1:1"}, store: store.NewMemory(0)}}}
	if err := h.provisionEndpoints(); err != nil {
		t.Fatal(err)
	}
	return h
}

func newRequest(body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/trade/v1/payment", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
}

// TestSignedRequestIsConsistent: the next handler sees a body whose
// signature verifies, with an exact Content-Length and a working GetBody.
func TestSignedRequestIsConsistent(t *testing.T) {
	h := testHandler(t)
	var seen *http.Request
	var seenBody []byte
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		seen = r
		seenBody, _ = io.ReadAll(r.Body)
		_, _ = io.WriteString(w, answer)
		return nil
	})
	r := newRequest("txamt=1500&txcurrcd=hkd&pay_type=801101&out_trade_no=B-1")
	r.Header.Set("X-QF-SIGN", "forged")
	r.Header.Set("x-qfsign-verified", "1")
	r.TransferEncoding = []string{"chunked"}
	rec := httptest.NewRecorder()
	if err := h.ServeHTTP(rec, r, next); err != nil {
		t.Fatal(err)
	}
	if rec.Body.String() != answer {
		t.Fatalf("response altered: %s", rec.Body)
	}
	if seen.ContentLength != int64(len(seenBody)) || seen.TransferEncoding != nil || seen.Header.Get("X-Qfsign-Verified") != "" {
		t.Fatalf("CL %d body %d TE %v hdr %v", seen.ContentLength, len(seenBody), seen.TransferEncoding, seen.Header)
	}
	again, _ := seen.GetBody()
	if b, _ := io.ReadAll(again); !bytes.Equal(b, seenBody) {
		t.Fatal("GetBody differs from Body")
	}
	p, err := signer.ParseForm(seenBody, nil)
	if err != nil {
		t.Fatal(err)
	}
	creds, _ := h.m.credentials()
	if sig := seen.Header.Get(headerSign); !signer.Verify(p, creds.Key, signer.MD5, sig) {
		t.Fatalf("signature %q does not verify over the forwarded body", sig)
	}
	if v, _ := p.Get("txcurrcd"); v != "HKD" {
		t.Errorf("txcurrcd not normalised: %s", v)
	}
}

func TestCaptureWriterStreamsAndBounds(t *testing.T) {
	rec := httptest.NewRecorder()
	cw := newCaptureWriter(rec)
	cw.WriteHeader(http.StatusAccepted)
	big := strings.Repeat("x", captureLimit+10)
	if _, err := io.Copy(cw, strings.NewReader(big)); err != nil {
		t.Fatal(err)
	}
	if rec.Body.Len() != len(big) || rec.Code != http.StatusAccepted {
		t.Fatalf("client got %d bytes, status %d", rec.Body.Len(), rec.Code)
	}
	if len(cw.buf) != captureLimit || !cw.truncated || cw.answer() != (qfpayAnswer{}) {
		t.Fatalf("capture %d truncated %v", len(cw.buf), cw.truncated)
	}
	cw2 := newCaptureWriter(httptest.NewRecorder())
	_, _ = cw2.Write([]byte(answer))
	if a := cw2.answer(); a.Respcd != "0000" || a.Syssn == "" || cw2.status != 200 {
		t.Fatalf("answer %+v status %d", a, cw2.status)
	}
	if _, ok := any(cw2).(interface{ Unwrap() http.ResponseWriter }); !ok {
		t.Fatal("capture writer hides the underlying writer")
	}
}

// BenchmarkSignHandler: a new payment (validate, sign, guard claim and
// record in the memory store), a replayed one, and an unguarded query.
func BenchmarkSignHandler(b *testing.B) {
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, answer)
		return nil
	})
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
			h := testHandler(b)
			h.app.store = store.NewMemory(1 << 30) // the default bound would refuse a long run
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
				if err := h.ServeHTTP(rec, r, next); err != nil || rec.Code != 200 {
					b.Fatal(err, rec.Code, rec.Body.String())
				}
			}
		})
	}
}

func TestVerifyResponseModes(t *testing.T) {
	h := testHandler(t)
	creds, _ := h.m.credentials()
	key := creds.Key
	p, _ := signer.ParseForm([]byte("respcd=0000&syssn=1&txamt=1500"), nil)
	goodSig := signer.Sign(p, key, signer.MD5)
	body := `{"respcd":"0000","syssn":"1","txamt":"1500"}`
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
			h.VerifyResponse = tt.mode
			next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
				if tt.sig != "" {
					w.Header().Set("X-QF-SIGN", tt.sig)
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				_, _ = io.WriteString(w, body)
				return nil
			})
			rec := httptest.NewRecorder()
			before := testutil.ToFloat64(mismatch)
			if err := h.ServeHTTP(rec, newRequest("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=V-"+tt.mode+tt.sig[:min(4, len(tt.sig))]), next); err != nil {
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
