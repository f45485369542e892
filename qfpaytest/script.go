package qfpaytest

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// pendingCodes are QFPay's "in progress, query later, never resend" codes.
var pendingCodes = set("1143", "1145", "1298")

// Outcome scripts QFPay's answer to one payment request, so that tests can
// reproduce its hard cases deterministically. The zero Outcome is the
// normal answer: a successful payment, answered at once.
//
// Respcd decides what QFPay did with the request. "" or "0000" records a
// successful payment; a pending code (1143, 1145, 1298) records a pending
// one; any other code (1102, 1108, 1294, ...) refuses the request and
// records nothing. A non-200 HTTPStatus refuses it too, before any
// processing, whatever Respcd says.
//
// A recorded payment is recorded before Delay, Hang or ResetConn takes
// effect: QFPay got the request and only its answer is late or lost. So a
// query finds the payment, and a resend of its out_trade_no gets 1102.
type Outcome struct {
	// OutTradeNo aims the outcome at the payment with this out_trade_no;
	// "" leaves it to the next payment of any out_trade_no.
	OutTradeNo string
	// Respcd is the answer's respcd, and the recorded payment's respcd.
	Respcd string
	// HTTPStatus other than 0 or 200 (429 rate limited, 500, ...) answers
	// with that status and a JSON body carrying Respcd, default 1100.
	HTTPStatus int
	// Delay holds the answer back; if the client gives up first, it gets
	// none.
	Delay time.Duration
	// Hang never answers: the request ends when the client gives up, or
	// when Server.Close (or Running.Close) drops the connection.
	Hang bool
	// ResetConn drops the TCP connection with a reset instead of answering
	// (after any Delay). Without a hijackable connection (HTTP/2, a
	// ResponseRecorder) the handler aborts with http.ErrAbortHandler.
	ResetConn bool
	// FinalAfterQueries is how many /trade/v1/query answers still report a
	// pending payment's Respcd; the next one reports FinalRespcd, for good.
	// 0 means final at the first query.
	FinalAfterQueries int
	// FinalRespcd is the pending payment's final respcd: "0000" (a success,
	// notified like any other when it turns final) or a failure code. ""
	// keeps the payment pending for good. Ignored unless Respcd is pending.
	FinalRespcd string
}

// Script queues outcomes for coming payment requests, first in, first out.
// An authenticated, well-formed payment request takes the first queued
// outcome naming its out_trade_no, else the first naming none; when there
// is neither, it is answered normally. Other endpoints are never scripted.
func (s *Server) Script(o ...Outcome) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.script = append(s.script, o...)
}

// takeLocked dequeues the outcome for a payment of outTradeNo, or returns
// the zero Outcome.
func (s *Server) takeLocked(outTradeNo string) Outcome {
	i := slices.IndexFunc(s.script, func(o Outcome) bool { return o.OutTradeNo == outTradeNo })
	if i < 0 {
		i = slices.IndexFunc(s.script, func(o Outcome) bool { return o.OutTradeNo == "" })
	}
	if i < 0 {
		return Outcome{}
	}
	o := s.script[i]
	s.script = slices.Delete(s.script, i, i+1)
	return o
}

func (o Outcome) status() int    { return cmp.Or(o.HTTPStatus, http.StatusOK) }
func (o Outcome) respcd() string { return cmp.Or(o.Respcd, "0000") }

// refused reports whether QFPay turns the request away without recording
// a payment.
func (o Outcome) refused() bool {
	return o.status() != http.StatusOK || (o.respcd() != "0000" && !pendingCodes[o.respcd()])
}

// refusal is the body of a refused request.
func (o Outcome) refusal() result {
	if o.status() != http.StatusOK {
		return failure(cmp.Or(o.Respcd, "1100"), http.StatusText(o.status()))
	}
	return fail(o.Respcd)
}

// initial is the state of a payment recorded under o.
func (o Outcome) initial() state {
	return state{respcd: o.respcd(), cancel: cancelNone, queries: max(o.FinalAfterQueries, 0), final: o.FinalRespcd}
}

// reply wraps v when o changes how, or whether, it is delivered.
func (o Outcome) reply(v any) any {
	if o.status() == http.StatusOK && o.Delay <= 0 && !o.Hang && !o.ResetConn {
		return v
	}
	return reply{body: v, o: o}
}

// observeLocked is one query seeing e: a pending payment reports its
// pending respcd for FinalAfterQueries queries, then turns final.
func (s *Server) observeLocked(e *entry) {
	if !pendingCodes[e.respcd] || e.final == "" {
		return
	}
	if e.queries > 0 {
		e.queries--
		return
	}
	e.respcd, e.final = e.final, ""
	if e.respcd == "0000" {
		e.paydtm = s.now().In(hkTime).Format(dtmLayout)
		_ = s.notifyLocked(*e, notifyPayment) // no URL set: nothing to send
	}
}
