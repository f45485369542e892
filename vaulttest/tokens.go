package vaulttest

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// defaultTokenTTL is Vault's default and system max TTL (32 days); it
// applies to logins and HTTP-created tokens that ask for no TTL.
const defaultTokenTTL = 768 * time.Hour

type token struct {
	id, accessor, parent string
	policies             []string
	meta                 map[string]string
	displayName, path    string
	issued, expire       time.Time // zero expire: never expires
	lastRenewal          time.Time
	ttl                  time.Duration // what a renewal without increment grants
	maxTTL               time.Duration // cap from issue time; 0: none
	explicitMax          time.Duration // reported as explicit_max_ttl
	renewable, orphan    bool
	root                 bool
}

// TokenOptions configures CreateToken.
type TokenOptions struct {
	TTL       time.Duration // 0: never expires
	MaxTTL    time.Duration // renewals never extend past issue time + MaxTTL
	Renewable bool
	Policies  []string // "default" is added, as Vault does
}

// CreateToken issues a child of the root token without HTTP.
func (s *Server) CreateToken(o TokenOptions) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.issue(&token{
		ttl: o.TTL, maxTTL: o.MaxTTL, explicitMax: o.MaxTTL, renewable: o.Renewable,
		policies: normPolicies(o.Policies, true), parent: s.root,
		path: "auth/token/create", displayName: "token",
	})
	return t.id
}

// Revoke revokes a token and its children (or discards a wrapping token).
func (s *Server) Revoke(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeTree(id)
	delete(s.wraps, id)
}

// Expire makes a token (or wrapping token) expire now, so tests need not
// sleep through a TTL.
func (s *Server) Expire(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.tokens[id]; t != nil {
		t.expire = s.now()
	}
	if w := s.wraps[id]; w != nil {
		w.expire = s.now()
	}
}

// issue stores t with fresh IDs; its expiry is issue + min(ttl, maxTTL).
func (s *Server) issue(t *token) *token {
	t.id, t.accessor, t.issued = newTokenID(), randString(24), s.now()
	if t.ttl > 0 {
		life := t.ttl
		if t.maxTTL > 0 && t.maxTTL < life {
			life = t.maxTTL
		}
		t.expire = t.issued.Add(life)
	}
	s.tokens[t.id] = t
	return t
}

func (s *Server) validToken(id string) *token {
	t := s.tokens[id]
	if t == nil || t.expiredAt(s.now()) {
		return nil
	}
	return t
}

func (t *token) expiredAt(now time.Time) bool {
	return !t.expire.IsZero() && !now.Before(t.expire)
}

// revokeTree mirrors Vault's default revoke: children go with the parent.
func (s *Server) revokeTree(id string) {
	if _, ok := s.tokens[id]; !ok {
		return
	}
	delete(s.tokens, id)
	for cid, t := range s.tokens {
		if t.parent == id {
			s.revokeTree(cid)
		}
	}
}

// renew extends from now by increment (or the token's TTL), capped at
// issue + max TTL; the shrinking lease is what ends a LifetimeWatcher.
func (s *Server) renew(t *token, incRaw any) reply {
	inc, err := durationValue(incRaw)
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	if !t.renewable || t.root {
		return fail(http.StatusBadRequest, "lease is not renewable")
	}
	now := s.now()
	ttl := inc
	if ttl <= 0 {
		ttl = t.ttl
	}
	var warnings []string
	if ttl > 0 {
		exp := now.Add(ttl)
		if limit := t.issued.Add(t.maxTTL); t.maxTTL > 0 && exp.After(limit) {
			exp = limit
			warnings = append(warnings, fmt.Sprintf("TTL of %q exceeded the effective max_ttl of %q; TTL value is capped accordingly",
				ttl, limit.Sub(now).Truncate(time.Second)))
		}
		t.expire = exp
	}
	t.lastRenewal = now
	return reply{http.StatusOK, &envelope{Auth: t.auth(now), Warnings: warnings}}
}

func (t *token) remaining(now time.Time) int {
	if t.expire.IsZero() {
		return 0
	}
	return seconds(t.expire.Sub(now))
}

func (t *token) auth(now time.Time) *authBlock {
	return &authBlock{
		ClientToken: t.id, Accessor: t.accessor,
		Policies: t.policies, TokenPolicies: t.policies, Metadata: t.meta,
		LeaseDuration: t.remaining(now), Renewable: t.renewable,
		TokenType: "service", Orphan: t.orphan,
	}
}

// lookupData is the "data" of auth/token/lookup-self.
func (t *token) lookupData(now time.Time) map[string]any {
	var expire any
	if !t.expire.IsZero() {
		expire = fmtTime(t.expire)
	}
	d := map[string]any{
		"accessor": t.accessor, "creation_time": t.issued.Unix(), "creation_ttl": seconds(t.ttl),
		"display_name": t.displayName, "entity_id": "", "expire_time": expire,
		"explicit_max_ttl": seconds(t.explicitMax), "id": t.id, "issue_time": fmtTime(t.issued),
		"meta": t.meta, "num_uses": 0, "orphan": t.orphan, "path": t.path, "policies": t.policies,
		"renewable": t.renewable, "ttl": t.remaining(now), "type": "service",
	}
	if !t.lastRenewal.IsZero() {
		d["last_renewal"] = fmtTime(t.lastRenewal)
		d["last_renewal_time"] = t.lastRenewal.Unix()
	}
	return d
}

// normPolicies trims, dedupes and sorts; "root" stands alone.
func normPolicies(ps []string, addDefault bool) []string {
	var out []string
	for _, p := range ps {
		if p = strings.TrimSpace(p); p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if slices.Contains(out, "root") {
		return []string{"root"}
	}
	if addDefault && !slices.Contains(out, "default") {
		out = append(out, "default")
	}
	slices.Sort(out)
	return out
}

// childPolicies inherits the parent's policies when none are asked for and
// otherwise requires a subset, as the token store does for non-root parents.
func childPolicies(parent *token, asked []string, noDefault bool) ([]string, error) {
	if len(asked) == 0 {
		return parent.policies, nil
	}
	pols := normPolicies(asked, !noDefault)
	if slices.Contains(parent.policies, "root") {
		return pols, nil
	}
	for _, p := range pols {
		if p != "default" && !slices.Contains(parent.policies, p) {
			return nil, errors.New("child policies must be subset of parent")
		}
	}
	return pols, nil
}
