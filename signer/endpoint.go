package signer

import "strings"

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
	Path   string
	Method string
	Fields []Field
	Cross  []CrossCheck
	byName map[string]*Field
}

// forbiddenNames look like credentials: a caller must never smuggle a
// key or a signature into the signed form.
var forbiddenNames = set("sign", "key", "client_key", "appcode", "app_code")

func newEndpoint(e Endpoint) *Endpoint {
	e.byName = make(map[string]*Field, len(e.Fields))
	for i := range e.Fields {
		e.byName[e.Fields[i].Name] = &e.Fields[i]
	}
	return &e
}

// Validate drops empty fields, applies the field rules and the merchant's
// policy, fills defaults, and returns the Params to sign. p is reused.
func (e *Endpoint) Validate(p Params, pol *Policy) (Params, error) {
	out := p[:0]
	for _, kv := range p {
		if kv.Value == "" {
			continue
		}
		if in(forbiddenNames, strings.ToLower(kv.Name)) {
			return nil, fieldErr(kv.Name, RuleForbidden, "credential fields are set by the gateway, never by the caller")
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
	PaymentEndpoint.Path: PaymentEndpoint,
	QueryEndpoint.Path:   QueryEndpoint,
}

// LookupEndpoint finds the rules for a path; unknown paths are never signed.
func LookupEndpoint(path string) (*Endpoint, bool) {
	e, ok := Endpoints[path]
	return e, ok
}
