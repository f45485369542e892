package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/qfsign/qfsign/signer"
)

// Outcome is what a result means for the order's record.
type Outcome int

const (
	Keep      Outcome = iota // leave the record as it is
	Retryable                // QFPay never took it, or said so: free the out_trade_no
	Unknown                  // may have reached QFPay: query, never resend
	Final                    // QFPay's final answer: replay it
)

// Result is how one exchange ended: QFPay's answer, or why there is
// none, and what it means.
type Result struct {
	Status int
	Header http.Header // QFPay's headers; nil for an answer from a query
	Body   []byte
	Answer Answer // decoded once from Body
	// Err: no answer. NotSent says it provably never left.
	Err     error
	NotSent bool
	// Resolved: Body is QFPay's record from /trade/v1/query.
	Resolved bool
	// Refusal, when set, is answered instead of Body.
	Refusal *Refusal
	Outcome Outcome
}

// respcdSignature is QFPay's "signature error": the request was refused
// before anything was charged, so sending it again is safe.
const respcdSignature = "1108"

// Send sends the signed t once. After a 1108 with a key that may have
// rotated, it is signed again with the new key and sent once more.
func (x *Exchange) Send(ctx context.Context, t *Txn) *Result {
	// Detached from the caller: an application hanging up must not cut a
	// payment in half. The sender bounds the exchange.
	ctx = context.WithoutCancel(ctx)
	res := x.sendOnce(ctx, x.request(t))
	if x.resign(t, res) {
		res = x.sendOnce(ctx, x.request(t))
	}
	return res
}

func (x *Exchange) sendOnce(ctx context.Context, req *Request) *Result {
	resp, err := x.Sender(ctx, req)
	if err != nil {
		return &Result{Err: err, NotSent: errors.Is(err, ErrNotSent)}
	}
	return &Result{Status: resp.Status, Header: resp.Header, Body: resp.Body, Answer: DecodeAnswer(resp.Body)}
}

// resign handles a 1108 for a merchant whose key can rotate: the key is
// fetched again (callers hitting 1108 together share one fetch); only if
// it changed, for the same mchid, is t signed again. It reports whether
// to send again.
func (x *Exchange) resign(t *Txn, res *Result) bool {
	if x.Refetch == nil || res.Err != nil || res.Status != http.StatusOK || res.Answer.Respcd != respcdSignature {
		return false
	}
	log := x.Logger.With(zap.String("merchant", x.Merchant), zap.String("old_kid", t.KID))
	creds, err := x.Refetch(t.KID)
	switch {
	case err != nil:
		log.Warn("QFPay answered 1108 and the key could not be fetched again", zap.Error(err))
		return false
	case creds.KID() == t.KID:
		log.Warn("QFPay answered 1108 with the current key: check the key in Vault")
		return false
	case creds.MchID != t.Creds.MchID:
		log.Warn("QFPay answered 1108; the rotated key has another mchid, not resending")
		return false
	}
	t.Creds = creds
	x.Sign(t)
	t.Resent = true
	log.Warn("QFPay answered 1108; signed again with the rotated key and resent once", zap.String("kid", t.KID))
	return true
}

var (
	responseSignature = &Refusal{Status: http.StatusBadGateway, Rule: RuleResponseSignature,
		Error: "QFPay's response signature does not verify"}
	answerTooLarge = &Refusal{Status: http.StatusBadGateway, Rule: RuleUpstreamAnswer,
		Error: "QFPay's answer is larger than 1 MiB and was not read; the outcome is unknown. Send the same request again: the gateway will query QFPay, never resend"}
	unreachable = &Refusal{Status: http.StatusBadGateway, Rule: RuleUnreachable,
		Error: "QFPay could not be reached; nothing was sent"}
	noAnswer = &Refusal{Status: http.StatusBadGateway, Rule: RuleOutcomeUnknown,
		Error: "QFPay did not answer; the outcome is unknown. Send the same request again: the gateway will query QFPay, never resend"}
	noRecord = &Refusal{Status: http.StatusBadGateway, Field: "out_trade_no", Rule: RuleOutcomeUnknown,
		Error: "the outcome of the earlier request with this out_trade_no is unknown and QFPay could not be asked; send the same request again later, never with a new out_trade_no"}
	notAtQFPay = &Refusal{Status: http.StatusNotFound, Field: "out_trade_no", Rule: RuleNotAtQFPay,
		Error: "QFPay has no record of this out_trade_no long after it was claimed: it was never charged. Pay again with a new out_trade_no"}
)

// notYetAtQFPay answers an unknown order QFPay has no record of yet:
// ask again when the grace period ends, then the answer is final.
func notYetAtQFPay(wait time.Duration) *Refusal {
	s := RetryAfterSeconds(wait)
	return &Refusal{Status: http.StatusBadGateway, Field: "out_trade_no", Rule: RuleOutcomeUnknown, RetryAfter: s,
		Error: fmt.Sprintf("the outcome of the earlier request with this out_trade_no is unknown and QFPay has no record of it yet; send the same request again after %d s (Retry-After): then QFPay's record, or 404 not_at_qfpay if it still has none. Never with a new out_trade_no before that", s)}
}

