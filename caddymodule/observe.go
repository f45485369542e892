package caddymodule

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
)

// Modes of qfpay_sign.
const (
	modeSign    = "sign"
	modeObserve = "observe"
)

// Results of an observed request, as counted in qfsign_observe_total.
const (
	observeMatch       = "match"              // sign mode would send the same signature and refuse nothing
	observeWouldRefuse = "would_refuse"       // sign mode would refuse it (field and rule logged)
	observeAppCode     = "appcode_mismatch"   // the application's X-QF-APPCODE is not the merchant's
	observeSignature   = "signature_mismatch" // another key, or other fields, than the gateway's
	observeRefused     = "refused"            // not forwarded even in observe mode
)

// observation is what observe mode learnt of one request; it never
// holds a value, only names and rules.
type observation struct {
	ep        *signer.Endpoint
	result    string
	signature string // match, mismatch, or unchecked (the form did not parse)
	field     string // of the refusal sign mode would give
	rule      string
}

// serveObserve forwards the application's own signed request unchanged
// and records what sign mode would have done with it. It never puts the
// gateway's signature or app code on the request: the transport sees no
// signed transaction and passes it as it is.
func (h *SignHandler) serveObserve(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	o, tx, rf := h.observe(r)
	if rf != nil {
		o.result, o.field, o.rule = observeRefused, rf.Field, rf.Rule
		rf.write(w)
		h.logObservation(r, o, rf.Status, "", start)
		return nil
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	repl.Set("qfpay.upstream", h.app.upstream.Host)
	repl.Set("qfpay.merchant", h.Merchant)
	// The transport builds QFPay's request from tx alone, as in sign
	// mode: only the application's fields and QFPay's headers leave.
	r = r.WithContext(context.WithValue(r.Context(), signedKey{}, &signed{t: tx, h: h}))
	cw := newCaptureWriter(w)
	err := next.ServeHTTP(cw, r)
	status := cw.status
	if err != nil {
		status = http.StatusBadGateway
	}
	h.logObservation(r, o, status, cw.answer().Respcd, start)
	return err
}

// observe admits the request as observe mode forwards it, or refuses it:
// only the signed paths and methods, only the application's own QFPay
// headers, only a request the application signed. Then it compares.
func (h *SignHandler) observe(r *http.Request) (*observation, *txn, *refusal) {
	o := &observation{signature: "unchecked"}
	appCode, sig, st := r.Header.Get(headerAppCode), r.Header.Get(headerSign), r.Header.Get(headerSignType)
	stripQFHeaders(r.Header, "X-Qf-", "X-Qfsign-")
	ep, rf := h.route(r)
	if rf != nil {
		return o, nil, rf
	}
	o.ep = ep
	for _, hv := range []struct{ canonical, name, value string }{
		{headerSign, "X-QF-SIGN", sig}, {headerAppCode, "X-QF-APPCODE", appCode},
	} {
		if strings.TrimSpace(hv.value) == "" {
			return o, nil, &refusal{Status: http.StatusBadRequest, Field: hv.name, Rule: signer.RuleRequired,
				Error: "observe mode forwards only requests the application signed itself"}
		}
		r.Header.Set(hv.canonical, hv.value)
	}
	if st != "" {
		r.Header.Set(headerSignType, st)
	}
	body, rf := readBody(r, h.MaxBody)
	if rf != nil {
		return o, nil, rf
	}
	creds, err := h.m.credentials()
	if err != nil {
		return o, nil, keyUnavailable(err)
	}
	restoreBody(r, body)
	p, rf := h.readParams(r, ep)
	restoreBody(r, body)
	h.compare(o, p, rf, creds, appCode, sig, st)
	wire := body
	if r.Method == http.MethodGet {
		wire = []byte(r.URL.RawQuery)
	}
	tx := &txn{ep: ep, wire: wire, sig: sig, appCode: appCode,
		observed: &observedReq{method: r.Method, contentType: r.Header.Get("Content-Type"), signType: st, query: r.URL.RawQuery}}
	return o, tx, nil
}

// compare fills in what sign mode would do: refuse (rule), or sign
// with another app code or signature than the application's.
func (h *SignHandler) compare(o *observation, p signer.Params, rf *refusal, creds *keys.Credentials, appCode, sig, st string) {
	if rf != nil {
		o.result, o.field, o.rule = observeWouldRefuse, rf.Field, rf.Rule
		return
	}
	t := signer.MD5
	if strings.EqualFold(strings.TrimSpace(st), "SHA256") {
		t = signer.SHA256
	}
	// QFPay verifies the fields as received, empty ones included.
	if signer.Verify(p, creds.Key, t, strings.TrimSpace(sig)) {
		o.signature = "match"
	} else {
		o.signature = "mismatch"
	}
	pol := h.m.policy
	pol.MchID = creds.MchID
	_, verr := o.ep.Validate(append(signer.Params(nil), p...), &pol)
	switch {
	case verr != nil:
		o.result, o.rule = observeWouldRefuse, signer.RuleSyntax
		if fe, ok := signer.AsFieldError(verr); ok {
			o.field, o.rule = fe.Field, fe.Rule
		}
	case subtle.ConstantTimeCompare([]byte(strings.TrimSpace(appCode)), []byte(creds.AppCode)) != 1:
		o.result = observeAppCode
	case o.signature != "match":
		o.result = observeSignature
	default:
		o.result = observeMatch
	}
}

// observedReq is the application's own signed request in observe mode:
// sent with its method, Content-Type, X-QF-SIGNTYPE and query string,
// never re-signed.
type observedReq struct{ method, contentType, signType, query string }

// restoreBody puts the exact bytes back for the next reader, with a
// known length; no body stays no body (a GET must not become chunked).
func restoreBody(r *http.Request, body []byte) {
	r.ContentLength, r.TransferEncoding = int64(len(body)), nil
	if len(body) == 0 {
		r.Body, r.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// logObservation writes one line and counts the result; the field is a
// name, not a value, and only known names become metric labels (the
// log carries the name as the refusal would).
func (h *SignHandler) logObservation(r *http.Request, o *observation, status int, respcd string, start time.Time) {
	observeTotal.WithLabelValues(h.Merchant, o.result).Inc()
	h.logger.Info("observed",
		zap.String("merchant", h.Merchant),
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
		zap.String("result", o.result),
		zap.String("signature", o.signature),
		zap.String("field", o.field),
		zap.String("rule", o.rule),
		zap.Int("status", status),
		zap.String("respcd", respcd),
		zap.Duration("total", time.Since(start)),
	)
}
