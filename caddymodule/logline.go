package caddymodule

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/qfsign/qfsign/signer"
)

// The canonical log line: one per transaction, through Caddy's logger
// (so the user's log config applies). It carries the key's fingerprint,
// never the key or the signature.

func (h *SignHandler) baseFields(r *http.Request, t *txn) []zap.Field {
	get := func(name string) string { v, _ := t.params.Get(name); return v }
	return []zap.Field{
		zap.String("merchant", h.Merchant),
		zap.String("method", r.Method),
		zap.String("path", r.URL.Path),
		zap.String("out_trade_no", get("out_trade_no")),
		zap.String("pay_type", get("pay_type")),
		zap.String("txamt", get("txamt")),
		zap.String("txcurrcd", get("txcurrcd")),
	}
}

func (h *SignHandler) logRefusal(r *http.Request, t *txn) {
	h.observeRefusal(t)
	ce := h.logger.Check(zapcore.InfoLevel, "refused")
	if ce == nil {
		return
	}
	rf := t.refusal
	ce.Write(append(h.baseFields(r, t),
		zap.Int("status", rf.Status),
		zap.String("field", rf.Field),
		zap.String("rule", rf.Rule),
		zap.Duration("total", time.Since(t.start)),
	)...)
}

func (h *SignHandler) logTransaction(r *http.Request, t *txn, cw *captureWriter, upstream time.Duration, err error) {
	status := cw.status
	level := zapcore.InfoLevel
	if err != nil {
		level = zapcore.ErrorLevel
		status = http.StatusBadGateway
		if he, ok := errors.AsType[caddyhttp.HandlerError](err); ok && he.StatusCode != 0 {
			status = he.StatusCode
		}
	}
	if t.upErr != nil {
		level = zapcore.ErrorLevel
	}
	a := t.ans
	if a == nil {
		parsed := cw.answer()
		a = &parsed
	}
	class := string(signer.ClassifyRespcd(a.Respcd))
	if err != nil || t.upErr != nil {
		class = "upstream_error"
	}
	h.observeTransaction(t, class, upstream)
	ce := h.logger.Check(level, "transaction")
	if ce == nil {
		return
	}
	fields := append(h.baseFields(r, t),
		zap.Int("status", status),
		zap.String("respcd", a.Respcd),
		zap.String("resp_class", class),
		zap.String("resperr", a.Resperr),
		zap.String("syssn", a.Syssn),
		zap.String("kid", t.kid),
		zap.Bool("resent_1108", t.resent),
		zap.String("order", t.order),
		zap.Int("queries", t.queries),
		zap.Duration("validate", t.validate),
		zap.Duration("sign", t.sign),
		zap.Duration("upstream", upstream),
		zap.Duration("total", time.Since(t.start)),
	)
	if err == nil {
		err = t.upErr
	}
	if err != nil {
		fields = append(fields, zap.Error(err))
	}
	ce.Write(fields...)
}
