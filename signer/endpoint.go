package signer

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
)

// Field is the rule set of one form field, applied in order.
type Field struct {
	Name     string
	Required bool
	Checks   []Check
	// Default fills a missing required field instead of refusing it.
	Default func(pol *Policy) string
}

// CrossCheck relates fields to each other after every field passed.
type CrossCheck func(p Params, pol *Policy) error

// Endpoint is one QFPay path the gateway is willing to sign for.
type Endpoint struct {
	Path string
	// Method is the only method signed for Path. For GET (close) the
	// signed parameters travel in the query string instead of the body;
	// QFPay signs them the same way (see ParamsInQuery).
	Method string
	// AcceptGet takes GET with the fields in the query string as well;
	// the gateway forwards Method all the same.
	AcceptGet bool
	Fields    []Field
	Cross     []CrossCheck
	// UniqueOrder says the call creates a new out_trade_no, which QFPay
	// requires unique per merchant across payments and refunds: the
	// gateway guards it against reuse.
	UniqueOrder bool
	// AppCodeField names the form field that must carry the merchant's
	// app code (add_note: "code"); empty when the app code travels only
	// in X-QF-APPCODE. The caller must not send it: Validate refuses it,
	// and the gateway adds it at signing time with WithAppCode.
	AppCodeField string
	byName       map[string]*Field
	forbidden    map[string]struct{} // lower-case names refused on this endpoint only
}

// multiline fields may carry JSON text with line breaks and tabs, which
// the parser admits; every other value is a single line, so a CR, LF or
// tab there is refused (it has no use but to smuggle structure).
var multiline = set("extend_info", "goods_info")

// forbiddenNames look like credentials: a caller must never smuggle a
// key or a signature into the signed form.
var forbiddenNames = set("sign", "key", "client_key", "appcode", "app_code")

func newEndpoint(e Endpoint) *Endpoint {
	// Clone so endpoints built from one shared list never alias each other.
	e.Fields = slices.Clone(e.Fields)
	e.byName = make(map[string]*Field, len(e.Fields))
	for i := range e.Fields {
		e.byName[e.Fields[i].Name] = &e.Fields[i]
	}
	if e.AppCodeField != "" {
		e.forbidden = set(strings.ToLower(e.AppCodeField))
	}
	return &e
}

// refuseName refuses credential-like names everywhere, and the field the
// gateway fills with the app code on endpoints that carry it in the form.
func (e *Endpoint) refuseName(name string) error {
	lower := strings.ToLower(name)
	if in(forbiddenNames, lower) {
		return fieldErr(name, RuleForbidden, "credential fields are set by the gateway, never by the caller")
	}
	if in(e.forbidden, lower) {
		return fieldErr(name, RuleForbidden, "set by the gateway from the merchant's credentials; do not send it")
	}
	return nil
}

// Known reports whether name is exactly one of the endpoint's fields or
// a credential name it refuses: a bounded set, safe as a metric label.
// Case variants (TXAMT, Sign) are not: a caller could mint endless ones.
func (e *Endpoint) Known(name string) bool {
	if _, ok := e.byName[name]; ok {
		return true
	}
	return name == "mchid" || in(forbiddenNames, name) || in(e.forbidden, name)
}

// knownNames maps the lower-case form of every name the gateway knows,
// on any endpoint, to its spelling: QFPay's field names are lower case.
var knownNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{"mchid": "mchid"}
	for n := range forbiddenNames {
		m[n] = n
	}
	for _, e := range Endpoints {
		for _, f := range e.Fields {
			m[strings.ToLower(f.Name)] = f.Name
		}
		if e.AppCodeField != "" {
			m[strings.ToLower(e.AppCodeField)] = e.AppCodeField
		}
	}
	return m
})

// checkCase refuses a known field's name in another case: QFPay's PHP
// and Java stacks may read TXAMT beside txamt, and a rule that applies
// only to the exact name would let the variant through unchecked.
func checkCase(name string) error {
	if known, ok := knownNames()[strings.ToLower(name)]; ok && known != name {
		return fieldErr(name, RuleCase, "field names are case-sensitive; use "+known)
	}
	return nil
}

