package caddymodule

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/signer"
)

// refusal is the JSON error the application gets; nothing was forwarded.
type refusal struct {
	Status int    `json:"-"`
	Error  string `json:"error"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	// retryAfter, in seconds, becomes a Retry-After header when set.
	retryAfter int
	// closeConn asks the client to open a new connection (the request's
	// body was not read to its end).
	closeConn bool
}

// Rules the handler adds to signer's.
const (
	ruleBodyTooLarge  = "max_body"
	ruleContentType   = "content_type"
	ruleMethod        = "method"
	rulePath          = "path"
	ruleQueryString   = "query_string"
	ruleKeyUnavailble = "key_unavailable"
	ruleBodyRead      = "body_read"
	ruleInternal      = "internal"
	// ruleReused: the out_trade_no came with other fields (the guard's).
	ruleReused = exchange.RuleReused
)

// keyUnavailable fails closed; err is keys.ErrNoKey or ErrStale, which
// carry no key material.
func keyUnavailable(err error) *refusal {
	return &refusal{Status: http.StatusServiceUnavailable, Error: "no usable key for this merchant: " + err.Error(), Rule: ruleKeyUnavailble}
}

func fromFieldError(status int, fe *signer.FieldError) *refusal {
	return &refusal{Status: status, Error: fe.Msg, Field: fe.Field, Rule: fe.Rule}
}

// fromExchange is the exchange's refusal as the application gets it.
func fromExchange(rf *exchange.Refusal) *refusal {
	return &refusal{Status: rf.Status, Field: rf.Field, Rule: rf.Rule, Error: rf.Error, retryAfter: rf.RetryAfter}
}

func (rf *refusal) write(w http.ResponseWriter) {
	body, _ := json.Marshal(rf)
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if rf.closeConn {
		h.Set("Connection", "close")
	}
	if rf.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(rf.retryAfter))
	}
	w.WriteHeader(rf.Status)
	_, _ = w.Write(append(body, '\n'))
}
