package vaulttest

import (
	"net/http"
	"time"
)

// defaultWrapTTL is the client's DefaultWrappingTTL.
const defaultWrapTTL = 5 * time.Minute

type wrapEntry struct {
	data   map[string]any
	expire time.Time
}

// WrapSecretID returns a single-use response-wrapping token whose unwrap
// (sys/wrapping/unwrap) yields the role's current secret_id, as
// `vault write -wrap-ttl=... auth/approle/role/R/secret-id` would.
func (s *Server) WrapSecretID(mount, roleID string, ttl time.Duration) string {
	if ttl <= 0 {
		ttl = defaultWrapTTL
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	role := s.mustAppRole(mount, roleID)
	id := newTokenID()
	s.wraps[id] = &wrapEntry{
		data: map[string]any{
			"secret_id": role.SecretID, "secret_id_accessor": role.secretAccessor,
			"secret_id_num_uses": 0, "secret_id_ttl": 0,
		},
		expire: s.now().Add(ttl),
	}
	return id
}

// unwrap authenticates with the wrapping token itself; a token in the body
// instead requires a valid client token, as in real Vault.
func (s *Server) unwrap(c *call) reply {
	if c.op() != "update" {
		return unsupported()
	}
	id := c.token
	if bt := str(c.body["token"]); bt != "" && bt != c.token {
		if s.validToken(c.token) == nil {
			return fail(http.StatusForbidden, "permission denied")
		}
		id = bt
	}
	if id == "" {
		return fail(http.StatusForbidden, "permission denied")
	}
	w := s.wraps[id]
	if w == nil || !s.now().Before(w.expire) {
		delete(s.wraps, id)
		return fail(http.StatusBadRequest, "wrapping token is not valid or does not exist")
	}
	delete(s.wraps, id)
	return okData(w.data)
}
