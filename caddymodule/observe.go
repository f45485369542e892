package caddymodule

import (
	"bytes"
	"crypto/subtle"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
)

// Modes of qfpay_gateway.
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
	unknown   unknownFields
}

// serveObserve sends the application's own signed request unchanged and
// records what sign mode would have done with it. It never puts the
// gateway's signature or app code on the request; as in sign mode, only
// the application's fields and QFPay's headers leave.
func (h *Gateway) serveObserve(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	o, req, rf := h.observe(r)
	if rf != nil {
		o.result, o.field, o.rule = observeRefused, rf.Field, rf.Rule
		rf.write(w)
		h.logObservation(r, o, rf.Status, "", start)
		return nil
	}
	res := h.x.Pass(r.Context(), req)
	status := answer(w, res)
	h.logObservation(r, o, status, res.Answer.Respcd, start)
	return nil
}

// observe admits the request as observe mode forwards it, or refuses it:
// only the signed paths and methods, only the application's own QFPay
// headers, only a request the application signed. Then it compares.
func (h *Gateway) observe(r *http.Request) (*observation, *exchange.Request, *refusal) {
	o := &observation{signature: "unchecked"}
	appCode, sig, st := r.Header.Get(headerAppCode), r.Header.Get(headerSign), r.Header.Get(headerSignType)
	ep, rf := h.route(r)
	if rf != nil {
		return o, nil, rf
	}
	o.ep = ep
	for _, hv := range []struct{ name, value string }{{"X-QF-SIGN", sig}, {"X-QF-APPCODE", appCode}} {
		if strings.TrimSpace(hv.value) == "" {
			return o, nil, &refusal{Status: http.StatusBadRequest, Field: hv.name, Rule: signer.RuleRequired,
				Error: "observe mode forwards only requests the application signed itself"}
		}
	}
	body, rf := readBody(r, h.MaxBody)
	if rf != nil {
		return o, nil, rf
	}
	creds, err := h.m.credentials()
	if err != nil {
		return o, nil, keyUnavailable(err)
	}
	ctype := r.Header.Get("Content-Type")
	restoreBody(r, body)
	p, rf := h.readParams(r, ep)
	h.compare(o, p, rf, creds, appCode, sig, st)
	req := &exchange.Request{Method: r.Method, Path: ep.Path, Query: r.URL.RawQuery, Body: body,
		ContentType: ctype, AppCode: appCode, Sig: sig, SignType: st}
	return o, req, nil
}

// compare fills in what sign mode would do: refuse (rule), or sign
// with another app code or signature than the application's.
func (h *Gateway) compare(o *observation, p signer.Params, rf *refusal, creds *keys.Credentials, appCode, sig, st string) {
	if rf != nil {
		o.result, o.field, o.rule = observeWouldRefuse, rf.Field, rf.Rule
		return
	}
	// Sign mode signs with the merchant's sign_type, whatever the
	// application declared. QFPay verifies the fields as received.
	t := h.m.signType
	named := namesSignType(st, t)
	if named && signer.Verify(p, creds.Key, t, strings.TrimSpace(sig)) {
		o.signature = "match"
	} else {
		o.signature = "mismatch"
	}
	pol := h.m.policy
	pol.MchID = creds.MchID
	_, verr := o.ep.Validate(append(signer.Params(nil), p...), &pol)
	o.unknown = findUnknown(o.ep, p)
	urf := h.unknownRefusal(o.ep, o.unknown)
	h.countUnknown(o.ep, o.unknown, false) // observe forwards them
	switch {
	case verr != nil:
		o.result, o.rule = observeWouldRefuse, signer.RuleSyntax
		if fe, ok := signer.AsFieldError(verr); ok {
			o.field, o.rule = fe.Field, fe.Rule
		}
	case urf != nil:
		o.result, o.field, o.rule = observeWouldRefuse, urf.Field, urf.Rule
	case subtle.ConstantTimeCompare([]byte(strings.TrimSpace(appCode)), []byte(creds.AppCode)) != 1:
		o.result = observeAppCode
	case o.signature != "match":
		o.result = observeSignature
		if !named {
			o.field, o.rule = "X-QF-SIGNTYPE", ruleSignType
		}
	default:
		o.result = observeMatch
	}
}

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
func (h *Gateway) logObservation(r *http.Request, o *observation, status int, respcd string, start time.Time) {
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
		zap.Strings("unknown_fields", o.unknown.names),
		zap.Int("unknown_count", o.unknown.count),
		zap.Duration("total", time.Since(start)),
	)
}
