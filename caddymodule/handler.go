package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
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
	// Endpoints is the allow-list of paths signed. Default: every
	// endpoint the gateway knows (payment, query, refund, reversal,
	// close, add_note). Others get 404: never a signing oracle.
	Endpoints []string `json:"endpoints,omitempty"`
	// OrderTTL is how long an out_trade_no is remembered. Default 7 days;
	// QFPay's uniqueness is forever, so applications must still never
	// reuse one.
	OrderTTL caddy.Duration `json:"order_ttl,omitempty"`
	// OnStoreError is refuse (default: 503, nothing forwarded) or allow
	// (forward without the out_trade_no guard and rate limit).
	OnStoreError string `json:"on_store_error,omitempty"`
	// ResolvePending, when set, resolves pending payments (1143, 1145,
	// 1298, or no answer) by querying QFPay until final or MaxWait.
	// Default: off; the pending answer is passed on.
	ResolvePending *ResolvePending `json:"resolve_pending,omitempty"`
	// StrictEscapes refuses a '%' not followed by two hex digits (rule
	// escape). Default false: it is kept as a literal '%', as PHP and
	// Python read it ("50% off"), signed so, and escaped on the wire.
	StrictEscapes bool `json:"strict_escapes,omitempty"`
	// Mode is sign (default: validate, sign, forward the signed request)
	// or observe (for migration: forward the application's own signed
	// request unchanged, and log and count what sign mode would have
	// done; see docs/migration.md).
	Mode string `json:"mode,omitempty"`

	allowed map[string]bool
	metrics *sync.Map // seriesKey -> *handlerSeries; a pointer: CaddyModule copies the value
}

// ResolvePending tunes pending resolution.
type ResolvePending struct {
	// MaxWait bounds the caller's wait. Required.
	MaxWait caddy.Duration `json:"max_wait,omitempty"`
	// Interval between queries. Default 3s (QFPay asks for 3-5s).
	Interval caddy.Duration `json:"interval,omitempty"`
}

const (
	storeErrorRefuse = "refuse"
	storeErrorAllow  = "allow"
)

// CaddyModule returns the Caddy module information.
func (SignHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_sign",
		New: func() caddy.Module { return new(SignHandler) },
	}
}

// Provision looks up the merchant in the qfpay app and the endpoints.
func (h *SignHandler) Provision(ctx caddy.Context) error {
	if err := h.provision(ctx, "qfpay_sign"); err != nil {
		return err
	}
	return h.provisionEndpoints()
}

// provisionEndpoints builds the allow-list of signed paths (and the
// metric series cache).
func (h *SignHandler) provisionEndpoints() error {
	h.metrics = new(sync.Map)
	paths := h.Endpoints
	if len(paths) == 0 {
		paths = signer.EndpointPaths()
	}
	h.allowed = make(map[string]bool, len(paths))
	for _, p := range paths {
		if _, ok := signer.LookupEndpoint(p); !ok {
			return fmt.Errorf("qfpay_sign: endpoints: %q is not a QFPay endpoint the gateway can sign (%s)", p, strings.Join(signer.EndpointPaths(), ", "))
		}
		h.allowed[p] = true
	}
	return nil
}

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
	switch h.OnStoreError {
	case "", storeErrorRefuse, storeErrorAllow:
	default:
		return fmt.Errorf("qfpay_sign: on_store_error must be refuse or allow")
	}
	if h.Mode != "" && h.Mode != modeSign && h.Mode != modeObserve {
		return fmt.Errorf("qfpay_sign: mode must be sign or observe")
	}
	if rp := h.ResolvePending; rp != nil && (rp.MaxWait <= 0 || rp.Interval < 0) {
		return fmt.Errorf("qfpay_sign: resolve_pending: max_wait must be positive")
	}
	return nil
}

