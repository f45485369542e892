package qfpaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var (
	merchant = Merchant{AppCode: "APP1", ClientKey: "KEY1"}
	fixedNow = time.Date(2025, 11, 17, 18, 0, 5, 0, hkTime)
)

func newTestServer(ms ...Merchant) *Server {
	if len(ms) == 0 {
		ms = []Merchant{merchant}
	}
	s := New(ms...)
	s.now = func() time.Time { return fixedNow }
	return s
}

// newRequest builds a form POST carrying appCode and sign.
func newRequest(path, body, appCode, sign string) *http.Request {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if appCode != "" {
		req.Header.Set("X-QF-APPCODE", appCode)
	}
	if sign != "" {
		req.Header.Set("X-QF-SIGN", sign)
	}
	return req
}

// signature is the MD5 signature of the encoded parameters for m.
func signature(t *testing.T, encoded string, m Merchant) string {
	t.Helper()
	form, err := parseForm([]byte(encoded))
	if err != nil {
		t.Fatal(err)
	}
	return digest(form, m.ClientKey, false)
}

// signed builds a request MD5-signed for m.
func signed(t *testing.T, path string, params url.Values, m Merchant) *http.Request {
	t.Helper()
	body := params.Encode()
	return newRequest(path, body, m.AppCode, signature(t, body, m))
}

// send serves req and decodes the JSON answer.
func send(t *testing.T, h http.Handler, req *http.Request) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if ct := rec.Header().Get("Content-Type"); ct != "application/json;charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
	var resp map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return rec.Code, resp
}

func payParams(outTradeNo, payType string) url.Values {
	return url.Values{
		"txamt": {"2200"}, "txcurrcd": {"HKD"}, "pay_type": {payType},
		"out_trade_no": {outTradeNo}, "txdtm": {"2025-11-17 18:00:00"},
	}
}

