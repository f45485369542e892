package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

// The order guard. QFPay requires out_trade_no to be unique per merchant
// across payments and refunds, forever, and says "query, never resend"
// when an outcome is pending or unknown. So the first request for an
// out_trade_no claims it in the store (atomically, shared by replicas);
// the outcome is recorded; later requests with the same out_trade_no are
// answered from the record, by a query, or refused, and never resent.
const (
	orderDone    = "done"    // QFPay answered with a final outcome: replay it
	orderUnknown = "unknown" // may have reached QFPay: query, never resend

	ruleReused         = "reused"
	ruleOutcomeUnknown = "outcome_unknown"
	ruleUnreachable    = "upstream_unreachable"

	headerReplayed = "X-Qfsign-Replayed"
	headerResolved = "X-Qfsign-Resolved"

	defaultOrderTTL = 7 * 24 * time.Hour
	// inflightMax: an in-flight record older than this belongs to a
	// request that died with its gateway; it is resolved by query.
	inflightMax = 2 * time.Minute
)

// orderRecord is what the store keeps per (merchant, out_trade_no).
type orderRecord struct {
	State  string
	Hash   string
	At     int64 // Unix seconds
	Status int
	Type   string // Content-Type of Body
	Body   string // QFPay's answer, replayed byte for byte
}

// encode writes "1|state|hash|at|status|type|body": the body goes last
// and unescaped, so a record costs one allocation, not a JSON encoding.
func (o orderRecord) encode() string {
	typ := o.Type
	if strings.IndexByte(typ, '|') >= 0 {
		typ = ""
	}
	b := make([]byte, 0, 48+len(o.Hash)+len(typ)+len(o.Body))
	b = append(b, "1|"...)
	b = append(b, o.State...)
	b = append(b, '|')
	b = append(b, o.Hash...)
	b = append(b, '|')
	b = strconv.AppendInt(b, o.At, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(o.Status), 10)
	b = append(b, '|')
	b = append(b, typ...)
	b = append(b, '|')
	b = append(b, o.Body...)
	return string(b)
}

// decodeOrder reads encode's format; ok is false for anything else.
func decodeOrder(raw string) (o orderRecord, ok bool) {
	f := strings.SplitN(raw, "|", 7)
	if len(f) != 7 || f[0] != "1" {
		return o, false
	}
	at, err1 := strconv.ParseInt(f[3], 10, 64)
	status, err2 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil {
		return o, false
	}
	return orderRecord{State: f[1], Hash: f[2], At: at, Status: status, Type: f[5], Body: f[6]}, true
}

// orderHash identifies the order's content: path and normalised
// parameters. txdtm is left out: a retry legitimately carries a new time.
func orderHash(path string, p signer.Params) string {
	h := sha256.New()
	var sum [sha256.Size]byte
	var out [32]byte
	h.Write([]byte(path))
	for _, kv := range p {
		if kv.Name == "txdtm" {
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(kv.Name))
		h.Write([]byte{'='})
		h.Write([]byte(kv.Value))
	}
	hex.Encode(out[:], h.Sum(sum[:0])[:16])
	return string(out[:])
}

type guardAction int

const (
	actForward guardAction = iota
	actReplay
	actResolve
)