// Classify checks QFPay's answer (verify_response), resolves a pending
// one by query when configured, and decides what the result means for
// the order and what the caller gets.
func (x *Exchange) Classify(ctx context.Context, t *Txn, res *Result) {
	// log and enforce both check (and count); only enforce refuses.
	if res.Err == nil && x.Verify != nil && !x.Verify(&Response{Status: res.Status, Header: res.Header, Body: res.Body}) && x.Enforce {
		// An answer we cannot trust is no outcome: keep the order unknown.
		*res = Result{Status: http.StatusBadGateway, Refusal: responseSignature, Outcome: Unknown}
		return
	}
	if t.Guarded && x.ResolveWait > 0 && pending(res) {
		var base []byte
		if res.Err == nil {
			base = res.Body
		}
		if body, err := x.resolve(ctx, t, base); err == nil {
			*res = resolved(body)
		}
	}
	res.Outcome = outcome(res)
	res.Refusal = failure(res)
}

// Pass sends req, signed elsewhere (observe mode: by the application
// itself), once: no guard, no re-sign, no record.
func (x *Exchange) Pass(ctx context.Context, req *Request) *Result {
	res := x.sendOnce(context.WithoutCancel(ctx), req)
	res.Refusal = failure(res)
	return res
}

// failure is the caller's answer when QFPay's is missing, else nil.
func failure(res *Result) *Refusal {
	switch {
	case errors.Is(res.Err, ErrAnswerTooLarge):
		return answerTooLarge
	case res.Err != nil && res.NotSent:
		return unreachable
	case res.Err != nil:
		return noAnswer
	}
	return nil
}

// AnswerByQuery answers a retry of an order whose outcome is unknown:
// from QFPay's record of it, never by sending it again.
//
// QFPay having no record of the order is an answer too: before
// NotAtQFPayAfter from the claim, "ask again then"; after it, "never
// charged", counted as the pending result not_at_qfpay. Either way the
// order is never sent again and its record is kept. QFPay's query
// searches one calendar month (start_time/end_time): across a month
// boundary no row proves nothing, and the answer stays "ask again".
func (x *Exchange) AnswerByQuery(ctx context.Context, t *Txn) *Result {
	body, err := x.resolve(ctx, t, nil)
	if errors.Is(err, ErrNoRow) && !t.ClaimedAt.IsZero() && sameQFPayMonth(t.ClaimedAt, x.Clock.Now()) {
		if wait := t.ClaimedAt.Add(x.NotAtQFPayAfter).Sub(x.Clock.Now()); wait > 0 {
			return &Result{Err: err, Refusal: notYetAtQFPay(wait), Outcome: Keep}
		}
		x.Events.Pending(RuleNotAtQFPay)
		return &Result{Err: err, Refusal: notAtQFPay, Outcome: Keep}
	}
	if err != nil {
		return &Result{Err: err, Refusal: noRecord, Outcome: Keep}
	}
	res := resolved(body)
	res.Outcome = outcome(&res)
	return &res
}

func resolved(body []byte) Result {
	return Result{Status: http.StatusOK, Body: body, Resolved: true, Answer: DecodeAnswer(body)}
}

// pending: QFPay may hold the order without a final answer for it.
func pending(res *Result) bool {
	if res.Err != nil {
		return !res.NotSent
	}
	return signer.ClassifyRespcd(res.Answer.Respcd) == signer.ClassPending
}

// outcome classifies a result for the order's record.
func outcome(res *Result) Outcome {
	class := signer.ClassifyRespcd(res.Answer.Respcd)
	switch {
	case res.Err != nil && res.NotSent,
		res.Err == nil && (res.Status == http.StatusTooManyRequests || class == signer.ClassSignature || class == signer.ClassCongestion):
		return Retryable
	case res.Err != nil || res.Status >= 500 || class == signer.ClassPending || class == signer.ClassNone:
		return Unknown
	}
	return Final
}

// Class is the result's class for logs and metrics: QFPay's respcd
// class, or upstream_error when there was no answer.
func (res *Result) Class() string {
	if res.Err != nil {
		return "upstream_error"
	}
	return string(signer.ClassifyRespcd(res.Answer.Respcd))
}

// qfpayZone is QFPay's calendar (Hong Kong, UTC+8, no daylight saving).
var qfpayZone = time.FixedZone("HKT", 8*60*60)

// sameQFPayMonth reports whether a and b fall in one calendar month of
// QFPay's, the span its query searches.
func sameQFPayMonth(a, b time.Time) bool {
	a, b = a.In(qfpayZone), b.In(qfpayZone)
	return a.Year() == b.Year() && a.Month() == b.Month()
}
