package signer

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// validateRules are the only rules Validate may report.
var validateRules = []string{
	RuleForbidden, RuleMismatch, RuleRequired, RuleDigits, RulePositive, RuleMaxLen, RuleOneOf,
	RulePrintable, RuleDateTime, RuleRange, RuleNotAllowed, RuleURL, RuleSyntax, RuleControl, RuleCase,
}

// fuzzPolicies index the policy argument of FuzzValidate.
func fuzzPolicies() []*Policy {
	now := func() time.Time { return time.Date(2025, 11, 17, 10, 0, 0, 0, time.UTC) }
	return []*Policy{
		nil, // the zero configuration: no mchid, every pay type, Hong Kong, time.Now
		{Now: now},
		{MchID: "ZaMVg12345", Now: now, Location: time.FixedZone("UTC+14", 14*3600)},
		{PayTypes: set("801101", "801107", "800108", "801510"), Now: now, Location: time.FixedZone("UTC-12", -12*3600)},
	}
}

// dateFields hold YYYY-MM-DD hh:mm:ss after validation.
var dateFields = []string{"txdtm", "start_time", "end_time"}

// FuzzValidate runs every endpoint's Validate on every parsed fuzzed form
// under several merchant policies. It never panics. On success the
// output is sorted with unique names and no empty value; every required
// field is present; no credential-like name (sign, key, client_key,
// appcode, app_code, any case) nor the endpoint's app-code field is
// present; mchid is exactly the merchant's; nothing is invented (every
// name came from the caller, a default or the mchid) and fields without
// rules pass through unchanged; dates are YYYY-MM-DD hh:mm:ss; amounts
// and ids keep docs/requests.md's rules; and validating the output again gives
// the same output (normalisation is idempotent). On failure the error is
// a *FieldError naming a field, with a known rule, whose message never
// repeats a value and whose text never repeats the offending value.
func FuzzValidate(f *testing.F) {
	pols := fuzzPolicies()
	for _, s := range formSeeds {
		for i := range pols {
			f.Add([]byte(s), uint8(i))
		}
	}
	for _, v := range loadFuzzVectors(f).Request {
		f.Add([]byte(v.WireBody), uint8(1))
	}
	paths := EndpointPaths()

	f.Fuzz(func(t *testing.T, body []byte, policy uint8) {
		if len(body) > maxFormInput {
			return
		}
		in, err := ParseForm(body, nil)
		if err != nil {
			return
		}
		pol := pols[int(policy)%len(pols)]
		for _, path := range paths {
			e := Endpoints[path]
			out, err := e.Validate(slices.Clone(in), pol)
			if err != nil {
				checkValidateError(t, path, in, err)
				continue
			}
			checkValidated(t, e, pol, in, out)
			again, err := e.Validate(slices.Clone(out), pol)
			if err != nil {
				t.Fatalf("%s: Validate refuses its own output %q: %v", path, out, err)
			}
			if !slices.Equal(again, out) {
				t.Fatalf("%s: Validate is not idempotent:\n once %q\ntwice %q", path, out, again)
			}
		}
	})
}

func checkValidateError(t *testing.T, path string, input Params, err error) {
	t.Helper()
	fe := mustFieldError(t, err, validateRules...)
	if fe.Field == "" {
		t.Fatalf("%s: error %v names no field", path, err)
	}
	for _, kv := range input {
		if len(kv.Value) >= 8 && strings.Contains(fe.Msg, kv.Value) {
			t.Fatalf("%s: error message %q repeats the value of %s", path, fe.Msg, kv.Name)
		}
	}
	// The offending value must not appear anywhere in the text, except
	// inside the field name or the rule code that the text quotes.
	if v, ok := input.Get(fe.Field); ok && len(v) >= 8 && strings.Contains(fe.Error(), v) &&
		!strings.Contains(strconv.Quote(fe.Field), v) && !strings.Contains(fe.Rule, v) {
		t.Fatalf("%s: error %q repeats the value of %s", path, fe.Error(), fe.Field)
	}
}

