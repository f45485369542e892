package caddymodule

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/headers"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	caddy.RegisterModule(Transport{})
}

// Transport is reverse_proxy's HTTP transport, with TLS switched on or
// off by the qfpay app's environment, so one config serves the embedded
// double (http) and QFPay (https) alike.
type Transport struct {
	// DialTimeout bounds connecting to QFPay. Default: 5s. A dial
	// failure is the only failure after which a POST may be retried.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	// ResponseHeaderTimeout bounds the wait for QFPay's answer once the
	// request is sent. Default: 30s. Past it the outcome is unknown:
	// query, never resend.
	ResponseHeaderTimeout caddy.Duration `json:"response_header_timeout,omitempty"`

	inner *reverseproxy.HTTPTransport
}

// CaddyModule returns the Caddy module information.
func (Transport) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.transport.qfpay",
		New: func() caddy.Module { return new(Transport) },
	}
}

// Provision builds the inner HTTP transport for the app's upstream.
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
	t.inner = &reverseproxy.HTTPTransport{
		DialTimeout:           t.DialTimeout,
		ResponseHeaderTimeout: t.ResponseHeaderTimeout,
	}
	if app.upstream.Scheme == "https" {
		t.inner.TLS = &reverseproxy.TLSConfig{}
	}
	return t.inner.Provision(ctx)
}

// RoundTrip implements http.RoundTripper. reverse_proxy logs the request
// headers at debug level after the round trip, so the signature is taken
// off the logged request and put only on the copy that is sent.
func (t *Transport) RoundTrip(r *http.Request) (*http.Response, error) {
	s, ok := r.Context().Value(signedKey{}).(*signed)
	if !ok {
		return t.inner.RoundTrip(r)
	}
	r.Header.Del(headerSign)
	resp, err := t.send(r, s.t.sig, "")
	if err != nil {
		return resp, err
	}
	return t.selfHeal(r, s, resp)
}

// send forwards a copy of r carrying sig (and appCode, if set). The copy
// is detached from the caller's cancellation: an application hanging up
// must not cut a payment in half; the transport's timeouts bound it. It
// records whether the request provably never left: net/http reads the
// body only after writing the headers on a connection, so a body never
// read means nothing reached QFPay (the one failure after which the
// order guard lets a retry through).
func (t *Transport) send(r *http.Request, sig, appCode string) (*http.Response, error) {
	out, read := outgoing(r, sig, appCode)
	resp, err := t.inner.RoundTrip(out)
	if s, ok := r.Context().Value(signedKey{}).(*signed); ok && err != nil {
		s.t.notSent = !read.Load()
	}
	return resp, err
}

// outgoing is the copy of r that is sent, and the flag that turns true
// once its body (or a rewound copy of it) is read.
func outgoing(r *http.Request, sig, appCode string) (*http.Request, *atomic.Bool) {
	out := r.WithContext(context.WithoutCancel(r.Context()))
	out.Header = maps.Clone(r.Header) // shallow: only whole values are replaced below
	out.Header[headerSign] = []string{sig}
	if appCode != "" {
		out.Header[headerAppCode] = []string{appCode}
	}
	read := new(atomic.Bool)
	if out.Body == nil || out.Body == http.NoBody {
		read.Store(true) // no body to tell by: assume it may have been sent
		return out, read
	}
	out.Body = &readMarker{ReadCloser: out.Body, read: read}
	// net/http may rewind through GetBody and send again; a rewound
	// body must mark the request as possibly sent just the same.
	if getBody := r.GetBody; getBody != nil {
		out.GetBody = func() (io.ReadCloser, error) {
			b, err := getBody()
			if err != nil {
				return nil, err
			}
			return &readMarker{ReadCloser: b, read: read}, nil
		}
	}
	return out, read
}

// readMarker records that the transport started sending the body; the
// transport reads it on its own goroutine, hence the atomic.
type readMarker struct {
	io.ReadCloser
	read *atomic.Bool
}

func (m *readMarker) Read(p []byte) (int, error) {
	m.read.Store(true)
	return m.ReadCloser.Read(p)
}

// signed carries the transaction from qfpay_sign to the transport
// through the request context, which no placeholder can reach.
type signed struct {
	t *txn
	h *SignHandler
}

type signedKey struct{}

// RequestHeaderOps sets Host to QFPay's host for TLS upstreams.
func (t *Transport) RequestHeaderOps() *headers.HeaderOps { return t.inner.RequestHeaderOps() }

// Cleanup closes idle connections.
func (t *Transport) Cleanup() error {
	if t.inner == nil {
		return nil
	}
	return t.inner.Cleanup()
}

// Interface guards.
var (
	_ caddy.Provisioner                      = (*Transport)(nil)
	_ caddy.CleanerUpper                     = (*Transport)(nil)
	_ http.RoundTripper                      = (*Transport)(nil)
	_ reverseproxy.RequestHeaderOpsTransport = (*Transport)(nil)
)
