package qfpaytest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// live serves s over real HTTP until the test ends.
func live(t *testing.T, s *Server) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close) // runs first: ends scripted hangs, which ts.Close waits for
	return ts
}

// clientRequest builds a request for path at base, MD5-signed for m: a
// POST carries params as a form body, a GET in its query string.
func clientRequest(t *testing.T, base, method, path string, params url.Values, m Merchant) *http.Request {
	t.Helper()
	encoded := params.Encode()
	target, body := base+path, io.Reader(nil)
	if method == http.MethodGet {
		target += "?" + encoded
	} else {
		body = strings.NewReader(encoded)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, body)
	if err != nil {
		t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("X-QF-APPCODE", m.AppCode)
	req.Header.Set("X-QF-SIGN", signature(t, encoded, m))
	return req
}

// do sends req through ts's client and decodes the JSON answer.
func do(t *testing.T, ts *httptest.Server, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	return resp.StatusCode, body
}

// call sends params to path on ts for m (POST, or GET for close) and
// decodes the answer.
func call(t *testing.T, ts *httptest.Server, path string, params url.Values, m Merchant) map[string]any {
	t.Helper()
	method := http.MethodPost
	if path == pathClose {
		method = http.MethodGet
	}
	_, body := do(t, ts, clientRequest(t, ts.URL, method, path, params, m))
	return body
}

// payLive makes a successful payment over HTTP and returns its syssn.
func payLive(t *testing.T, ts *httptest.Server, params url.Values, m Merchant) string {
	t.Helper()
	resp := call(t, ts, pathPayment, params, m)
	if resp["respcd"] != "0000" {
		t.Fatalf("payment: %v", resp)
	}
	return resp["syssn"].(string)
}

// queryRow queries one id (name is syssn or out_trade_no) for merchant and
// returns its row, or nil when there is none.
func queryRow(t *testing.T, ts *httptest.Server, name, id string) map[string]any {
	t.Helper()
	resp := call(t, ts, pathQuery, url.Values{name: {id}}, merchant)
	data, _ := resp["data"].([]any)
	switch {
	case resp["respcd"] != "0000" || len(data) > 1:
		t.Fatalf("query %s=%s: %v", name, id, resp)
	case len(data) == 0:
		return nil
	}
	return data[0].(map[string]any)
}

// waitRecorded waits until merchant's transaction out is in the ledger.
func waitRecorded(t *testing.T, s *Server, out string) {
	t.Helper()
	err := s.waitFor(waitCtx(t), func() bool { return s.findLocked(merchant.AppCode, byOutTradeNo, out) != nil })
	if err != nil {
		t.Fatalf("%s never recorded: %v", out, err)
	}
}
