package caddymodule

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/qfsign/qfsign/signer"
)

func init() {
	caddy.RegisterModule(SignHandler{})
}

// QFPay's headers, in Go's canonical form (names are case-insensitive).
const (
	headerAppCode  = "X-Qf-Appcode"
	headerSign     = "X-Qf-Sign"
	headerSignType = "X-Qf-Signtype"
)

// defaultMaxBody bounds an application's form; QFPay's largest payment
// form is a few KiB.
const defaultMaxBody = 64 << 10

// SignHandler validates, normalises and signs an application's unsigned
// QFPay request for one merchant, then calls the next handler (normally
// reverse_proxy to the pinned upstream) with the signed request.
type SignHandler struct {
	merchantRef
	// VerifyResponse checks a signature on QFPay's answer, when there is
	// one: off (default; the documented format is unproven), log (log
	// and count mismatches) or enforce (also answer 502 instead).
	VerifyResponse string `json:"verify_response,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (SignHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_sign",
		New: func() caddy.Module { return new(SignHandler) },
	}
}

// Provision looks up the merchant in the qfpay app.
func (h *SignHandler) Provision(ctx caddy.Context) error { return h.provision(ctx, "qfpay_sign") }

// Validate checks the static configuration.
func (h *SignHandler) Validate() error {
	if h.MaxBody < 0 {
		return fmt.Errorf("qfpay_sign: max_body must be positive")
	}
	switch h.VerifyResponse {
	case "", verifyOff, verifyLog, verifyEnforce:
	default:
		return fmt.Errorf("qfpay_sign: verify_response must be off, log or enforce")
	}
	return nil
}

// txn is one transaction's state, carried to the log line.
type txn struct {
	start    time.Time
	params   signer.Params
	kid      string
	sig      string // handed to the transport; never logged
	mchid    string // the credentials' mchid the params were validated with
	resent   bool   // re-signed after 1108 with a rotated key
	validate time.Duration
	sign     time.Duration
	refusal  *refusal
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *SignHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	t := &txn{start: time.Now()}
	if rf := h.prepare(r, t); rf != nil {
		t.refusal = rf
		rf.write(w)
		h.logRefusal(r, t)
		return nil
	}
	r = r.WithContext(context.WithValue(r.Context(), signedKey{}, &signed{t: t, h: h}))
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("qfpay.upstream", h.app.upstream.Host)
	repl.Set("qfpay.merchant", h.Merchant)
	cw := newCaptureWriter(w)
	up := time.Now()
	var err error
	switch h.VerifyResponse {
	case verifyEnforce:
		err = h.serveEnforced(cw, r, next)
	case verifyLog:
		err = next.ServeHTTP(cw, r)
		h.checkResponse(cw.Header(), cw.buf, cw.truncated)
	default:
		err = next.ServeHTTP(cw, r)
	}
	h.logTransaction(r, t, cw, time.Since(up), err)
	return err
}

// prepare turns the application's request into the signed one, or
// returns why not. Nothing is forwarded when it returns a refusal.
func (h *SignHandler) prepare(r *http.Request, t *txn) *refusal {
	stripQFHeaders(r.Header, "X-Qf-", "X-Qfsign-")
	ep, rf := h.route(r)
	if rf != nil {
		return rf
	}
	cs, rf := checkContentType(r.Header.Get("Content-Type"))
	if rf != nil {
		return rf
	}
	body, rf := readBody(r, h.MaxBody)
	if rf != nil {
		return rf
	}
	creds, err := h.m.credentials()
	if err != nil {
		return keyUnavailable(err)
	}
	p, err := signer.ParseForm(body, cs)
	if err == nil {
		pol := h.m.policy
		pol.MchID = creds.MchID
		p, err = ep.Validate(p, &pol)
	}
	if fe, ok := signer.AsFieldError(err); ok {
		return fromFieldError(http.StatusBadRequest, fe)
	}
	t.params, t.kid, t.mchid = p, creds.KID(), creds.MchID
	t.validate = time.Since(t.start)
	t.sig = signer.Sign(p, creds.Key, h.m.signType)
	setSigned(r, p.Encode(), creds.AppCode, t.sig, h.m.signType)
	t.sign = time.Since(t.start) - t.validate
	return nil
}

// route admits only the exact paths and methods the gateway signs for:
// it is never a signing oracle for arbitrary requests.
func (h *SignHandler) route(r *http.Request) (*signer.Endpoint, *refusal) {
	ep, ok := signer.LookupEndpoint(r.URL.Path)
	if !ok || r.URL.EscapedPath() != ep.Path {
		return nil, &refusal{Status: http.StatusNotFound, Error: "the gateway does not sign this path", Rule: rulePath}
	}
	if r.Method != ep.Method {
		return nil, &refusal{Status: http.StatusMethodNotAllowed, Error: "use " + ep.Method + " for this path", Rule: ruleMethod}
	}
	// QFPay may read query parameters too; they would be unsigned.
	if r.URL.RawQuery != "" {
		return nil, &refusal{Status: http.StatusBadRequest, Error: "send the fields in the form body, not the query string", Rule: ruleQueryString}
	}
	return ep, nil
}

func checkContentType(ct string) (*signer.Charset, *refusal) {
	unsupported := &refusal{Status: http.StatusUnsupportedMediaType,
		Error: "Content-Type must be application/x-www-form-urlencoded", Rule: ruleContentType}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, unsupported
	}
	cs, err := signer.LookupCharset(params["charset"])
	if fe, ok := signer.AsFieldError(err); ok {
		return nil, fromFieldError(http.StatusUnsupportedMediaType, fe)
	}
	return cs, nil
}

func readBody(r *http.Request, limit int64) ([]byte, *refusal) {
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, tooLarge(limit)
		}
		return nil, &refusal{Status: http.StatusBadRequest, Error: "the request body could not be read", Rule: ruleBodyRead}
	}
	return body, nil
}

func tooLarge(limit int64) *refusal {
	return &refusal{Status: http.StatusRequestEntityTooLarge,
		Error: "the body is larger than " + strconv.FormatInt(limit, 10) + " bytes", Rule: ruleBodyTooLarge}
}

// stripQFHeaders removes every header a caller sent under the given
// canonical prefixes: only the gateway speaks for the merchant.
func stripQFHeaders(h http.Header, prefixes ...string) {
	for name := range h {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				delete(h, name)
			}
		}
	}
}

// setSigned replaces the body with exactly the signed bytes.
func setSigned(r *http.Request, body []byte, appCode, sig string, st signer.SignType) {
	r.Header.Set(headerAppCode, appCode)
	r.Header.Set(headerSign, sig)
	if v := st.Header(); v != "" {
		r.Header.Set(headerSignType, v)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// The log reads QFPay's answer; let the transport handle compression.
	r.Header.Del("Accept-Encoding")
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*SignHandler)(nil)
	_ caddy.Validator             = (*SignHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*SignHandler)(nil)
)