// ParamsInQuery reports whether the signed parameters travel in the
// query string (GET) rather than in a form body.
func (e *Endpoint) ParamsInQuery() bool { return e.Method == http.MethodGet }

// WithAppCode adds the merchant's app code under AppCodeField to the
// validated p, for the gateway to call just before signing; it returns p
// unchanged when the endpoint carries no app code in the form.
func (e *Endpoint) WithAppCode(p Params, appCode string) Params {
	if e.AppCodeField == "" {
		return p
	}
	return p.Set(e.AppCodeField, appCode)
}

// CheckLines applies the gateway's line rule without an endpoint (for
// `qfsign sign`): control characters, line breaks and tabs are refused
// in every field but the multiline ones.
func CheckLines(p Params) error {
	for _, kv := range p {
		if in(multiline, kv.Name) {
			continue
		}
		if _, err := NoControl(kv.Value, nil); err != nil {
			return withField(err, kv.Name)
		}
	}
	return nil
}

// Validate drops empty fields, applies the field rules and the merchant's
// policy, fills defaults, and returns the Params to sign. p is reused.
func (e *Endpoint) Validate(p Params, pol *Policy) (Params, error) {
	out := p[:0]
	for _, kv := range p {
		if err := checkCase(kv.Name); err != nil {
			return nil, err
		}
		if kv.Value == "" {
			continue
		}
		if err := e.refuseName(kv.Name); err != nil {
			return nil, err
		}
		if !in(multiline, kv.Name) {
			if _, err := NoControl(kv.Value, pol); err != nil {
				return nil, withField(err, kv.Name)
			}
		}
		if f := e.byName[kv.Name]; f != nil {
			v, err := f.apply(kv.Value, pol)
			if err != nil {
				return nil, err
			}
			kv.Value = v
		}
		out = append(out, kv)
	}
	out, err := applyMchID(out, pol)
	if err != nil {
		return nil, err
	}
	for i := range e.Fields {
		f := &e.Fields[i]
		if !f.Required {
			continue
		}
		if _, ok := out.Get(f.Name); ok {
			continue
		}
		if f.Default == nil {
			return nil, fieldErr(f.Name, RuleRequired, "the field is required")
		}
		out = out.Set(f.Name, f.Default(pol))
	}
	for _, c := range e.Cross {
		if err := c(out, pol); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (f *Field) apply(v string, pol *Policy) (string, error) {
	for _, c := range f.Checks {
		var err error
		if v, err = c(v, pol); err != nil {
			return "", withField(err, f.Name)
		}
	}
	return v, nil
}

// applyMchID makes mchid the merchant's: set when configured, refused
// when the caller differs or when QFPay issued none.
func applyMchID(p Params, pol *Policy) (Params, error) {
	want := ""
	if pol != nil {
		want = pol.MchID
	}
	got, present := p.Get("mchid")
	switch {
	case want == "" && present:
		return nil, fieldErr("mchid", RuleForbidden, "this merchant has no mchid; do not send one")
	case want != "" && present && got != want:
		return nil, fieldErr("mchid", RuleMismatch, "differs from the merchant's configured mchid")
	case want != "":
		return p.Set("mchid", want), nil
	}
	return p, nil
}

// Endpoints are the paths the gateway signs, by path.
var Endpoints = map[string]*Endpoint{
	PaymentEndpoint.Path:  PaymentEndpoint,
	QueryEndpoint.Path:    QueryEndpoint,
	RefundEndpoint.Path:   RefundEndpoint,
	ReversalEndpoint.Path: ReversalEndpoint,
	CloseEndpoint.Path:    CloseEndpoint,
	AddNoteEndpoint.Path:  AddNoteEndpoint,
}

// LookupEndpoint finds the rules for a path; unknown paths are never signed.
func LookupEndpoint(path string) (*Endpoint, bool) {
	e, ok := Endpoints[path]
	return e, ok
}

// EndpointPaths lists, sorted, every path the gateway can sign, for
// config validation and documentation.
func EndpointPaths() []string { return slices.Sorted(maps.Keys(Endpoints)) }