func TestRouting(t *testing.T) {
	okBody := payParams("R1", "800201")
	tests := []struct {
		name    string
		req     func(t *testing.T) *http.Request
		status  int
		respcd  string
		resperr string
	}{
		{"unknown path", func(t *testing.T) *http.Request {
			return signed(t, "/trade/v1/unknown", okBody, merchant)
		}, 404, "1101", "not found"},
		{"GET", func(t *testing.T) *http.Request {
			r := signed(t, pathPayment, okBody, merchant)
			r.Method = http.MethodGet
			return r
		}, 405, "1101", "method not allowed"},
		{"JSON body", func(t *testing.T) *http.Request {
			r := signed(t, pathPayment, okBody, merchant)
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 415, "1101", "content type must be application/x-www-form-urlencoded"},
		{"form with charset", func(t *testing.T) *http.Request {
			r := signed(t, pathPayment, okBody, merchant)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
			return r
		}, 200, "0000", "success"},
		{"repeated key", func(t *testing.T) *http.Request {
			return newRequest(pathPayment, okBody.Encode()+"&txamt=1", merchant.AppCode, "00")
		}, 200, "1101", "param error"},
		{"parameters in URL", func(t *testing.T) *http.Request {
			r := signed(t, pathPayment, okBody, merchant)
			r.URL.RawQuery = "txamt=1"
			return r
		}, 200, "1101", "param error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, resp := send(t, newTestServer(), tc.req(t))
			if status != tc.status || resp["respcd"] != tc.respcd || resp["resperr"] != tc.resperr {
				t.Fatalf("got %d %v %v, want %d %s %s", status, resp["respcd"], resp["resperr"], tc.status, tc.respcd, tc.resperr)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	params := payParams("A1", "800201")
	tests := []struct {
		name   string
		edit   func(r *http.Request)
		respcd string
	}{
		{"valid md5", func(r *http.Request) {}, "0000"},
		{"lower-case md5 hex", func(r *http.Request) {
			r.Header.Set("X-QF-SIGN", strings.ToLower(r.Header.Get("X-QF-SIGN")))
		}, "0000"},
		{"sha256 declared", func(r *http.Request) {
			form, _ := parseForm([]byte(params.Encode()))
			r.Header.Set("X-QF-SIGN", digest(form, merchant.ClientKey, true))
			r.Header.Set("X-QF-SIGNTYPE", "SHA256")
		}, "0000"},
		{"lower-case header names", func(r *http.Request) {
			for _, k := range []string{"X-Qf-Appcode", "X-Qf-Sign"} {
				r.Header[strings.ToLower(k)] = r.Header[k]
				delete(r.Header, k)
			}
		}, "0000"},
		{"md5 digest declared sha256", func(r *http.Request) { r.Header.Set("X-QF-SIGNTYPE", "SHA256") }, "1108"},
		{"missing sign", func(r *http.Request) { r.Header.Del("X-QF-SIGN") }, "1108"},
		{"tampered body", func(r *http.Request) {
			tampered := payParams("A1", "800201")
			tampered.Set("txamt", "2201")
			r.Body = io.NopCloser(strings.NewReader(tampered.Encode()))
		}, "1108"},
		{"unknown app code", func(r *http.Request) { r.Header.Set("X-QF-APPCODE", "NOPE") }, "1150"},
		{"missing app code", func(r *http.Request) { r.Header.Del("X-QF-APPCODE") }, "1150"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := signed(t, pathPayment, params, merchant)
			tc.edit(req)
			if _, resp := send(t, newTestServer(), req); resp["respcd"] != tc.respcd {
				t.Fatalf("respcd = %v (%v), want %s", resp["respcd"], resp["resperr"], tc.respcd)
			}
		})
	}
}

func TestMchID(t *testing.T) {
	with := Merchant{AppCode: "M1", ClientKey: "K1", MchID: "ZaMVg12345"}
	without := Merchant{AppCode: "M2", ClientKey: "K2"}
	tests := []struct {
		name   string
		m      Merchant
		mchid  *string
		respcd string
	}{
		{"issued and sent", with, ptr("ZaMVg12345"), "0000"},
		{"issued but missing", with, nil, "1101"},
		{"issued but other", with, ptr("Other"), "1101"},
		{"none and absent", without, nil, "0000"},
		{"none but sent", without, ptr("ZaMVg12345"), "1101"},
		{"none but sent empty", without, ptr(""), "1101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := payParams("MCH1", "800201")
			if tc.mchid != nil {
				params.Set("mchid", *tc.mchid)
			}
			_, resp := send(t, newTestServer(with, without), signed(t, pathPayment, params, tc.m))
			if resp["respcd"] != tc.respcd {
				t.Fatalf("respcd = %v (%v), want %s", resp["respcd"], resp["resperr"], tc.respcd)
			}
			if tc.respcd == "1101" && resp["resperr"] != "mchid mismatch" {
				t.Fatalf("resperr = %v", resp["resperr"])
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestRecording(t *testing.T) {
	s := newTestServer()
	first := signed(t, pathPayment, payParams("REC1", "800201"), merchant)
	send(t, s, first)
	first.Header.Set("X-QF-APPCODE", "CHANGED") // must not reach the recording
	send(t, s, newRequest("/nowhere", "x=1", "", ""))
	bad := newRequest(pathQuery, "a=1", merchant.AppCode, "BAD")
	send(t, s, bad)

	got := s.Requests()
	if s.Count() != 3 || len(got) != 3 {
		t.Fatalf("Count = %d, len(Requests) = %d, want 3", s.Count(), len(got))
	}
	if got[0].Header.Get("X-QF-APPCODE") != "APP1" || got[0].Method != http.MethodPost {
		t.Errorf("first request = %+v", got[0])
	}
	if got[1].Path != "/nowhere" || string(got[1].Body) != "x=1" {
		t.Errorf("unrouted request = %+v", got[1])
	}
	if got[2].Path != pathQuery || got[2].Header.Get("X-QF-SIGN") != "BAD" {
		t.Errorf("rejected request = %+v", got[2])
	}
	got[2].Body[0] = 'z' // a copy: the server's record must stay intact
	if string(s.Requests()[2].Body) != "a=1" {
		t.Error("Requests returned shared body bytes")
	}
	s.Reset()
	if s.Count() != 0 || len(s.Requests()) != 0 {
		t.Fatalf("after Reset Count = %d", s.Count())
	}
	// Payments survive Reset.
	_, resp := send(t, s, signed(t, pathPayment, payParams("REC1", "800201"), merchant))
	if resp["respcd"] != "1102" || s.Count() != 1 {
		t.Fatalf("after Reset: respcd %v, Count %d", resp["respcd"], s.Count())
	}
}

func TestCountPath(t *testing.T) {
	s := newTestServer()
	send(t, s, signed(t, pathPayment, payParams("CP1", "800201"), merchant))
	send(t, s, signed(t, pathPayment, payParams("CP2", "800201"), merchant))
	send(t, s, signed(t, pathQuery, url.Values{}, merchant))
	send(t, s, newRequest("/nowhere", "", "", ""))
	tests := []struct {
		name string
		path string
		want int
	}{
		{"payments", pathPayment, 2},
		{"queries", pathQuery, 1},
		{"unrouted path", "/nowhere", 1},
		{"path never used", pathRefund, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.CountPath(tc.path); got != tc.want {
				t.Fatalf("CountPath(%q) = %d, want %d", tc.path, got, tc.want)
			}
		})
	}
	s.Reset()
	if got := s.CountPath(pathPayment); got != 0 {
		t.Fatalf("after Reset CountPath = %d", got)
	}
}

func TestStartClose(t *testing.T) {
	r, err := Start("127.0.0.1:0", merchant)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.URL, "http://127.0.0.1:") || r.URL != "http://"+r.Addr {
		t.Fatalf("URL %q, Addr %q", r.URL, r.Addr)
	}
	signedReq := signed(t, pathPayment, payParams("NET1", "801512"), merchant)
	req, err := http.NewRequest(http.MethodPost, r.URL+pathPayment, signedReq.Body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = signedReq.Header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]string
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || body["respcd"] != "0000" || !strings.HasSuffix(body["pay_url"], body["syssn"]) {
		t.Fatalf("payment over TCP: %v %v", body, err)
	}
	if got := r.Requests(); len(got) != 1 || got[0].Path != pathPayment {
		t.Fatalf("recorded %+v", got)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := http.Post(r.URL+pathPayment, "text/plain", nil); err == nil {
		t.Fatal("server still answers after Close")
	}
}
