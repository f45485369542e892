package vaulttest

import (
	"errors"
	"net/http"
	"slices"
	"time"
)

type endpoint struct {
	ops []string
	fn  func(s *Server, c *call) reply
}

var tokenEndpoints = map[string]endpoint{
	"lookup-self":     {[]string{"read"}, (*Server).lookupSelf},
	"lookup":          {[]string{"read", "update"}, (*Server).lookupOther},
	"renew-self":      {[]string{"update"}, (*Server).renewSelf},
	"renew":           {[]string{"update"}, (*Server).renewOther},
	"create":          {[]string{"update"}, (*Server).createChild},
	"create-orphan":   {[]string{"update"}, (*Server).createOrphan},
	"revoke":          {[]string{"update"}, (*Server).revokeOther},
	"revoke-self":     {[]string{"update"}, (*Server).revokeSelf},
	"revoke-accessor": {[]string{"update"}, (*Server).revokeAccessor},
}

func (s *Server) tokenAPI(rest string, c *call) reply {
	ep, ok := tokenEndpoints[rest]
	if !ok {
		return noRoute(c.path)
	}
	if !slices.Contains(ep.ops, c.op()) {
		return unsupported()
	}
	return ep.fn(s, c)
}

func (s *Server) lookupSelf(c *call) reply { return okData(c.tok.lookupData(s.now())) }

// lookupOther answers "bad token" with 403, as the token store does.
func (s *Server) lookupOther(c *call) reply {
	id := str(c.body["token"])
	if id == "" {
		id = c.query.Get("token")
	}
	t := s.validToken(id)
	if t == nil {
		return fail(http.StatusForbidden, "bad token")
	}
	return okData(t.lookupData(s.now()))
}

func (s *Server) renewSelf(c *call) reply { return s.renew(c.tok, c.body["increment"]) }

func (s *Server) renewOther(c *call) reply {
	t := s.validToken(str(c.body["token"]))
	if t == nil {
		return fail(http.StatusBadRequest, "invalid token")
	}
	return s.renew(t, c.body["increment"])
}

func (s *Server) revokeOther(c *call) reply {
	s.revokeTree(str(c.body["token"]))
	return noContent()
}

func (s *Server) revokeSelf(c *call) reply {
	s.revokeTree(c.tok.id)
	return noContent()
}

func (s *Server) revokeAccessor(c *call) reply {
	acc := str(c.body["accessor"])
	for id, t := range s.tokens {
		if t.accessor == acc {
			s.revokeTree(id)
			return noContent()
		}
	}
	return fail(http.StatusBadRequest, "invalid accessor")
}

func (s *Server) createChild(c *call) reply  { return s.createToken(c, false) }
func (s *Server) createOrphan(c *call) reply { return s.createToken(c, true) }

type createRequest struct {
	ttl, max, period    time.Duration
	renewable           bool
	policies            []string
	noDefault, noParent bool
	display             string
	meta                map[string]string
}

func parseCreate(b map[string]any) (createRequest, error) {
	r := createRequest{renewable: true, display: str(b["display_name"])}
	var err error
	if r.ttl, err = durationValue(b["ttl"]); err != nil {
		return r, err
	}
	if r.max, err = durationValue(b["explicit_max_ttl"]); err != nil {
		return r, err
	}
	if r.period, err = durationValue(b["period"]); err != nil {
		return r, err
	}
	if r.policies, err = stringList(b["policies"]); err != nil {
		return r, err
	}
	if r.meta, err = stringMap(b["meta"]); err != nil {
		return r, err
	}
	if v, ok := b["renewable"].(bool); ok {
		r.renewable = v
	}
	r.noDefault, _ = b["no_default_policy"].(bool)
	r.noParent, _ = b["no_parent"].(bool)
	if typ := str(b["type"]); typ != "" && typ != "service" && typ != "default" {
		return r, errors.New("vaulttest only issues service tokens")
	}
	return r, nil
}

// createToken follows the token store: default and system-max TTL of 32
// days, periodic tokens without a cap, never outliving the parent.
func (s *Server) createToken(c *call, orphan bool) reply {
	req, err := parseCreate(c.body)
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	pols, err := childPolicies(c.tok, req.policies, req.noDefault)
	if err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	t := &token{
		ttl: req.ttl, maxTTL: req.max, explicitMax: req.max, renewable: req.renewable,
		policies: pols, meta: req.meta, path: "auth/token/create", displayName: "token",
		orphan: orphan || req.noParent,
	}
	if req.display != "" {
		t.displayName = "token-" + req.display
	}
	if !t.orphan {
		t.parent = c.tok.id
	}
	switch {
	case req.period > 0:
		t.ttl, t.maxTTL = req.period, 0
	case t.ttl == 0:
		t.ttl = defaultTokenTTL
	}
	if t.maxTTL == 0 && req.period == 0 {
		t.maxTTL = defaultTokenTTL
	}
	s.issue(t)
	if p := c.tok; !t.orphan && !p.expire.IsZero() && t.expire.After(p.expire) {
		t.expire = p.expire
	}
	return reply{http.StatusOK, &envelope{Auth: t.auth(t.issued)}}
}
