package tests

import (
	"crypto/md5"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Helpers that build requests and answer notifications the way the
// public QFPay integrations do, written from their documented behaviour.

// kv is one field in the order an integration builds it.
type kv [2]string

// pythonURLEncode is Python's urllib.parse.urlencode (quote_plus), used by
// requests for params=: insertion order kept, spaces as '+'.
func pythonURLEncode(fields []kv) string {
	parts := make([]string, len(fields))
	for i, f := range fields {
		parts[i] = url.QueryEscape(f[0]) + "=" + url.QueryEscape(f[1])
	}
	return strings.Join(parts, "&")
}

// phpConcat is the body QFPay's PHP and Java samples build by string
// concatenation: "k=v&" for each field, the last '&' removed, values as
// they are (urlencode()d by the caller when it thought of it).
func phpConcat(fields []kv) string {
	var b strings.Builder
	for _, f := range fields {
		b.WriteString(f[0] + "=" + f[1] + "&")
	}
	return strings.TrimSuffix(b.String(), "&")
}

// phpHTTPBuildQuery is ksort() then http_build_query(): RFC 1738 escapes,
// '~' included.
func phpHTTPBuildQuery(fields []kv) string {
	sorted := append([]kv(nil), fields...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i][0] < sorted[j][0] })
	enc := func(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "~", "%7E") }
	parts := make([]string, len(sorted))
	for i, f := range sorted {
		parts[i] = enc(f[0]) + "=" + enc(f[1])
	}
	return strings.Join(parts, "&")
}

// notifyApp is an application's notification endpoint: it records each
// delivery and answers as decide says.
type notifyApp struct {
	*httptest.Server
	mu      sync.Mutex
	answers []string
}

func newNotifyApp(t *testing.T, decide func(body []byte, h http.Header) (int, string)) *notifyApp {
	t.Helper()
	a := &notifyApp{}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		status, answer := decide(body, r.Header)
		a.mu.Lock()
		a.answers = append(a.answers, answer)
		a.mu.Unlock()
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(a.Close)
	return a
}

// got returns what the application answered to each delivery.
func (a *notifyApp) got() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.answers...)
}

func md5UpperBytes(b []byte) string {
	sum := md5.Sum(b)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// odooNotify is Odoo's pos_qfpay /qfpay/notify controller: MD5 over the
// raw body + notification key, upper case, compared in constant time
// with X-QF-SIGN; SUCCESS when equal, an empty answer otherwise.
func odooNotify(key string) func([]byte, http.Header) (int, string) {
	return func(body []byte, h http.Header) (int, string) {
		want := md5UpperBytes(append(append([]byte(nil), body...), key...))
		if subtle.ConstantTimeCompare([]byte(want), []byte(h.Get("X-QF-SIGN"))) != 1 {
			return http.StatusOK, ""
		}
		return http.StatusOK, "SUCCESS"
	}
}

// qfpayPHPNotify is QFPay's legacy PHP notify sample: json_decode, ksort,
// "k=v" joined by '&' + key, MD5 upper case; it echoes "签名错误" (sign
// error) on a mismatch and lower-case "success" otherwise.
func qfpayPHPNotify(key string) func([]byte, http.Header) (int, string) {
	return func(body []byte, h http.Header) (int, string) {
		var m map[string]string
		if json.Unmarshal(body, &m) != nil {
			return http.StatusOK, "签名错误"
		}
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = k + "=" + m[k]
		}
		if md5UpperBytes([]byte(strings.Join(parts, "&")+key)) != strings.ToUpper(h.Get("X-QF-SIGN")) {
			return http.StatusOK, "签名错误"
		}
		return http.StatusOK, "success"
	}
}
