package caddymodule

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/signer"
)

// TestOutgoingIsBuilt: QFPay's request comes from the exchange's request
// alone, carries only QFPay's headers, and cannot be rewound.
func TestOutgoingIsBuilt(t *testing.T) {
	base := &url.URL{Scheme: "https", Host: "openapi-hk.qfapi.com:443"}
	form := "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name    string
		req     exchange.Request
		wantHdr []string
		wantURL string
		body    string
	}{
		{"payment md5", exchange.Request{Method: "POST", Path: "/trade/v1/payment", Body: []byte("a=b"), ContentType: form, Sig: "SIG", AppCode: "APP"},
			[]string{"Content-Type", "User-Agent", "X-Qf-Appcode", "X-Qf-Sign"}, "https://openapi-hk.qfapi.com:443/trade/v1/payment", "a=b"},
		{"payment sha256", exchange.Request{Method: "POST", Path: "/trade/v1/payment", Body: []byte("a=b"), ContentType: form, Sig: "SIG", AppCode: "APP", SignType: "SHA256"},
			[]string{"Content-Type", "User-Agent", "X-Qf-Appcode", "X-Qf-Sign", "X-Qf-Signtype"}, "https://openapi-hk.qfapi.com:443/trade/v1/payment", "a=b"},
		{"get", exchange.Request{Method: "GET", Path: signer.CloseEndpoint.Path, Query: "a=b", Body: []byte("ignored"), ContentType: form, Sig: "SIG", AppCode: "APP"},
			[]string{"User-Agent", "X-Qf-Appcode", "X-Qf-Sign"}, "https://openapi-hk.qfapi.com:443" + signer.CloseEndpoint.Path + "?a=b", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := outgoing(context.Background(), base, hostHeader(base), &tc.req)
			names := slices.Sorted(func(yield func(string) bool) {
				for k := range out.Header {
					if !yield(k) {
						return
					}
				}
			})
			if !slices.Equal(names, tc.wantHdr) || out.Header.Get(headerSign) != "SIG" || out.Host != "openapi-hk.qfapi.com" {
				t.Fatalf("headers %v host %q", names, out.Host)
			}
			if out.URL.String() != tc.wantURL || out.GetBody != nil || out.Method != tc.req.Method {
				t.Fatalf("url %s, GetBody set %v, method %s", out.URL, out.GetBody != nil, out.Method)
			}
			if b, _ := io.ReadAll(out.Body); string(b) != tc.body || out.ContentLength != int64(len(tc.body)) {
				t.Fatalf("body %q, length %d", b, out.ContentLength)
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

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

// TestOnlyDialFailureIsNotSent: a refused connection (to QFPay or to the
// egress proxy) provably sent nothing; a connection that QFPay drops
// after reading the request did not.
func TestOnlyDialFailureIsNotSent(t *testing.T) {
	hangup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		conn, _, _ := w.(http.Hijacker).Hijack()
		_ = conn.Close()
	}))
	defer hangup.Close()
	req := &exchange.Request{Method: "POST", Path: "/trade/v1/payment", Body: []byte("a=b"), ContentType: "application/x-www-form-urlencoded"}
	for _, tc := range []struct {
		name, upstream, proxy string
		notSent               bool
	}{
		{"refused", "http://" + closedAddr(t), "", true},
		{"proxy refused", "https://qfpay.invalid:443", "http://" + closedAddr(t), true},
		{"dropped after reading", hangup.URL, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(tc.upstream)
			send, err := (&Client{ForwardProxyURL: tc.proxy}).sender(u)
			if err != nil {
				t.Fatal(err)
			}
			_, err = send(context.Background(), req)
			if err == nil || errors.Is(err, exchange.ErrNotSent) != tc.notSent {
				t.Fatalf("err %v, not sent %v, want %v", err, errors.Is(err, exchange.ErrNotSent), tc.notSent)
			}
		})
	}
}

// TestForwardProxy: with forward_proxy_url, QFPay is reached through
// the proxy (an absolute-form request for http; CONNECT for https).
func TestForwardProxy(t *testing.T) {
	var target string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.URL.String()
		_, _ = io.WriteString(w, `{"respcd":"0000"}`)
	}))
	defer proxy.Close()
	u, _ := url.Parse("http://qfpay.invalid:8080")
	send, err := (&Client{ForwardProxyURL: proxy.URL}).sender(u)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := send(context.Background(), &exchange.Request{Method: "POST", Path: "/trade/v1/payment", Body: []byte("a=b")})
	if err != nil || !strings.Contains(string(resp.Body), "0000") || target != "http://qfpay.invalid:8080/trade/v1/payment" {
		t.Fatalf("%v %v, proxy saw %q", resp, err, target)
	}
}

// TestAnswerBound: an answer over 1 MiB is refused, declared or not.
func TestAnswerBound(t *testing.T) {
	big := strings.Repeat("x", maxAnswer+1)
	for _, declared := range []bool{true, false} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !declared {
				w.(http.Flusher).Flush() // chunked: no Content-Length
			}
			_, _ = io.WriteString(w, big)
		}))
		u, _ := url.Parse(srv.URL)
		send, _ := (&Client{}).sender(u)
		if _, err := send(context.Background(), &exchange.Request{Method: "POST", Path: "/x"}); !errors.Is(err, exchange.ErrAnswerTooLarge) {
			t.Errorf("declared %v: %v", declared, err)
		}
		srv.Close()
	}
}
