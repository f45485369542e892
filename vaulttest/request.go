package vaulttest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody matches Vault's default max_request_size (32 MiB).
const maxBody = 32 << 20

// call is one parsed request.
type call struct {
	method    string
	path      string // without the /v1/ prefix
	v1        bool
	query     url.Values
	token     string
	body      map[string]any
	bodyErr   error
	tok       *token // set once the client token is validated
	mountType string
	review    *kubeReview // a configured Kubernetes mount's TokenReview answer
}

func readCall(r *http.Request) *call {
	path, v1 := strings.CutPrefix(r.URL.Path, "/v1/")
	c := &call{method: r.Method, path: path, v1: v1, query: r.URL.Query(), token: clientToken(r)}
	c.body, c.bodyErr = decodeBody(r.Body)
	return c
}

func clientToken(r *http.Request) string {
	if t := r.Header.Get("X-Vault-Token"); t != "" {
		return t
	}
	if t, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// decodeBody keeps numbers as json.Number so values round-trip with their
// JSON types; an empty body and a literal null both mean "no data".
func decodeBody(body io.Reader) (map[string]any, error) {
	if body == nil {
		return nil, nil
	}
	raw, err := io.ReadAll(io.LimitReader(body, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxBody {
		return nil, errors.New("http: request body too large")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("failed to parse JSON input: %w", err)
	}
	return m, nil
}

// op maps the HTTP method to Vault's logical operation.
func (c *call) op() string {
	switch c.method {
	case http.MethodGet, http.MethodHead:
		if c.query.Get("list") == "true" {
			return "list"
		}
		return "read"
	case "LIST":
		return "list"
	case http.MethodPost, http.MethodPut:
		return "update"
	case http.MethodDelete:
		return "delete"
	case http.MethodPatch:
		return "patch"
	}
	return ""
}
