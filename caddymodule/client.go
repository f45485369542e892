package caddymodule

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/qfsign/qfsign/exchange"
)

// Client is the gateway's own HTTP client to QFPay: one pinned host, a
// keep-alive pool, one attempt per request. TLS is on or off by the
// qfpay app's environment, so one config serves the embedded double
// (http) and QFPay (https) alike.
type Client struct {
	// DialTimeout bounds connecting to QFPay (TLS handshake included).
	// Default: 5s. A dial failure is the only failure after which a
	// payment may be sent again.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`
	// ResponseHeaderTimeout bounds the wait for QFPay's answer once the
	// request is sent. Default: 30s. Past it the outcome is unknown:
	// query, never resend.
	ResponseHeaderTimeout caddy.Duration `json:"response_header_timeout,omitempty"`
	// ForwardProxyURL sends through a corporate egress proxy
	// (http://host:port; CONNECT for https). Default: none, and then
	// HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment apply
	// (never to loopback).
	ForwardProxyURL string `json:"forward_proxy_url,omitempty"`

	transport *http.Transport
}

const (
	defaultDialTimeout           = 5 * time.Second
	defaultResponseHeaderTimeout = 30 * time.Second
	// answerReadTimeout bounds reading QFPay's answer body after its headers.
	answerReadTimeout = 10 * time.Second
	// maxIdleConns is the keep-alive pool: the connections a busy
	// sidecar keeps open to QFPay (QFPay itself allows 100 requests/s).
	maxIdleConns = 64
	// idleConnTimeout closes a pooled connection before a server or load
	// balancer would (60s is common): a payment written to a connection
	// the far side is closing has an unknown outcome.
	idleConnTimeout = 30 * time.Second
	// maxAnswer bounds QFPay's answer; its largest documented answers are
	// a few KiB. A larger one is no outcome: 502 upstream_answer, the
	// order stays unknown and is resolved by query, never resent.
	maxAnswer = 1 << 20
)

func (c *Client) validate() error {
	if c.DialTimeout < 0 || c.ResponseHeaderTimeout < 0 {
		return errors.New("qfpay_gateway: dial_timeout and response_header_timeout must be positive")
	}
	return nil
}

