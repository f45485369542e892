package vaulttest

import (
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) kvAPI(m *kvMount, rest string, c *call) reply {
	if m.version == 1 {
		return s.kvV1(m, rest, c)
	}
	sub, p, _ := strings.Cut(rest, "/")
	op := c.op()
	switch sub {
	case "data":
		if cleanPath(p) == "" {
			return invalidV2Path(op)
		}
		return s.v2Data(m, cleanPath(p), op, c)
	case "metadata":
		return s.v2Metadata(m, p, op, c)
	case "delete", "undelete", "destroy":
		if op != "update" {
			return unsupported()
		}
		return s.v2Versions(m, cleanPath(p), sub, c)
	case "config":
		if op != "read" {
			return unsupported()
		}
		return okData(map[string]any{"cas_required": false, "delete_version_after": "0s", "max_versions": 0})
	}
	return invalidV2Path(op)
}

// invalidV2Path is what KV v2 says to v1-style paths: a 404 carrying a
// warning, which the Go client returns as a secret with nil Data.
func invalidV2Path(op string) reply {
	sub := map[string]string{"update": "put", "patch": "patch", "read": "get", "list": "list", "delete": "delete"}[op]
	return reply{http.StatusNotFound, &envelope{Warnings: []string{fmt.Sprintf(
		"Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv %s' for this operation.", sub)}}}
}

func (s *Server) v2Data(m *kvMount, p, op string, c *call) reply {
	switch op {
	case "read":
		return s.v2Read(m, p, c)
	case "update":
		return s.v2Write(m, p, c, false)
	case "patch":
		return s.v2Write(m, p, c, true)
	case "delete":
		if sec := m.secrets[p]; sec != nil {
			sec.softDeleteLatest(s.now())
		}
		return noContent()
	}
	return unsupported()
}

// v2Read answers deleted and destroyed versions with 404 plus the version
// metadata, exactly like Vault, so the client returns nil Data, no error.
func (s *Server) v2Read(m *kvMount, p string, c *call) reply {
	sec := m.secrets[p]
	if sec == nil {
		return notFound()
	}
	n := sec.current
	if q := c.query.Get("version"); q != "" {
		v, err := strconv.Atoi(q)
		if err != nil {
			return fail(http.StatusBadRequest, fmt.Sprintf("error converting input %s for field \"version\": invalid syntax", q))
		}
		if v != 0 {
			n = v
		}
	}
	ver := sec.versions[n]
	if ver == nil {
		return notFound()
	}
	if !ver.live(s.now()) {
		return reply{http.StatusNotFound, &envelope{Data: map[string]any{"data": nil, "metadata": sec.versionMeta(n)}}}
	}
	return okData(map[string]any{"data": ver.data, "metadata": sec.versionMeta(n)})
}

func (s *Server) v2Write(m *kvMount, p string, c *call, patch bool) reply {
	raw, ok := c.body["data"]
	if !ok || raw == nil {
		return fail(http.StatusBadRequest, "no data provided")
	}
	data, ok := raw.(map[string]any)
	if !ok {
		return fail(http.StatusBadRequest, fmt.Sprintf("error converting input for field \"data\": %v is not a map", raw))
	}
	sec := m.secrets[p]
	if rep, bad := casCheck(sec, c.body); bad {
		return rep
	}
	if patch {
		if sec == nil || sec.versions[sec.current] == nil || !sec.versions[sec.current].live(s.now()) {
			return notFound()
		}
		data = mergePatch(maps.Clone(sec.versions[sec.current].data), data)
	}
	sec, n := m.putV2(p, data, s.now())
	return okData(sec.versionMeta(n))
}

// casCheck enforces options.cas; cas=0 means "only if absent".
func casCheck(sec *kvSecret, body map[string]any) (reply, bool) {
	cur := 0
	if sec != nil {
		cur = sec.current
	}
	opts, _ := body["options"].(map[string]any)
	raw, has := opts["cas"]
	if !has {
		if sec != nil && sec.casRequired {
			return fail(http.StatusBadRequest, "check-and-set parameter required for this call"), true
		}
		return reply{}, false
	}
	want, err := intValue(raw)
	if err != nil {
		return fail(http.StatusBadRequest, "error parsing check-and-set parameter"), true
	}
	if want != cur {
		return fail(http.StatusBadRequest, "check-and-set parameter did not match the current version"), true
	}
	return reply{}, false
}

