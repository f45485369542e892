package signer

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// Valid base forms of the endpoints beside payment; cases override single fields.
var (
	refundBase = map[string]string{"syssn": "20251117000200020001", "out_trade_no": "REFUND-1",
		"txamt": "500", "txdtm": "2025-11-17 18:05:00"}
	cancelBase = map[string]string{"syssn": "20251117000200020001", "txamt": "1500", "txdtm": "2025-11-17 18:05:00"}
	noteBase   = map[string]string{"syssn": "20251117000200020001", "note": "gift wrap"}
)

func TestTradeEndpointRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	m := func(kv ...string) map[string]string {
		out := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			out[kv[i]] = kv[i+1]
		}
		return out
	}
	withMchID := &Policy{MchID: "M1"}
	tests := []struct {
		ep   *Endpoint
		base map[string]string
		ruleCase
	}{
		{RefundEndpoint, refundBase, ruleCase{name: "refund ok", field: "syssn", want: "20251117000200020001"}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund syssn missing", over: m("syssn", "<absent>"), rule: RuleRequired}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund syssn space", over: m("syssn", "2025 1117"), rule: RulePrintable}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund syssn 41", over: m("syssn", long(41)), rule: RuleMaxLen}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund out_trade_no missing", over: m("out_trade_no", "<absent>"), rule: RuleRequired}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund out_trade_no 128", over: m("out_trade_no", long(128)), field: "out_trade_no", want: long(128)}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund out_trade_no 129", over: m("out_trade_no", long(129)), rule: RuleMaxLen}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txamt missing", over: m("txamt", "<absent>"), rule: RuleRequired}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txamt zero", over: m("txamt", "0"), rule: RulePositive}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txamt letter", over: m("txamt", "12a"), rule: RuleDigits}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txamt 12 digits", over: m("txamt", "100000000000"), rule: RuleMaxLen}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txdtm filled", over: m("txdtm", "<absent>"), field: "txdtm", want: "2025-11-17 18:00:00"}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund txdtm bad", over: m("txdtm", "17/11/2025"), rule: RuleDateTime}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund udid 41", over: m("udid", long(41)), rule: RuleMaxLen}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund mchid injected", pol: withMchID, field: "mchid", want: "M1"}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund mchid differs", over: m("mchid", "M2"), pol: withMchID, rule: RuleMismatch}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund sign refused", over: m("sign", "x"), rule: RuleForbidden}},
		{RefundEndpoint, refundBase, ruleCase{name: "refund code is ordinary", over: m("code", "x"), field: "code", want: "x"}},

		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal by syssn", field: "syssn", want: "20251117000200020001"}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal by out_trade_no",
			over: m("syssn", "<absent>", "out_trade_no", "ORDER-1"), field: "out_trade_no", want: "ORDER-1"}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal both ids", over: m("out_trade_no", "ORDER-1"), field: "syssn", want: "20251117000200020001"}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal neither id", over: m("syssn", "<absent>"), rule: RuleRequired}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal empty ids are missing",
			over: m("syssn", "", "out_trade_no", ""), rule: RuleRequired, bad: "syssn"}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal syssn space", over: m("syssn", "A 1"), rule: RulePrintable}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal out_trade_no 129", over: m("out_trade_no", long(129)), rule: RuleMaxLen}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal txamt missing", over: m("txamt", "<absent>"), rule: RuleRequired}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal txamt zero", over: m("txamt", "0"), rule: RulePositive}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal txdtm filled", over: m("txdtm", "<absent>"), field: "txdtm", want: "2025-11-17 18:00:00"}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal udid 40", over: m("udid", long(40)), field: "udid", want: long(40)}},
		{ReversalEndpoint, cancelBase, ruleCase{name: "reversal sign refused", over: m("sign", "x"), rule: RuleForbidden}},

		{CloseEndpoint, cancelBase, ruleCase{name: "close by out_trade_no",
			over: m("syssn", "<absent>", "out_trade_no", "ORDER-1"), field: "out_trade_no", want: "ORDER-1"}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close neither id", over: m("syssn", "<absent>"), rule: RuleRequired}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close txamt letter", over: m("txamt", "12a"), rule: RuleDigits}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close txamt 12 digits", over: m("txamt", "100000000000"), rule: RuleMaxLen}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close txdtm filled", over: m("txdtm", "<absent>"), field: "txdtm", want: "2025-11-17 18:00:00"}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close mchid injected", pol: withMchID, field: "mchid", want: "M1"}},
		{CloseEndpoint, cancelBase, ruleCase{name: "close key refused", over: m("key", "x"), rule: RuleForbidden}},

		{AddNoteEndpoint, noteBase, ruleCase{name: "note ok", field: "note", want: "gift wrap"}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note code not added by Validate", field: "code", want: "<absent>"}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note 200 CJK characters", over: m("note", strings.Repeat("測", 200)),
			field: "note", want: strings.Repeat("測", 200)}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note 200 emoji is 800 bytes", over: m("note", strings.Repeat("😀", 200)),
			field: "note", want: strings.Repeat("😀", 200)}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note 201 CJK characters", over: m("note", strings.Repeat("測", 201)), rule: RuleMaxLen}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note 201 ASCII", over: m("note", long(201)), rule: RuleMaxLen}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note NUL", over: m("note", "gift\x00wrap"), rule: RuleControl}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note line break", over: m("note", "gift\nwrap"), rule: RuleControl}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note C1 control", over: m("note", "gift\u0085wrap"), rule: RuleControl}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note missing", over: m("note", "<absent>"), rule: RuleRequired}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note syssn missing", over: m("syssn", "<absent>"), rule: RuleRequired}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note syssn space", over: m("syssn", "A 1"), rule: RulePrintable}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note code refused", over: m("code", "APP1"), rule: RuleForbidden}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note CODE refused", over: m("CODE", "APP1"), rule: RuleCase}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note sign refused", over: m("sign", "x"), rule: RuleForbidden}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note app_code refused", over: m("app_code", "x"), rule: RuleForbidden}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note merchant with mchid", pol: withMchID, rule: RuleNotAllowed, bad: "mchid"}},
		{AddNoteEndpoint, noteBase, ruleCase{name: "note caller mchid without config", over: m("mchid", "M1"), rule: RuleForbidden}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, tt.ep, tt.base) })
	}
}

