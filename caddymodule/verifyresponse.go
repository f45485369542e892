package caddymodule

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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

// serveEnforced buffers QFPay's answer (bounded) so that a response whose
// signature does not verify can be replaced by a 502 before any byte leaves.
func (h *SignHandler) serveEnforced(cw *captureWriter, r *http.Request, next caddyhttp.Handler) error {
	var buf bytes.Buffer
	rec := caddyhttp.NewResponseRecorder(cw, &buf, func(int, http.Header) bool { return true })
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if h.checkResponse(rec.Header(), buf.Bytes(), buf.Len() > captureLimit) {
		return rec.WriteResponse()
	}
	for k := range cw.Header() {
		delete(cw.Header(), k)
	}
	(&refusal{Status: http.StatusBadGateway, Error: "QFPay's response signature does not verify", Rule: ruleResponseSignature}).write(cw)
	return nil
}
