package caddymodule

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/signer"
)

// TestOutgoingIsBuilt: QFPay's request comes from the transaction alone,
// carries only QFPay's headers, cannot be rewound, and reading its body
// marks it as possibly sent.
func TestOutgoingIsBuilt(t *testing.T) {
	tr := &Transport{upstream: &url.URL{Scheme: "https", Host: "openapi-hk.qfapi.com:443"}}
	tr.host = hostHeader(tr.upstream)
	pay, _ := signer.LookupEndpoint("/trade/v1/payment")
	closeEp := signer.CloseEndpoint
	for _, tc := range []struct {
		name     string
		tx       *txn
		st       signer.SignType
		wantHdr  []string
		wantURL  string
		readFrom bool // a body that can tell whether it was read
	}{
		{"payment md5", &txn{ep: pay, wire: []byte("a=b"), sig: "SIG", appCode: "APP"}, signer.MD5,
			[]string{"Content-Type", "User-Agent", "X-Qf-Appcode", "X-Qf-Sign"}, "https://openapi-hk.qfapi.com:443/trade/v1/payment", true},
		{"payment sha256", &txn{ep: pay, wire: []byte("a=b"), sig: "SIG", appCode: "APP"}, signer.SHA256,
			[]string{"Content-Type", "User-Agent", "X-Qf-Appcode", "X-Qf-Sign", "X-Qf-Signtype"}, "https://openapi-hk.qfapi.com:443/trade/v1/payment", true},
		{"get", &txn{ep: closeEp, wire: []byte("a=b"), sig: "SIG", appCode: "APP"}, signer.MD5,
			[]string{"User-Agent", "X-Qf-Appcode", "X-Qf-Sign"}, "https://openapi-hk.qfapi.com:443" + signer.CloseEndpoint.Path + "?a=b", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, read := tr.outgoing(tc.tx, tc.st)
			var names []string
			for k := range out.Header {
				names = append(names, k)
			}
			slices.Sort(names)
			if !slices.Equal(names, tc.wantHdr) || out.Header.Get(headerSign) != "SIG" || out.Host != "openapi-hk.qfapi.com" {
				t.Fatalf("headers %v host %q", names, out.Host)
			}
			if out.URL.String() != tc.wantURL || out.GetBody != nil || out.Method != tc.tx.ep.Method {
				t.Fatalf("url %s, GetBody set %v, method %s", out.URL, out.GetBody != nil, out.Method)
			}
			if read.Load() == tc.readFrom {
				t.Fatalf("marked read before any read: %v", read.Load())
			}
			if tc.readFrom {
				if b, _ := io.ReadAll(out.Body); string(b) != "a=b" || !read.Load() || out.ContentLength != 3 {
					t.Fatalf("body %q, marked %v, length %d", b, read.Load(), out.ContentLength)
				}
			}
		})
	}
}

func TestHostHeader(t *testing.T) {
	for in, want := range map[string]string{
		"https://openapi-hk.qfapi.com:443": "openapi-hk.qfapi.com",
		"http://127.0.0.1:9999":            "127.0.0.1:9999",
		"http://example.com:80":            "example.com",
		"https://[::1]:443":                "[::1]",
		"https://[::1]:8443":               "[::1]:8443",
	} {
		u, _ := url.Parse(in)
		if got := hostHeader(u); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

// A request qfpay_sign did not prepare is never sent.
func TestTransportRefusesUnsigned(t *testing.T) {
	tr := &Transport{}
	r := httptest.NewRequest(http.MethodPost, "http://qfpay.invalid/trade/v1/payment", strings.NewReader("txamt=1"))
	if resp, err := tr.RoundTrip(r); resp != nil || !errors.Is(err, errNotSigned) {
		t.Fatalf("got %v, %v", resp, err)
	}
}