// mergePatch applies an RFC 7396 JSON merge patch (what PATCH data/ does).
func mergePatch(base, patch map[string]any) map[string]any {
	if base == nil {
		base = map[string]any{}
	}
	for k, v := range patch {
		if v == nil {
			delete(base, k)
			continue
		}
		pm, pok := v.(map[string]any)
		bm, bok := base[k].(map[string]any)
		if pok && bok {
			base[k] = mergePatch(maps.Clone(bm), pm)
			continue
		}
		base[k] = v
	}
	return base
}

func (s *Server) v2Metadata(m *kvMount, p, op string, c *call) reply {
	switch op {
	case "list":
		keys := listKeys(maps.Keys(m.secrets), p)
		if keys == nil {
			return notFound()
		}
		return okData(map[string]any{"keys": keys})
	case "read":
		if sec := m.secrets[cleanPath(p)]; sec != nil {
			return okData(sec.metadata())
		}
		return notFound()
	case "update", "patch":
		return s.v2MetaWrite(m, cleanPath(p), c)
	case "delete":
		delete(m.secrets, cleanPath(p))
		return noContent()
	}
	return unsupported()
}

// v2MetaWrite changes only the fields present, which serves both the
// client's PutMetadata (sends all) and PatchMetadata (sends some).
func (s *Server) v2MetaWrite(m *kvMount, p string, c *call) reply {
	if p == "" {
		return unsupported()
	}
	next := newSecret(s.now())
	if sec := m.secrets[p]; sec != nil {
		cp := *sec
		next = &cp
	}
	if err := applyMeta(next, c.body); err != nil {
		return fail(http.StatusBadRequest, err.Error())
	}
	next.updated = s.now()
	next.prune()
	m.secrets[p] = next
	return noContent()
}

func applyMeta(sec *kvSecret, body map[string]any) error {
	var err error
	if v, ok := body["max_versions"]; ok {
		if sec.maxVersions, err = intValue(v); err != nil {
			return fmt.Errorf("error converting input for field \"max_versions\": %w", err)
		}
	}
	if v, ok := body["cas_required"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return fmt.Errorf("error converting input for field \"cas_required\": %v is not a bool", v)
		}
		sec.casRequired = b
	}
	if v, ok := body["delete_version_after"]; ok {
		if sec.deleteAfter, err = durationValue(v); err != nil {
			return fmt.Errorf("error converting input for field \"delete_version_after\": %w", err)
		}
	}
	if v, ok := body["custom_metadata"]; ok {
		if sec.custom, err = stringMap(v); err != nil {
			return fmt.Errorf("custom_metadata: %w", err)
		}
	}
	return nil
}

// v2Versions serves delete/, undelete/ and destroy/ for listed versions.
func (s *Server) v2Versions(m *kvMount, p, action string, c *call) reply {
	list, ok := c.body["versions"].([]any)
	if !ok || len(list) == 0 {
		return fail(http.StatusBadRequest, "no version number provided")
	}
	sec := m.secrets[p]
	now := s.now()
	for _, raw := range list {
		n, err := intValue(raw)
		if err != nil {
			return fail(http.StatusBadRequest, fmt.Sprintf("error converting input for field \"versions\": %v", err))
		}
		if sec == nil || sec.versions[n] == nil {
			continue
		}
		applyVersionAction(sec.versions[n], action, now)
	}
	return noContent()
}

func applyVersionAction(v *kvVersion, action string, now time.Time) {
	switch action {
	case "delete":
		if v.live(now) {
			v.deleted = now
		}
	case "undelete":
		if !v.destroyed {
			v.deleted = time.Time{}
		}
	case "destroy":
		v.destroyed = true
		v.data = nil
	}
}
