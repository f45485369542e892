package caddymodule

import (
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/signer"
)

// Answer headers that say where an answer came from.
const (
	headerReplayed = "X-Qfsign-Replayed" // from the order's record
	headerResolved = "X-Qfsign-Resolved" // from QFPay's /trade/v1/query
)

// txn is one request's state: the exchange's, and what the log line
// and metrics add.
type txn struct {
	exchange.Txn
	start    time.Time
	validate time.Duration
	sign     time.Duration
	upstream time.Duration // sending to QFPay's answer, queries included
	refusal  *refusal
	unknown  unknownFields // for the log line
}

// ServeHTTP implements caddyhttp.MiddlewareHandler. It is terminal: the
// gateway answers every request itself, and next is never called.
func (h *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if h.Mode == modeObserve {
		return h.serveObserve(w, r)
	}
	h.markEnvironment(w)
	t := &txn{start: time.Now()}
	if rf := h.listenerRateLimit(r); rf != nil {
		return h.refuse(w, r, t, rf)
	}
	ctx := r.Context()
	// read -> validate and normalise
	if rf := h.prepare(r, t); rf != nil {
		return h.refuse(w, r, t, rf)
	}
	// order guard, then the merchant's rate limit
	d := h.x.Guard(ctx, &t.Txn)
	switch d.Action {
	case exchange.Refuse:
		return h.refuse(w, r, t, fromExchange(d.Refusal))
	case exchange.Replay:
		return h.replay(w, r, t, &d.Record)
	case exchange.Forward:
		if rf := h.rateLimit(ctx); rf != nil {
			h.x.Release(ctx, &t.Txn)
			return h.refuse(w, r, t, rf)
		}
	}
	// sign -> send -> classify (or, for an unknown outcome, query)
	res := h.exchange(r, t, d.Action)
	// record -> answer -> log
	h.x.Record(ctx, &t.Txn, res)
	status := answer(w, res)
	h.logTransaction(r, t, res, status)
	return nil
}

// prepare reads the application's request, validates and normalises its
// fields with the merchant's current credentials, or says why not.
// Nothing is sent when it returns a refusal.
func (h *Gateway) prepare(r *http.Request, t *txn) *refusal {
	ep, rf := h.route(r)
	if rf != nil {
		return rf
	}
	t.Endpoint = ep
	p, rf := h.readParams(r, ep)
	if rf != nil {
		return rf
	}
	t.unknown = findUnknown(ep, p)
	rf = h.unknownRefusal(ep, t.unknown)
	h.countUnknown(ep, t.unknown, rf != nil)
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
	t.Params, t.Creds = p, creds
	t.validate = time.Since(t.start)
	return nil
}

// exchange signs t, sends it once and classifies QFPay's answer; an
// order whose earlier outcome is unknown is answered by query instead,
// never sent again.
func (h *Gateway) exchange(r *http.Request, t *txn, act exchange.Action) *exchange.Result {
	ctx, start := r.Context(), time.Now()
	var res *exchange.Result
	if act == exchange.Resolve {
		res = h.x.AnswerByQuery(ctx, &t.Txn)
	} else {
		h.x.Sign(&t.Txn)
		t.sign = time.Since(start)
		res = h.x.Send(ctx, &t.Txn)
		h.x.Classify(ctx, &t.Txn, res)
	}
	t.upstream = time.Since(start) - t.sign
	return res
}

// validateParams validates the caller's fields. A variable, so that a
// test can make it fail in a way the signer never does today.
var validateParams = func(ep *signer.Endpoint, p signer.Params, pol *signer.Policy) (signer.Params, error) {
	return ep.Validate(p, pol)
}

// notPrepared fails closed on any error: a field error names the field
// and rule; anything else is the gateway's fault, logged, and still
// nothing is forwarded.
func (h *Gateway) notPrepared(err error) *refusal {
	if _, ok := signer.AsFieldError(err); ok {
		return formRefusal(err)
	}
	h.logger.Error("request not signed: unexpected error; nothing was sent", zap.String("merchant", h.Merchant), zap.Error(err))
	return &refusal{Status: http.StatusInternalServerError, Rule: ruleInternal,
		Error: "the gateway could not prepare this request; nothing was sent to QFPay"}
}

// refuse answers with the gateway's own JSON; nothing was sent.
func (h *Gateway) refuse(w http.ResponseWriter, r *http.Request, t *txn, rf *refusal) error {
	t.refusal = rf
	rf.write(w)
	h.logRefusal(r, t)
	return nil
}

// replay answers a repeated request from the order's record: QFPay's
// final answer, byte for byte.
func (h *Gateway) replay(w http.ResponseWriter, r *http.Request, t *txn, rec *exchange.Record) error {
	body := []byte(rec.Body)
	writeRecorded(w, rec.Status, rec.Type, body, headerReplayed, "true")
	res := &exchange.Result{Status: rec.Status, Body: body, Answer: exchange.DecodeAnswer(body)}
	h.logTransaction(r, t, res, rec.Status)
	return nil
}

// answer writes the result and returns the status written.
func answer(w http.ResponseWriter, res *exchange.Result) int {
	switch {
	case res.Refusal != nil:
		rf := fromExchange(res.Refusal)
		rf.write(w)
		return rf.Status
	case res.Resolved:
		writeRecorded(w, res.Status, "application/json", res.Body, headerResolved, "query")
		return res.Status
	}
	hd := w.Header()
	for k, v := range res.Header {
		if !hopByHop(k) {
			hd[k] = v
		}
	}
	hd["Content-Length"] = []string{strconv.Itoa(len(res.Body))}
	w.WriteHeader(res.Status)
	_, _ = w.Write(res.Body)
	return res.Status
}

// hopByHop names the headers of QFPay's connection, not its answer
// (RFC 9110 7.6.1), as reverse_proxy drops them.
func hopByHop(name string) bool {
	switch name {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
		"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Content-Length":
		return true
	}
	return false
}

// writeRecorded answers from a record, marking how it was obtained.
func writeRecorded(w http.ResponseWriter, status int, ctype string, body []byte, mark, value string) {
	hd := w.Header()
	if ctype == "" {
		ctype = "application/json"
	}
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	hd.Set(mark, value)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// markEnvironment labels every answer of the embedded double's gateway.
func (h *Gateway) markEnvironment(w http.ResponseWriter) {
	if h.app.embedded != nil {
		w.Header().Set(headerEnvironment, EnvEmbedded)
	}
}
