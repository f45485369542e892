package caddymodule

import (
	"net/http"

	"go.uber.org/zap"
)

// respcdSignature is QFPay's "signature error": the request was refused
// before anything was charged, so sending it again is safe.
const respcdSignature = "1108"

// selfHeal handles a 1108 for a Vault-backed merchant: the key may have
// been rotated since the last refresh. The key is fetched again (callers
// hitting 1108 together share one fetch); only if it changed is the
// request signed again and sent once more. Any other answer passes
// through untouched, as does an observed request: the gateway never
// signs what the application signed.
func (t *Transport) selfHeal(s *signed, resp *http.Response, body []byte) (*http.Response, error) {
	m := s.h.m
	if m.cache == nil || s.t.observed != nil || resp.StatusCode != http.StatusOK || parseAnswer(body).Respcd != respcdSignature {
		return resp, nil
	}
	log := s.h.logger.With(zap.String("merchant", s.h.Merchant), zap.String("old_kid", s.t.kid))
	creds, err := m.cache.Refetch(s.t.kid)
	switch {
	case err != nil:
		log.Warn("QFPay answered 1108 and the key could not be fetched again", zap.Error(err))
		return resp, nil
	case creds.KID() == s.t.kid:
		log.Warn("QFPay answered 1108 with the current key: check the key in Vault")
		return resp, nil
	case creds.MchID != s.t.mchid:
		log.Warn("QFPay answered 1108; the rotated key has another mchid, not resending")
		return resp, nil
	}
	s.h.sign(s.t, creds)
	s.t.resent = true
	log.Warn("QFPay answered 1108; signed again with the rotated key and resent once", zap.String("kid", s.t.kid))
	resp, _, err = t.send(s.t, m.signType)
	return resp, err
}
