package caddymodule

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/signer"
)

// verify_response modes. QFPay documents response signatures without an
// example, so the default is off and only "enforce" ever refuses.
const (
	verifyOff     = "off"
	verifyLog     = "log"
	verifyEnforce = "enforce"
)

var responseSigTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "qfsign",
	Name:      "response_signatures_total",
	Help:      "Signed QFPay responses checked by verify_response, by merchant and result (ok, mismatch).",
}, []string{"merchant", "result"})

// verify reports whether a signed response verifies; unsigned
// responses (the common case) and unreadable bodies count as fine.
func (h *Gateway) verify(r *exchange.Response) bool {
	sig := strings.TrimSpace(r.Header.Get(headerSign))
	if sig == "" {
		return true
	}
	creds, err := h.m.credentials()
	if err != nil {
		return true
	}
	ok, err := signer.VerifyResponse(r.Body, creds.Key, signTypeOf(r.Header.Get(headerSignType)), sig)
	result := "ok"
	if err != nil || !ok {
		result = "mismatch"
		h.logger.Warn("QFPay response signature does not verify", zap.String("merchant", h.Merchant), zap.String("kid", creds.KID()))
	}
	responseSigTotal.WithLabelValues(h.Merchant, result).Inc()
	return result == "ok"
}
