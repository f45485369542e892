package caddymodule

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/signer"
)

// verify_response modes. QFPay documents response signatures without an
// example, so the default is off and only "enforce" ever refuses.
const (
	verifyOff     = "off"
	verifyLog     = "log"
	verifyEnforce = "enforce"

	ruleResponseSignature = "response_signature"
)

var responseSigTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "qfsign",
	Name:      "response_signatures_total",
	Help:      "Signed QFPay responses checked by verify_response, by merchant and result (ok, mismatch).",
}, []string{"merchant", "result"})

// checkResponse reports whether a signed response verifies; unsigned
// responses (the common case) and unreadable bodies count as fine.
func (h *SignHandler) checkResponse(header http.Header, body []byte, truncated bool) bool {
	sig := strings.TrimSpace(header.Get(headerSign))
	creds, err := h.m.credentials()
	if sig == "" || truncated || err != nil {
		return true
	}
	st := signer.MD5
	if strings.EqualFold(header.Get(headerSignType), "SHA256") {
		st = signer.SHA256
	}
	ok, err := signer.VerifyResponse(body, creds.Key, st, sig)
	result := "ok"
	if err != nil || !ok {
		result = "mismatch"
		h.logger.Warn("QFPay response signature does not verify", zap.String("merchant", h.Merchant), zap.String("kid", creds.KID()))
	}
	responseSigTotal.WithLabelValues(h.Merchant, result).Inc()
	return result == "ok"
}
