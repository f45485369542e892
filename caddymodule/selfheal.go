package caddymodule

import (
	"bytes"
	"io"
	"net/http"

	"go.uber.org/zap"
)

// respcdSignature is QFPay's "signature error": the request was refused
// before anything was charged, so sending it again is safe.
const respcdSignature = "1108"

// peekLimit bounds how much of QFPay's answer is read to find respcd.
const peekLimit = 64 << 10

// selfHeal handles a 1108 for a Vault-backed merchant: the key may have
// been rotated since the last refresh. The key is fetched once; only if
// it changed is the request signed again and sent once more. Any other
// answer passes through untouched.
func (t *Transport) selfHeal(r *http.Request, s *signed, resp *http.Response) (*http.Response, error) {
	m := s.h.m
	if m.cache == nil || resp.StatusCode != http.StatusOK {
		return resp, nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, peekLimit))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil || parseAnswer(head).Respcd != respcdSignature {
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
	_ = resp.Body.Close()
	s.h.signInto(r, s.t, creds)
	r.Header.Del(headerSign)
	s.t.resent = true
	log.Warn("QFPay answered 1108; signed again with the rotated key and resent once", zap.String("kid", s.t.kid))
	return t.send(r, s.t.sig, "")
}
