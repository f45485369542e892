package caddymodule

import (
	"bytes"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/qfsign/qfsign/signer"
)

// upstreamResult is QFPay's answer, buffered, or why there is none.
type upstreamResult struct {
	status   int
	header   http.Header
	body     []byte
	err      error
	notSent  bool // the request provably never left (dial failure)
	resolved bool // body comes from a query
	ans      *qfpayAnswer
}

// answer parses the body once for every reader.
func (u *upstreamResult) answer() *qfpayAnswer {
	if u.ans == nil {
		a := qfpayAnswer{}
		if u.err == nil {
			a = parseAnswer(u.body)
		}
		u.ans = &a
	}
	return u.ans
}

func (u *upstreamResult) respcd() string { return u.answer().Respcd }

// pending: QFPay may hold the order without a final answer for it.
func (u *upstreamResult) pending() bool {
	if u.err != nil {
		return !u.notSent
	}
	return signer.ClassifyRespcd(u.respcd()) == signer.ClassPending
}

// serveBuffered holds QFPay's answer so that it can be checked (verify
// enforce), resolved by query (resolve_pending) and recorded (the order
// guard) before any byte reaches the caller.
func (h *SignHandler) serveBuffered(cw *captureWriter, r *http.Request, next caddyhttp.Handler, t *txn) {
	var buf bytes.Buffer
	rec := caddyhttp.NewResponseRecorder(cw, &buf, func(int, http.Header) bool { return true })
	err := next.ServeHTTP(rec, r)
	res := &upstreamResult{status: rec.Status(), header: cw.Header(), body: buf.Bytes(), err: err, notSent: t.notSent}
	t.upErr = err
	// log and enforce both check (and count); only enforce refuses.
	verifies := err != nil || h.VerifyResponse == "" || h.VerifyResponse == verifyOff || h.checkResponse(cw.Header(), res.body, false)
	if !verifies && h.VerifyResponse == verifyEnforce {
		// An answer we cannot trust is no outcome: keep the order unknown.
		h.guardFinish(r.Context(), t, &upstreamResult{status: http.StatusBadGateway})
		clearHeader(cw.Header())
		(&refusal{Status: http.StatusBadGateway, Error: "QFPay's response signature does not verify", Rule: ruleResponseSignature}).write(cw)
		return
	}
	if t.guarded && h.ResolvePending != nil && res.pending() {
		var base []byte
		if err == nil {
			base = res.body
		}
		if body, _, qerr := h.resolve(r.Context(), t, base); qerr == nil {
			res = &upstreamResult{status: http.StatusOK, body: body, resolved: true}
		}
	}
	h.guardFinish(r.Context(), t, res)
	h.writeResult(cw, res)
	if res.err == nil {
		t.ans = res.answer() // what the caller got; the log line reads it
	}
}

func (h *SignHandler) writeResult(cw *captureWriter, res *upstreamResult) {
	switch {
	case errors.Is(res.err, errAnswerTooLarge):
		(&refusal{Status: http.StatusBadGateway, Rule: ruleUpstreamAnswer,
			Error: "QFPay's answer is larger than 1 MiB and was not read; the outcome is unknown. Send the same request again: the gateway will query QFPay, never resend"}).write(cw)
	case res.err != nil && res.notSent:
		(&refusal{Status: http.StatusBadGateway, Rule: ruleUnreachable,
			Error: "QFPay could not be reached; nothing was sent"}).write(cw)
	case res.err != nil:
		(&refusal{Status: http.StatusBadGateway, Rule: ruleOutcomeUnknown,
			Error: "QFPay did not answer; the outcome is unknown. Send the same request again: the gateway will query QFPay, never resend"}).write(cw)
	case res.resolved:
		clearHeader(cw.Header())
		writeRecorded(cw, res.status, "application/json", res.body, headerResolved, "query")
	default:
		cw.WriteHeader(res.status)
		_, _ = cw.Write(res.body)
	}
}

// answerByQuery answers a retry of an order whose outcome is unknown:
// from QFPay's record of it, never by sending it again.
func (h *SignHandler) answerByQuery(cw *captureWriter, r *http.Request, t *txn) {
	body, _, err := h.resolve(r.Context(), t, nil)
	if err != nil {
		t.upErr = err
		(&refusal{Status: http.StatusBadGateway, Field: "out_trade_no", Rule: ruleOutcomeUnknown,
			Error: "the outcome of the earlier request with this out_trade_no is unknown and QFPay shows no final record of it yet; ask again later"}).write(cw)
		return
	}
	res := &upstreamResult{status: http.StatusOK, body: body, resolved: true}
	h.guardFinish(r.Context(), t, res)
	h.writeResult(cw, res)
}

func clearHeader(h http.Header) {
	for k := range h {
		delete(h, k)
	}
}