func TestEndpointPathsRoundTrip(t *testing.T) {
	paths := EndpointPaths()
	if len(paths) != len(Endpoints) || !slices.IsSorted(paths) {
		t.Fatalf("EndpointPaths() = %v, want the %d keys of Endpoints, sorted", paths, len(Endpoints))
	}
	for _, p := range paths {
		ep, ok := LookupEndpoint(p)
		if !ok || ep != Endpoints[p] || ep.Path != p {
			t.Errorf("LookupEndpoint(%q) = %v, %v", p, ep, ok)
		}
	}
	for _, p := range []string{"/trade/v1/refund/", "/trade/v1/Refund", "/trade/v1/notes", ""} {
		if _, ok := LookupEndpoint(p); ok {
			t.Errorf("LookupEndpoint(%q) found an endpoint", p)
		}
	}
}

func TestEndpointProperties(t *testing.T) {
	tests := []struct {
		ep      *Endpoint
		method  string
		unique  bool
		appCode string
	}{
		{PaymentEndpoint, http.MethodPost, true, ""},
		{QueryEndpoint, http.MethodPost, false, ""},
		{RefundEndpoint, http.MethodPost, true, ""},
		{ReversalEndpoint, http.MethodPost, false, ""},
		{CloseEndpoint, http.MethodGet, false, ""},
		{AddNoteEndpoint, http.MethodPost, false, "code"},
	}
	if len(tests) != len(Endpoints) {
		t.Fatalf("%d endpoints registered, %d described here", len(Endpoints), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.ep.Path, func(t *testing.T) {
			e := tt.ep
			if e.Method != tt.method || e.ParamsInQuery() != (tt.method == http.MethodGet) {
				t.Errorf("Method = %s, ParamsInQuery = %v", e.Method, e.ParamsInQuery())
			}
			if e.UniqueOrder != tt.unique || e.AppCodeField != tt.appCode {
				t.Errorf("UniqueOrder = %v, AppCodeField = %q", e.UniqueOrder, e.AppCodeField)
			}
		})
	}
}

func TestCancelEndpointsShareFields(t *testing.T) {
	names := func(e *Endpoint) (out []string) {
		for _, f := range e.Fields {
			out = append(out, f.Name)
		}
		return out
	}
	if r, c := names(ReversalEndpoint), names(CloseEndpoint); !slices.Equal(r, c) {
		t.Errorf("reversal fields %v, close fields %v", r, c)
	}
}

func TestWithAppCode(t *testing.T) {
	p, err := validateOn(t, AddNoteEndpoint, noteBase, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p = AddNoteEndpoint.WithAppCode(p, "APP1")
	if got := p.Canonical(); got != "code=APP1&note=gift wrap&syssn=20251117000200020001" {
		t.Errorf("canonical = %q", got)
	}
	q := FromMap(refundBase)
	if got := RefundEndpoint.WithAppCode(q, "APP1"); !slices.Equal(got, q) {
		t.Errorf("refund gained fields: %v", got)
	}
}

func TestNoControl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"plain", "gift wrap", true},
		{"CJK and emoji", "請包裝 😀", true},
		{"empty", "", true},
		{"NUL", "\x00", false},
		{"tab", "a\tb", false},
		{"CR", "a\rb", false},
		{"LF", "a\nb", false},
		{"DEL", "a\x7fb", false},
		{"C1 NEL", "a\u0085b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NoControl(tt.in, nil)
			if tt.ok {
				if err != nil || v != tt.in {
					t.Errorf("NoControl = %q, %v", v, err)
				}
				return
			}
			if fe, ok := AsFieldError(err); !ok || fe.Rule != RuleControl {
				t.Errorf("err = %v, want rule %s", err, RuleControl)
			}
		})
	}
}
