package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/qfsign/qfsign/store"
)

// The order guard. QFPay requires out_trade_no to be unique per merchant
// across payments and refunds, forever, and says "query, never resend"
// when an outcome is pending or unknown. So the first request for an
// out_trade_no claims it in the store (atomically, shared by replicas);
// the outcome is recorded; later requests with the same out_trade_no are
// answered from the record, by a query, or refused, and never resent.

// Rules of the refusals the exchange gives.
const (
	RuleInProgress        = "in_progress"
	RuleReused            = "reused"
	RuleStore             = "store"
	RuleOutcomeUnknown    = "outcome_unknown"
	RuleNotAtQFPay        = "not_at_qfpay"
	RuleUnreachable       = "upstream_unreachable"
	RuleUpstreamAnswer    = "upstream_answer"
	RuleResponseSignature = "response_signature"
)

// Refusal is the gateway's own answer instead of QFPay's.
type Refusal struct {
	Status int
	Field  string
	Rule   string
	Error  string
	// RetryAfter, in seconds, is when asking again can get another
	// answer (a Retry-After header); 0 for none.
	RetryAfter int
}

// Action is what the guard decided.
type Action int

const (
	Forward Action = iota // send it (claimed, or not guarded)
	Replay                // answer from the record: QFPay's final answer
	Resolve               // the outcome is unknown: answer by query, never resend
	Refuse                // answer with Refusal; nothing is sent
)

// Decision is the guard's answer for one request.
type Decision struct {
	Action  Action
	Record  Record // for Replay
	Refusal *Refusal
}

// Guard claims t's out_trade_no when its endpoint requires a unique one,
// or says how to answer instead. t must carry Endpoint and Params: the
// order's hash is over the caller's fields (Sign adds any app code).
func (x *Exchange) Guard(ctx context.Context, t *Txn) Decision {
	if !t.Endpoint.UniqueOrder {
		return Decision{}
	}
	otn, _ := t.Params.Get("out_trade_no")
	t.OrderKey = "order:" + x.Merchant + ":" + otn
	t.OrderHash = OrderHash(t.Endpoint.Path, t.Params)
	now := x.Clock.Now()
	rec := Record{State: StateInFlight, Hash: t.OrderHash, At: now.Unix()}
	claimed, err := x.Store.Claim(ctx, t.OrderKey, rec.Encode(), x.OrderTTL)
	if err != nil {
		return x.storeFailed(t, "claim", err)
	}
	if claimed {
		t.Guarded, t.Order = true, "new"
		return Decision{}
	}
	raw, found, err := x.Store.Get(ctx, t.OrderKey)
	if err != nil {
		return x.storeFailed(t, "get", err)
	}
	prev, ok := DecodeRecord(raw)
	switch {
	case !found || !ok:
		// Expired between Claim and Get, or unreadable: refuse, do not guess.
		return refuse(inProgressFor(time.Second))
	case prev.Hash != t.OrderHash:
		return refuse(reused)
	case prev.State == StateDone:
		t.Order = "replayed"
		return Decision{Action: Replay, Record: prev}
	case prev.State == StateInFlight && now.Sub(time.Unix(prev.At, 0)) < inflightMax+x.ResolveWait:
		// The answer is due within inflightMax+ResolveWait of the claim;
		// after that the claim is taken as its gateway's, dead, and the
		// order is answered by query.
		return refuse(inProgressFor(time.Unix(prev.At, 0).Add(inflightMax + x.ResolveWait).Sub(now)))
	}
	t.Guarded, t.Order, t.ClaimedAt = true, "resolved_by_query", time.Unix(prev.At, 0)
	return Decision{Action: Resolve, Record: prev}
}

// inProgressFor refuses a request whose out_trade_no is in flight; the
// earlier request's answer is due within wait.
func inProgressFor(wait time.Duration) *Refusal {
	s := RetryAfterSeconds(wait)
	return &Refusal{Status: http.StatusConflict, Field: "out_trade_no", Rule: RuleInProgress, RetryAfter: s,
		Error: fmt.Sprintf("a request with this out_trade_no is in progress; its answer is due within %d s: send the same request again after that (Retry-After), never with a new out_trade_no before it", s)}
}

// RetryAfterSeconds rounds d up to whole seconds, at least 1: a
// Retry-After value.
func RetryAfterSeconds(d time.Duration) int { return max(1, int((d+time.Second-1)/time.Second)) }

var (
	reused = &Refusal{Status: http.StatusConflict, Field: "out_trade_no", Rule: RuleReused,
		Error: "this out_trade_no was already used with other parameters; QFPay requires a new one for every payment and refund"}
	storeDown = &Refusal{Status: http.StatusServiceUnavailable, Rule: RuleStore,
		Error: "the order store is unavailable; nothing was sent to QFPay"}
	storeFull = &Refusal{Status: http.StatusServiceUnavailable, Rule: RuleStore,
		Error: "the order store is full (the memory store's entry bound, or the file store's max_bytes); records free up as they expire; nothing was sent to QFPay"}
)

func refuse(rf *Refusal) Decision { return Decision{Action: Refuse, Refusal: rf} }

// storeFailed fails closed unless the operator chose on_store_error allow.
func (x *Exchange) storeFailed(t *Txn, op string, err error) Decision {
	x.Events.StoreError(op)
	if x.AllowUnguarded {
		t.Order = "unguarded"
		x.Logger.Warn("state store unavailable; forwarding without the out_trade_no guard (on_store_error allow)", zap.Error(err))
		return Decision{}
	}
	x.Logger.Error("state store unavailable; refusing (on_store_error refuse)", zap.Error(err))
	if errors.Is(err, store.ErrFull) {
		return refuse(storeFull)
	}
	return refuse(storeDown)
}

// Release undoes a claim for a request that never left the gateway.
func (x *Exchange) Release(ctx context.Context, t *Txn) {
	if t.Guarded {
		_ = x.Store.Delete(context.WithoutCancel(ctx), t.OrderKey)
	}
}

// Record stores res's outcome for t's out_trade_no. It runs detached
// from the caller: an application that hung up must not leave an order
// in limbo.
func (x *Exchange) Record(ctx context.Context, t *Txn, res *Result) {
	if !t.Guarded || res.Outcome == Keep {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	var err error
	switch res.Outcome {
	case Retryable:
		err = x.Store.Delete(ctx, t.OrderKey)
	case Unknown:
		err = x.put(ctx, t, Record{State: StateUnknown})
	case Final:
		err = x.put(ctx, t, Record{State: StateDone, Status: res.Status, Type: res.Header.Get("Content-Type"), Body: string(res.Body)})
	}
	if err != nil {
		x.Events.StoreError("record")
		x.Logger.Error("order outcome not recorded; the out_trade_no stays in flight until resolved by query",
			zap.String("order_key", t.OrderKey), zap.Error(err))
	}
}

func (x *Exchange) put(ctx context.Context, t *Txn, rec Record) error {
	rec.Hash, rec.At = t.OrderHash, x.Clock.Now().Unix()
	// Deferred: the answer does not wait for the disk (store.Deferrer).
	return store.PutDeferred(ctx, x.Store, t.OrderKey, rec.Encode(), x.OrderTTL)
}