// guardBegin claims the order, or says how to answer instead.
func (h *SignHandler) guardBegin(ctx context.Context, t *txn) (guardAction, *orderRecord, *refusal) {
	otn, _ := t.params.Get("out_trade_no")
	t.orderKey = "order:" + h.Merchant + ":" + otn
	t.orderHash = orderHash(t.ep.Path, t.params)
	rec := orderRecord{State: stateInFlight, Hash: t.orderHash, At: time.Now().Unix()}
	claimed, err := h.app.store.Claim(ctx, t.orderKey, rec.encode(), h.orderTTL())
	if err != nil {
		return h.storeFailed(t, "claim", err)
	}
	if claimed {
		t.guarded, t.order = true, "new"
		return actForward, nil, nil
	}
	raw, found, err := h.app.store.Get(ctx, t.orderKey)
	if err != nil {
		return h.storeFailed(t, "get", err)
	}
	prev, ok := decodeOrder(raw)
	if !found || !ok {
		// Expired between Claim and Get, or unreadable: refuse, do not guess.
		return actForward, nil, inProgress()
	}
	if prev.Hash != t.orderHash {
		return actForward, nil, &refusal{Status: http.StatusConflict, Field: "out_trade_no", Rule: ruleReused,
			Error: "this out_trade_no was already used with other parameters; QFPay requires a new one for every payment and refund"}
	}
	switch {
	case prev.State == orderDone:
		t.order = "replayed"
		return actReplay, &prev, nil
	case prev.State == stateInFlight && time.Since(time.Unix(prev.At, 0)) < inflightMax+h.resolveWait():
		return actForward, nil, inProgress()
	}
	t.guarded, t.order = true, "resolved_by_query"
	return actResolve, &prev, nil
}

func inProgress() *refusal {
	return &refusal{Status: http.StatusConflict, Field: "out_trade_no", Rule: ruleInProgress,
		Error: "a request with this out_trade_no is in progress; wait for its answer"}
}

// storeFailed fails closed unless the operator chose on_store_error allow.
func (h *SignHandler) storeFailed(t *txn, op string, err error) (guardAction, *orderRecord, *refusal) {
	storeErrorsTotal.WithLabelValues(op).Inc()
	if h.OnStoreError == storeErrorAllow {
		t.order = "unguarded"
		h.logger.Warn("state store unavailable; forwarding without the out_trade_no guard (on_store_error allow)", zap.Error(err))
		return actForward, nil, nil
	}
	msg := "the order store is unavailable; nothing was sent to QFPay"
	if errors.Is(err, store.ErrFull) {
		msg = "the memory order store is full (live orders reached its bound); use store redis or a shorter order_ttl; nothing was sent to QFPay"
	}
	h.logger.Error("state store unavailable; refusing (on_store_error refuse)", zap.Error(err))
	return actForward, nil, &refusal{Status: http.StatusServiceUnavailable, Rule: ruleStore, Error: msg}
}

// guardFinish records what happened upstream. It runs detached from the
// caller: an application that hung up must not leave an order in limbo.
func (h *SignHandler) guardFinish(ctx context.Context, t *txn, res *upstreamResult) {
	if !t.guarded {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var err error
	switch class := signer.ClassifyRespcd(res.respcd()); {
	case res.err != nil && res.notSent,
		res.err == nil && (res.status == http.StatusTooManyRequests || class == signer.ClassSignature || class == signer.ClassCongestion):
		// QFPay never took it, or said so: the caller may try again.
		err = h.app.store.Delete(ctx, t.orderKey)
	case res.err != nil || res.status >= 500 || class == signer.ClassPending || class == signer.ClassNone:
		err = h.putOrder(ctx, t, orderRecord{State: orderUnknown})
	default:
		err = h.putOrder(ctx, t, orderRecord{State: orderDone, Status: res.status, Type: res.header.Get("Content-Type"), Body: string(res.body)})
	}
	if err != nil {
		storeErrorsTotal.WithLabelValues("record").Inc()
		h.logger.Error("order outcome not recorded; the out_trade_no stays in flight until resolved by query",
			zap.String("out_trade_no", t.orderKey), zap.Error(err))
	}
}

func (h *SignHandler) putOrder(ctx context.Context, t *txn, rec orderRecord) error {
	rec.Hash, rec.At = t.orderHash, time.Now().Unix()
	return h.app.store.Put(ctx, t.orderKey, rec.encode(), h.orderTTL())
}

// release undoes a claim for a request that never left the gateway.
func (h *SignHandler) release(ctx context.Context, t *txn) {
	if t.guarded {
		_ = h.app.store.Delete(context.WithoutCancel(ctx), t.orderKey)
	}
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

func (h *SignHandler) orderTTL() time.Duration {
	if h.OrderTTL > 0 {
		return time.Duration(h.OrderTTL)
	}
	return defaultOrderTTL
}