// txn is one transaction's state, carried to the log line.
type txn struct {
	start     time.Time
	ep        *signer.Endpoint
	params    signer.Params
	kid       string
	sig       string       // handed to the transport; never logged
	wire      []byte       // the signed bytes: the body, or the query for GET
	appCode   string       // the credentials' app_code, sent as X-QF-APPCODE
	mchid     string       // the credentials' mchid the params were validated with
	resent    bool         // re-signed after 1108 with a rotated key
	notSent   bool         // the transport proved the request never left
	observed  *observedReq // observe mode: the application's request, sent as it came
	validate  time.Duration
	sign      time.Duration
	refusal   *refusal
	upErr     error // upstream failure answered with our own JSON
	orderKey  string
	orderHash string
	guarded   bool         // this request holds the out_trade_no claim
	order     string       // new, replayed, resolved_by_query, unguarded
	queries   int          // /trade/v1/query calls made for this request
	ans       *qfpayAnswer // QFPay's answer as parsed, when buffered
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *SignHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.Mode == modeObserve {
		return h.serveObserve(w, r, next)
	}
	t := &txn{start: time.Now()}
	if h.app.embedded != nil {
		w = markEmbedded{&caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	}
	act, prev, rf := h.admit(r, t)
	if rf != nil {
		t.refusal = rf
		rf.write(w)
		h.logRefusal(r, t)
		return nil
	}
	cw := newCaptureWriter(w)
	switch act {
	case actReplay:
		writeRecorded(cw, prev.Status, prev.Type, []byte(prev.Body), headerReplayed, "true")
		h.logTransaction(r, t, cw, 0, nil)
		return nil
	case actResolve:
		up := time.Now()
		h.answerByQuery(cw, r, t)
		h.logTransaction(r, t, cw, time.Since(up), nil)
		return nil
	}
	r = r.WithContext(context.WithValue(r.Context(), signedKey{}, &signed{t: t, h: h}))
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("qfpay.upstream", h.app.upstream.Host)
	repl.Set("qfpay.merchant", h.Merchant)
	up := time.Now()
	var err error
	switch {
	case t.guarded || h.VerifyResponse == verifyEnforce:
		h.serveBuffered(cw, r, next, t)
	case h.VerifyResponse == verifyLog:
		err = next.ServeHTTP(cw, r)
		h.checkResponse(cw.Header(), cw.buf, cw.truncated)
	default:
		err = next.ServeHTTP(cw, r)
	}
	h.logTransaction(r, t, cw, time.Since(up), err)
	return err
}

// admit signs the request and applies the order guard and rate limit;
// it returns how to answer, or why not to forward anything.
func (h *SignHandler) admit(r *http.Request, t *txn) (guardAction, *orderRecord, *refusal) {
	if rf := h.prepare(r, t); rf != nil {
		return actForward, nil, rf
	}
	var act guardAction
	var prev *orderRecord
	var rf *refusal
	if t.ep.UniqueOrder {
		if act, prev, rf = h.guardBegin(r.Context(), t); rf != nil || act != actForward {
			return act, prev, rf
		}
	}
	if rf := h.rateLimit(r.Context()); rf != nil {
		h.release(r.Context(), t)
		return actForward, nil, rf
	}
	return actForward, nil, nil
}

// prepare turns the application's request into the signed one, or
// returns why not. Nothing is forwarded when it returns a refusal.
func (h *SignHandler) prepare(r *http.Request, t *txn) *refusal {
	stripQFHeaders(r.Header, "X-Qf-", "X-Qfsign-")
	ep, rf := h.route(r)
	if rf != nil {
		return rf
	}
	t.ep = ep
	p, rf := h.readParams(r, ep)
	if rf != nil {
		return rf
	}
	creds, err := h.m.credentials()
	if err != nil {
		return keyUnavailable(err)
	}
	pol := h.m.policy
	pol.MchID = creds.MchID
	if p, err = validateParams(ep, p, &pol); err != nil {
		return h.notPrepared(err)
	}
	t.params = p
	t.validate = time.Since(t.start)
	h.signInto(r, t, creds)
	t.sign = time.Since(t.start) - t.validate
	return nil
}

// validateParams validates the caller's fields. A variable, so that a
// test can make it fail in a way the signer never does today.
var validateParams = func(ep *signer.Endpoint, p signer.Params, pol *signer.Policy) (signer.Params, error) {
	return ep.Validate(p, pol)
}

// notPrepared fails closed on any error: a field error names the field
// and rule; anything else is the gateway's fault, logged, and still
// nothing is forwarded.
func (h *SignHandler) notPrepared(err error) *refusal {
	if _, ok := signer.AsFieldError(err); ok {
		return formRefusal(err)
	}
	h.logger.Error("request not signed: unexpected error; nothing was sent", zap.String("merchant", h.Merchant), zap.Error(err))
	return &refusal{Status: http.StatusInternalServerError, Rule: ruleInternal,
		Error: "the gateway could not prepare this request; nothing was sent to QFPay"}
}

// signInto signs t.params with creds and puts exactly the signed bytes
// on r (for a plain reverse_proxy) and on t (the qfpay transport builds
// QFPay's request from t alone).
func (h *SignHandler) signInto(r *http.Request, t *txn, creds *keys.Credentials) {
	h.sign(t, creds)
	if t.ep.Method != http.MethodGet {
		setSigned(r, t.wire, creds.AppCode, t.sig, h.m.signType)
		return
	}
	r.URL.RawQuery = string(t.wire)
	setSignedHeaders(r, creds.AppCode, t.sig, h.m.signType)
	r.Body, r.ContentLength, r.GetBody = http.NoBody, 0, nil
	r.Header.Del("Content-Type")
}

// sign signs t.params with creds into t: signature and wire bytes.
func (h *SignHandler) sign(t *txn, creds *keys.Credentials) {
	t.params = t.ep.WithAppCode(t.params, creds.AppCode)
	t.kid, t.mchid, t.appCode = creds.KID(), creds.MchID, creds.AppCode
	t.sig = signer.Sign(t.params, creds.Key, h.m.signType)
	t.wire = t.params.Encode()
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*SignHandler)(nil)
	_ caddy.Validator             = (*SignHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*SignHandler)(nil)
)
