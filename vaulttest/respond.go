package vaulttest

import (
	"fmt"
	"net/http"
)

// envelope is the body of every successful Vault response; field order
// and nulls follow real Vault so raw-JSON consumers see the same shape.
type envelope struct {
	RequestID     string     `json:"request_id"`
	LeaseID       string     `json:"lease_id"`
	Renewable     bool       `json:"renewable"`
	LeaseDuration int        `json:"lease_duration"`
	Data          any        `json:"data"`
	WrapInfo      any        `json:"wrap_info"`
	Warnings      []string   `json:"warnings"`
	Auth          *authBlock `json:"auth"`
	MountType     string     `json:"mount_type"`
}

// authBlock is the "auth" object of login, create and renew responses.
type authBlock struct {
	ClientToken    string            `json:"client_token"`
	Accessor       string            `json:"accessor"`
	Policies       []string          `json:"policies"`
	TokenPolicies  []string          `json:"token_policies"`
	Metadata       map[string]string `json:"metadata"`
	LeaseDuration  int               `json:"lease_duration"`
	Renewable      bool              `json:"renewable"`
	EntityID       string            `json:"entity_id"`
	TokenType      string            `json:"token_type"`
	Orphan         bool              `json:"orphan"`
	MFARequirement any               `json:"mfa_requirement"`
	NumUses        int               `json:"num_uses"`
}

type errorBody struct {
	Errors []string `json:"errors"`
}

// reply is what a handler decides; it is encoded while the server lock is
// held so stored maps are never read concurrently with a writer.
type reply struct {
	status int
	body   any // nil means no body (204)
}

func okData(data any) reply { return reply{http.StatusOK, &envelope{Data: data}} }

func noContent() reply { return reply{status: http.StatusNoContent} }

// notFound is Vault's bare 404, which the client turns into a nil secret.
func notFound() reply { return fail(http.StatusNotFound) }

func fail(status int, msgs ...string) reply {
	if msgs == nil {
		msgs = []string{}
	}
	return reply{status, errorBody{Errors: msgs}}
}

func unsupported() reply { return fail(http.StatusMethodNotAllowed, "unsupported operation") }

func noRoute(path string) reply {
	return fail(http.StatusNotFound, fmt.Sprintf("no handler for route %q. route entry not found.", path))
}

func writeReply(w http.ResponseWriter, status int, raw []byte) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	if raw == nil {
		w.WriteHeader(status)
		return
	}
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(raw)
}
