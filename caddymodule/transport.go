package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	caddy.RegisterModule(Transport{})
}

// Transport is reverse_proxy's transport to QFPay. It sends a request it
// builds from the signed transaction alone (outgoing.go): the caller's
// request only tells it which transaction. TLS is on or off by the qfpay
// app's environment, so one config serves the embedded double (http)
// and QFPay (https) alike.
type Transport struct {
	// DialTimeout bounds connecting to QFPay. Default: 5s. A dial
	// failure is the only failure after which a POST may be retried.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	// ResponseHeaderTimeout bounds the wait for QFPay's answer once the
	// request is sent. Default: 30s. Past it the outcome is unknown:
	// query, never resend.
	ResponseHeaderTimeout caddy.Duration `json:"response_header_timeout,omitempty"`

	inner    *reverseproxy.HTTPTransport
	upstream *url.URL // the app's pinned upstream: scheme and host:port
	host     string   // the Host QFPay sees: its host, without a default port
}

// answerReadTimeout bounds reading QFPay's answer body after its headers.
const answerReadTimeout = 10 * time.Second

// errNotSigned: the transport was reached by a request qfpay_sign did
// not prepare (a misconfigured route). Nothing unsigned is ever sent.
var errNotSigned = errors.New("qfpay transport: request was not signed by qfpay_sign; nothing sent")

// CaddyModule returns the Caddy module information.
func (Transport) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.transport.qfpay",
		New: func() caddy.Module { return new(Transport) },
	}
}

// Provision builds the inner HTTP transport for the app's upstream:
// HTTP/1.1 only (HTTP/2 may retry a request on a new connection) and no
// transparent compression (QFPay's answers are small; the request then
// carries no header we did not choose).
func (t *Transport) Provision(ctx caddy.Context) error {
	appIface, err := ctx.App("qfpay")
	if err != nil {
		return fmt.Errorf("qfpay transport: %w", err)
	}
	app := appIface.(*App)
	if t.DialTimeout == 0 {
		t.DialTimeout = caddy.Duration(5 * time.Second)
	}
	if t.ResponseHeaderTimeout == 0 {
		t.ResponseHeaderTimeout = caddy.Duration(30 * time.Second)
	}
	noCompression := false
	t.inner = &reverseproxy.HTTPTransport{
		DialTimeout:           t.DialTimeout,
		ResponseHeaderTimeout: t.ResponseHeaderTimeout,
		Versions:              []string{"1.1"},
		Compression:           &noCompression,
	}
	t.upstream = app.upstream
	t.host = hostHeader(app.upstream)
	if app.upstream.Scheme == "https" {
		t.inner.TLS = &reverseproxy.TLSConfig{}
	}
	return t.inner.Provision(ctx)
}

// hostHeader is u's host as a browser would send it: the port only when
// it is not the scheme's default.
func hostHeader(u *url.URL) string {
	host, port := u.Hostname(), u.Port()
	if port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		return u.Host
	}
	if strings.Contains(host, ":") { // an IPv6 literal
		return "[" + host + "]"
	}
	return host
}

// RoundTrip implements http.RoundTripper. r is reverse_proxy's copy of
// the caller's request; it identifies the signed transaction and is
// otherwise ignored. reverse_proxy logs r's headers at debug level after
// the round trip, so the signature is taken off it.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	s, ok := r.Context().Value(signedKey{}).(*signed)
	if !ok {
		return nil, errNotSigned
	}
	r.Header.Del(headerSign)
	resp, body, err := t.send(s.t, s.h.m.signType)
	if err != nil {
		return nil, err
	}
	return t.selfHeal(s, resp, body)
}

// signed carries the transaction from qfpay_sign to the transport
// through the request context, which no placeholder can reach.
type signed struct {
	t *txn
	h *SignHandler
}

type signedKey struct{}

// Cleanup closes idle connections.
func (t *Transport) Cleanup() error {
	if t.inner == nil {
		return nil
	}
	return t.inner.Cleanup()
}

// exchangeTimeout bounds one exchange, dial to the answer's last byte.
func (t *Transport) exchangeTimeout() time.Duration {
	return time.Duration(t.DialTimeout) + time.Duration(t.ResponseHeaderTimeout) + answerReadTimeout
}

// contextForSend is detached from the caller: an application hanging up
// must not cut a payment in half. It carries no value of the caller's
// request (no dial info: the URL's pinned host is dialled).
func (t *Transport) contextForSend() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), t.exchangeTimeout())
}

// Interface guards.
var (
	_ caddy.Provisioner  = (*Transport)(nil)
	_ caddy.CleanerUpper = (*Transport)(nil)
	_ http.RoundTripper  = (*Transport)(nil)
)
