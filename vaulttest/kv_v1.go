package vaulttest

import (
	"maps"
	"net/http"
)

// kvV1 is the unversioned engine: data lives at the path itself and reads
// carry Vault's 32-day lease.
func (s *Server) kvV1(m *kvMount, p string, c *call) reply {
	op := c.op()
	key := cleanPath(p)
	if key == "" && op != "list" {
		return unsupported()
	}
	switch op {
	case "read":
		d := m.flat[key]
		if d == nil {
			return notFound()
		}
		return reply{http.StatusOK, &envelope{Data: d, LeaseDuration: kvV1Lease}}
	case "list":
		keys := listKeys(maps.Keys(m.flat), p)
		if keys == nil {
			return notFound()
		}
		return okData(map[string]any{"keys": keys})
	case "update":
		if len(c.body) == 0 {
			return fail(http.StatusBadRequest, "missing data fields")
		}
		m.flat[key] = c.body
		return noContent()
	case "delete":
		delete(m.flat, key)
		return noContent()
	}
	return unsupported()
}
