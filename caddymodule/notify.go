package caddymodule

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
)

func init() {
	caddy.RegisterModule(NotifyHandler{})
}

// Dedupe states and lifetimes. QFPay's retries span about 34 hours; an
// acknowledgement is kept a week. A claim held by a crashed gateway
// expires so that QFPay's next retry can go through.
const (
	stateInFlight  = "inflight"
	stateAcked     = "acked"
	inFlightTTL    = 5 * time.Minute
	defaultAckTTL  = 7 * 24 * time.Hour
	notifyAckBody  = "SUCCESS"
	ruleSignature  = "signature"
	ruleJSON       = "json"
	ruleInProgress = "in_progress"
	ruleApp        = "application"
	ruleStore      = "store"
)

// NotifyHandler verifies QFPay's signed notifications for one merchant and
// forwards only verified, first-seen ones to the next handler (the
// application). QFPay gets "SUCCESS" only after the application took it.
type NotifyHandler struct {
	merchantRef
	// Ack is what counts as the application taking a notification:
	// success_body (default: QFPay's own rule, 2xx with the body SUCCESS,
	// so an application answering 200 FAIL gets QFPay's retry) or
	// status_2xx (any 2xx, for applications written for qfsign).
	Ack string `json:"ack,omitempty"`
	// StripSignature removes QFPay's X-QF-SIGN and X-QF-SIGNTYPE before
	// forwarding. Default false: they are forwarded unchanged with the
	// body, so an application that still verifies keeps working.
	StripSignature bool `json:"strip_signature,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (NotifyHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_notify",
		New: func() caddy.Module { return new(NotifyHandler) },
	}
}

// Provision looks up the merchant in the qfpay app.
func (h *NotifyHandler) Provision(ctx caddy.Context) error { return h.provision(ctx, "qfpay_notify") }

// Validate checks the static configuration.
func (h *NotifyHandler) Validate() error {
	switch h.Ack {
	case "", ackSuccessBody, ackStatus2xx:
		return nil
	}
	return fmt.Errorf("qfpay_notify: ack must be success_body or status_2xx")
}

// notification is what the gateway reads of QFPay's JSON; the
// application gets the raw bytes, unchanged.
type notification struct {
	Syssn      string `json:"syssn"`
	NotifyType string `json:"notify_type"`
	OutTradeNo string `json:"out_trade_no"`
	Txamt      string `json:"txamt"`
	MchID      string `json:"mchid"`
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *NotifyHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	start := time.Now()
	body, n, rf := h.verify(r)
	if rf != nil {
		rf.write(w)
		h.log(n, rf.Status, rf.Rule, start)
		return nil
	}
	outcome, status := h.deliver(w, r, body, n, next)
	h.log(n, status, outcome, start)
	return nil
}

// verify checks the signature over the exact bytes received, then the
// content; nothing unverified gets past it.
func (h *NotifyHandler) verify(r *http.Request) ([]byte, notification, *refusal) {
	var n notification
	stripQFHeaders(r.Header, "X-Qfsign-")
	if r.Method != http.MethodPost {
		return nil, n, &refusal{Status: http.StatusMethodNotAllowed, Error: "use POST", Rule: ruleMethod}
	}
	body, rf := readBody(r, h.MaxBody)
	if rf != nil {
		return nil, n, rf
	}
	creds, rf := h.verifySignature(r, body)
	if rf != nil {
		return nil, n, rf
	}
	n, ok := decodeNotification(body)
	if !ok {
		return nil, n, &refusal{Status: http.StatusBadRequest, Error: "the notification is not a JSON object of strings with unique keys", Rule: ruleJSON}
	}
	switch {
	case n.Syssn == "":
		return nil, n, &refusal{Status: http.StatusBadRequest, Error: "the field is required", Field: "syssn", Rule: signer.RuleRequired}
	case n.NotifyType == "":
		return nil, n, &refusal{Status: http.StatusBadRequest, Error: "the field is required", Field: "notify_type", Rule: signer.RuleRequired}
	// QFPay names sub-merchants of an agent by mchid: without a
	// configured mchid the signature alone proves it is this merchant's.
	case n.MchID != "" && creds.MchID != "" && n.MchID != creds.MchID:
		return nil, n, &refusal{Status: http.StatusBadRequest, Error: "not this merchant's mchid", Field: "mchid", Rule: signer.RuleMismatch}
	}
	return body, n, nil
}

// verifySignature checks X-QF-SIGN over the raw body with the merchant's
// key. A Vault merchant's key may have been rotated since the last
// refresh, and QFPay signs with the new one at once: on a mismatch the
// key is fetched again (one fetch in flight, shared with the 1108
// self-heal; at most one per RefetchMin, spaced apart from the 1108
// refetches so forged notifications neither turn into Vault load nor
// hold back a payment's self-heal) and a changed key gets one more check.
func (h *NotifyHandler) verifySignature(r *http.Request, body []byte) (*keys.Credentials, *refusal) {
	creds, err := h.m.credentials()
	if err != nil {
		return nil, keyUnavailable(err)
	}
	// The merchant's sign_type decides the hash, never the sender.
	st := h.m.signType
	if !namesSignType(r.Header.Get(headerSignType), st) {
		return nil, signTypeRefusal(st)
	}
	sig := strings.TrimSpace(r.Header.Get(headerSign))
	if signer.VerifyNotification(body, creds.Key, st, sig) {
		return creds, nil
	}
	if h.m.cache != nil {
		if fresh, err := h.m.cache.RefetchForVerify(creds.KID()); err == nil && fresh.KID() != creds.KID() &&
			signer.VerifyNotification(body, fresh.Key, st, sig) {
			return fresh, nil
		}
	}
	return nil, &refusal{Status: http.StatusUnauthorized, Error: "missing or invalid X-QF-SIGN", Field: headerSign, Rule: ruleSignature}
}

// deliver forwards a first-seen notification and answers QFPay.
func (h *NotifyHandler) deliver(w http.ResponseWriter, r *http.Request, body []byte, n notification, next caddyhttp.Handler) (string, int) {
	ctx := context.WithoutCancel(r.Context())
	key := dedupeKey(h.Merchant, n)
	claimed, err := h.app.store.Claim(ctx, key, stateInFlight, inFlightTTL)
	if err != nil {
		storeErrorsTotal.WithLabelValues("claim").Inc()
		(&refusal{Status: http.StatusServiceUnavailable, Error: "state store unavailable", Rule: ruleStore}).write(w)
		return ruleStore, http.StatusServiceUnavailable
	}
	if !claimed {
		if state, _, _ := h.app.store.Get(ctx, key); state == stateAcked {
			writeAck(w)
			return "duplicate", http.StatusOK
		}
		(&refusal{Status: http.StatusConflict, Error: "this notification is being delivered", Rule: ruleInProgress}).write(w)
		return ruleInProgress, http.StatusConflict
	}
	if h.StripSignature {
		r.Header.Del(headerSign)
		r.Header.Del(headerSignType)
	}
	r.Header.Set("X-Qfsign-Verified", "1")
	r.Header.Set("X-Qfsign-Merchant", h.Merchant)
	// The answer is read for SUCCESS: no compressed encoding.
	r.Header.Del("Accept-Encoding")
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := newAckRecorder()
	if err := next.ServeHTTP(rec, r); err != nil || !rec.acknowledged(h.Ack) {
		_ = h.app.store.Delete(ctx, key)
		(&refusal{Status: http.StatusBadGateway, Error: "the application did not accept the notification", Rule: ruleApp}).write(w)
		return ruleApp, http.StatusBadGateway
	}
	if err := h.app.store.Put(ctx, key, stateAcked, defaultAckTTL); err != nil {
		storeErrorsTotal.WithLabelValues("record").Inc()
		h.logger.Error("recording the acknowledgement failed; QFPay may deliver again", zap.Error(err))
	}
	writeAck(w)
	return "forwarded", http.StatusOK
}

func writeAck(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, notifyAckBody)
}

func (h *NotifyHandler) log(n notification, status int, outcome string, start time.Time) {
	notificationsTotal.WithLabelValues(h.Merchant, outcome).Inc()
	h.logger.Info("notification",
		zap.String("merchant", h.Merchant),
		zap.String("syssn", n.Syssn),
		zap.String("out_trade_no", n.OutTradeNo),
		zap.String("notify_type", n.NotifyType),
		zap.String("txamt", n.Txamt),
		zap.String("mchid", n.MchID),
		zap.String("outcome", outcome),
		zap.Int("status", status),
		zap.Duration("total", time.Since(start)),
	)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*NotifyHandler)(nil)
	_ caddy.Validator             = (*NotifyHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*NotifyHandler)(nil)
)
