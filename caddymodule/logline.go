package caddymodule

import (
	"net/http"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qfsign/qfsign/exchange"
)

// The canonical log line: one per transaction, through Caddy's logger
// (so the user's log config applies). It carries the key's fingerprint,
// never the key or the signature.

func (h *Gateway) baseFields(r *http.Request, t *txn, extra int) []zap.Field {
	get := func(name string) string { v, _ := t.Params.Get(name); return v }
	fields := make([]zap.Field, 0, 9+extra)
	if t.unknown.count > 0 { // names only, bounded (unknownfields.go)
		fields = append(fields, zap.Strings("unknown_fields", t.unknown.names), zap.Int("unknown_count", t.unknown.count))
	}
	return append(fields,
		zap.String("merchant", h.Merchant),
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
		zap.String("out_trade_no", get("out_trade_no")),
		zap.String("pay_type", get("pay_type")),
		zap.String("txamt", get("txamt")),
		zap.String("txcurrcd", get("txcurrcd")),
	)
}

func (h *Gateway) logRefusal(r *http.Request, t *txn) {
	h.observeRefusal(t)
	ce := h.logger.Check(zapcore.InfoLevel, "refused")
	if ce == nil {
		return
	}
	rf := t.refusal
	ce.Write(append(h.baseFields(r, t, 4),
		zap.Int("status", rf.Status),
		zap.String("field", rf.Field),
		zap.String("rule", rf.Rule),
		zap.Duration("total", time.Since(t.start)),
	)...)
}

// logTransaction writes the line for an answer from QFPay (sent,
// replayed or queried) or for its absence.
func (h *Gateway) logTransaction(r *http.Request, t *txn, res *exchange.Result, status int) {
	class := res.Class()
	h.observeTransaction(t, class, t.upstream)
	level := zapcore.InfoLevel
	if res.Err != nil {
		level = zapcore.ErrorLevel
	}
	ce := h.logger.Check(level, "transaction")
	if ce == nil {
		return
	}
	a := &res.Answer
	fields := append(h.baseFields(r, t, 14),
		zap.Int("status", status),
		zap.String("respcd", a.Respcd),
		zap.String("resp_class", class),
		zap.String("resperr", a.Resperr),
		zap.String("syssn", a.Syssn),
		zap.String("kid", t.KID),
		zap.Bool("resent_1108", t.Resent),
		zap.String("order", t.Order),
		zap.Int("queries", t.Queries),
		zap.Duration("validate", t.validate),
		zap.Duration("sign", t.sign),
		zap.Duration("upstream", t.upstream),
		zap.Duration("total", time.Since(t.start)),
	)
	if res.Err != nil {
		fields = append(fields, zap.Error(res.Err))
	}
	ce.Write(fields...)
}
