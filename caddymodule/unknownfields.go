package caddymodule

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/qfsign/qfsign/signer"
)

// unknown_fields: what the gateway does with a field its endpoint does
// not know. pass (default) signs it as sent, since QFPay adds optional
// fields and integrations send fields the gateway's lists may lack;
// refuse answers 400 rule unknown_field naming it.
const (
	unknownPass      = "pass"
	unknownRefuse    = "refuse"
	ruleUnknownField = "unknown_field"
	// maxUnknownLogged and maxUnknownName bound what a caller's invented
	// names put in a log line.
	maxUnknownLogged = 8
	maxUnknownName   = 64
)

// unknownFieldsTotal counts unknown field names; the names themselves
// are logged, never labels (a caller could mint endless ones).
var unknownFieldsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "qfsign",
	Name:      "unknown_fields_total",
	Help:      "Fields the endpoint does not know, by merchant, endpoint and action (passed or refused); names are in the log.",
}, []string{"merchant", "endpoint", "action"})

// unknownFields are a request's unknown field names, as logged.
type unknownFields struct {
	names []string // the first maxUnknownLogged, each cut to maxUnknownName bytes
	count int
}

// findUnknown lists p's non-empty fields that ep does not know (empty
// ones are dropped, never signed).
func findUnknown(ep *signer.Endpoint, p signer.Params) unknownFields {
	var u unknownFields
	for _, kv := range p {
		if kv.Value == "" || !ep.Unknown(kv.Name) {
			continue
		}
		u.count++
		if len(u.names) < maxUnknownLogged {
			u.names = append(u.names, kv.Name[:min(len(kv.Name), maxUnknownName)])
		}
	}
	return u
}

// unknownRefusal is the refusal of u under unknown_fields refuse, naming
// its first unknown field, or nil.
func (h *Gateway) unknownRefusal(ep *signer.Endpoint, u unknownFields) *refusal {
	if u.count == 0 || h.UnknownFields != unknownRefuse {
		return nil
	}
	return &refusal{Status: http.StatusBadRequest, Field: u.names[0], Rule: ruleUnknownField,
		Error: "the field is not one " + ep.Path + " knows, and this gateway refuses unknown fields (unknown_fields refuse)"}
}

// countUnknown counts u's fields as refused or passed (forwarded, which
// observe mode always does).
func (h *Gateway) countUnknown(ep *signer.Endpoint, u unknownFields, refused bool) {
	if u.count == 0 {
		return
	}
	action := "passed"
	if refused {
		action = "refused"
	}
	unknownFieldsTotal.WithLabelValues(h.Merchant, ep.Path, action).Add(float64(u.count))
}