// sender builds the transport to upstream and returns the send
// function the exchange uses. HTTP/1.1 only: Go's HTTP/2 client retries
// a request on a new connection by itself after GOAWAY or REFUSED_STREAM,
// out of the gateway's sight; with HTTP/1.1 and a body without GetBody,
// net/http never sends a request twice. No transparent compression: the
// request then carries no header the gateway did not choose.
func (c *Client) sender(upstream *url.URL) (exchange.Send, error) {
	if c.DialTimeout == 0 {
		c.DialTimeout = caddy.Duration(defaultDialTimeout)
	}
	if c.ResponseHeaderTimeout == 0 {
		c.ResponseHeaderTimeout = caddy.Duration(defaultResponseHeaderTimeout)
	}
	proxy := http.ProxyFromEnvironment
	if c.ForwardProxyURL != "" {
		raw := caddy.NewReplacer().ReplaceAll(c.ForwardProxyURL, "")
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("forward_proxy_url: want http(s)://host:port")
		}
		proxy = http.ProxyURL(u)
	}
	dial := time.Duration(c.DialTimeout)
	c.transport = &http.Transport{
		Proxy:                 proxy,
		DialContext:           (&net.Dialer{Timeout: dial, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   dial,
		TLSNextProto:          map[string]func(string, *tls.Conn) http.RoundTripper{}, // no HTTP/2
		ResponseHeaderTimeout: time.Duration(c.ResponseHeaderTimeout),
		DisableCompression:    true,
		MaxIdleConns:          maxIdleConns,
		MaxIdleConnsPerHost:   maxIdleConns,
		IdleConnTimeout:       idleConnTimeout,
	}
	s := &sender{rt: c.transport, base: upstream, host: hostHeader(upstream),
		timeout: dial + time.Duration(c.ResponseHeaderTimeout) + answerReadTimeout}
	return s.send, nil
}

func (c *Client) close() {
	if c.transport != nil {
		c.transport.CloseIdleConnections()
	}
}

// sender sends built requests to the pinned upstream.
type sender struct {
	rt      http.RoundTripper
	base    *url.URL
	host    string
	timeout time.Duration // one exchange, dial to the answer's last byte
}

// send sends req once and reads the whole answer. It uses the
// transport, not an http.Client: a redirect is QFPay's answer, not an
// invitation to send the payment elsewhere.
func (s *sender) send(ctx context.Context, req *exchange.Request) (*exchange.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.rt.RoundTrip(outgoing(ctx, s.base, s.host, req))
	if err != nil {
		if dialFailed(err) {
			return nil, fmt.Errorf("%w: %w", exchange.ErrNotSent, err)
		}
		return nil, err
	}
	body, err := readAnswer(resp)
	if err != nil {
		return nil, err
	}
	return &exchange.Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// dialFailed reports whether err is a failure to connect (directly or
// to the egress proxy): then not a byte of the request left.
func dialFailed(err error) bool {
	for {
		op, ok := errors.AsType[*net.OpError](err)
		if !ok {
			return false
		}
		if op.Op == "dial" {
			return true
		}
		err = op.Err // "proxyconnect" wraps the dial to the proxy
	}
}

// Header values shared by every request; net/http only reads them.
var (
	userAgentHeader = []string{userAgent()}
	formHeader      = []string{"application/x-www-form-urlencoded"}
)

// outgoing builds the request QFPay receives from req alone: method,
// pinned URL, the signed bytes, and QFPay's headers. Nothing of the
// caller's request is copied (no Cookie, Authorization, Forwarded,
// X-Forwarded-*, Idempotency-Key, Host). It has no GetBody, so net/http
// never sends it twice.
func outgoing(ctx context.Context, base *url.URL, host string, req *exchange.Request) *http.Request {
	hdr := make(http.Header, 5)
	vals := []string{req.AppCode, req.Sig, req.SignType}
	hdr[headerAppCode], hdr[headerSign] = vals[0:1:1], vals[1:2:2]
	hdr["User-Agent"] = userAgentHeader
	if req.SignType != "" {
		hdr[headerSignType] = vals[2:3:3]
	}
	out := http.Request{
		Method: req.Method, URL: &url.URL{Scheme: base.Scheme, Host: base.Host, Path: req.Path, RawQuery: req.Query},
		Host: host, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: hdr, Body: http.NoBody,
	}
	if req.Method != http.MethodGet {
		switch req.ContentType {
		case "":
		case formHeader[0]:
			hdr["Content-Type"] = formHeader
		default:
			hdr["Content-Type"] = []string{req.ContentType}
		}
		if len(req.Body) > 0 {
			b := new(sentBody)
			b.Reset(req.Body)
			out.ContentLength, out.Body = int64(len(req.Body)), b
		}
	}
	return out.WithContext(ctx)
}

// sentBody is the signed form as a request body.
type sentBody struct{ bytes.Reader }

func (*sentBody) Close() error { return nil }

// readAnswer reads QFPay's whole answer, up to maxAnswer: a body too
// large or cut short is an error before any byte reaches the caller.
func readAnswer(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > maxAnswer {
		return nil, exchange.ErrAnswerTooLarge
	}
	var body []byte
	var err error
	if n := resp.ContentLength; n >= 0 {
		body = make([]byte, n)
		_, err = io.ReadFull(resp.Body, body)
	} else {
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	}
	if err != nil {
		return nil, fmt.Errorf("reading QFPay's answer: %w", err)
	}
	if len(body) > maxAnswer {
		return nil, exchange.ErrAnswerTooLarge
	}
	return body, nil
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