func checkValidated(t *testing.T, e *Endpoint, pol *Policy, input, out Params) {
	t.Helper()
	path := e.Path
	for i, kv := range out {
		if kv.Value == "" {
			t.Fatalf("%s: empty value for %s in %q", path, kv.Name, out)
		}
		if i > 0 && out[i-1].Name >= kv.Name {
			t.Fatalf("%s: output not strictly ascending: %q", path, out)
		}
		switch lower := strings.ToLower(kv.Name); lower {
		case "sign", "key", "client_key", "appcode", "app_code":
			t.Fatalf("%s: credential-like field %q in the output", path, kv.Name)
		default:
			if e.AppCodeField != "" && lower == strings.ToLower(e.AppCodeField) {
				t.Fatalf("%s: caller-sent app-code field %q in the output", path, kv.Name)
			}
		}
		f := fieldOf(e, kv.Name)
		inV, sent := input.Get(kv.Name)
		switch {
		case kv.Name == "mchid":
		case !sent || inV == "":
			if f == nil || !f.Required || f.Default == nil {
				t.Fatalf("%s: output field %q was neither sent nor defaulted", path, kv.Name)
			}
		case f == nil && kv.Value != inV:
			t.Fatalf("%s: pass-through field %q changed from %q to %q", path, kv.Name, inV, kv.Value)
		}
	}
	for _, f := range e.Fields {
		if _, ok := out.Get(f.Name); f.Required && !ok {
			t.Fatalf("%s: required field %s missing from %q", path, f.Name, out)
		}
	}
	mchid, ok := out.Get("mchid")
	if want := policyMchID(pol); ok != (want != "") || mchid != want {
		t.Fatalf("%s: mchid %q (present %v), merchant's %q", path, mchid, ok, want)
	}
	for _, name := range dateFields {
		if v, ok := out.Get(name); ok && fieldOf(e, name) != nil {
			if _, err := time.Parse(QFPayTime, v); len(v) != len(QFPayTime) || err != nil {
				t.Fatalf("%s: %s = %q, not YYYY-MM-DD hh:mm:ss", path, name, v)
			}
		}
	}
	if v, ok := out.Get("txamt"); ok && fieldOf(e, "txamt") != nil {
		if len(v) > 11 || strings.Trim(v, "0123456789") != "" || strings.Trim(v, "0") == "" {
			t.Fatalf("%s: txamt %q breaks digits, > 0, <= 11 digits", path, v)
		}
	}
	if e == PaymentEndpoint {
		cur, _ := out.Get("txcurrcd")
		if !in(Currencies, cur) {
			t.Fatalf("%s: txcurrcd %q", path, cur)
		}
		if pt, _ := out.Get("pay_type"); !pol.allowsPayType(pt) {
			t.Fatalf("%s: pay_type %q not allowed for the merchant", path, pt)
		}
		if g, ok := out.Get("goods_name"); ok && (utf8.RuneCountInString(g) > 20 || len(g) > 64) {
			t.Fatalf("%s: goods_name %q too long", path, g)
		}
		if x, ok := out.Get("expired_time"); ok {
			if n, err := strconv.Atoi(x); err != nil || n < 5 || n > 120 || strconv.Itoa(n) != x {
				t.Fatalf("%s: expired_time %q", path, x)
			}
		}
	}
	if id, ok := out.Get("out_trade_no"); ok && e != QueryEndpoint && (len(id) > 128 || !printableASCII(id)) {
		t.Fatalf("%s: out_trade_no %q", path, id)
	}
	if withCode := e.WithAppCode(slices.Clone(out), "APPCODE"); e.AppCodeField != "" {
		if v, _ := withCode.Get(e.AppCodeField); v != "APPCODE" || len(withCode) != len(out)+1 {
			t.Fatalf("%s: WithAppCode gave %q", path, withCode)
		}
	} else if !slices.Equal(withCode, out) {
		t.Fatalf("%s: WithAppCode changed params of an endpoint without an app-code field", path)
	}
}

func fieldOf(e *Endpoint, name string) *Field {
	for i := range e.Fields {
		if e.Fields[i].Name == name {
			return &e.Fields[i]
		}
	}
	return nil
}

func policyMchID(pol *Policy) string {
	if pol == nil {
		return ""
	}
	return pol.MchID
}
