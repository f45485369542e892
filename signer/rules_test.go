package signer

import (
	"strings"
	"testing"
	"time"
)

// base is a valid Alipay online payment; cases override single fields.
var base = map[string]string{
	"txamt": "1500", "txcurrcd": "HKD", "pay_type": "801101",
	"out_trade_no": "ORDER-1", "txdtm": "2025-11-17 18:00:00",
}

var fixedNow = time.Date(2025, 11, 17, 10, 0, 0, 0, time.UTC)

func validate(t *testing.T, over map[string]string, pol *Policy) (Params, error) {
	t.Helper()
	return validateOn(t, PaymentEndpoint, base, over, pol)
}

// validateOn validates base with over applied ("<absent>" deletes a field)
// at fixedNow.
func validateOn(t *testing.T, ep *Endpoint, base, over map[string]string, pol *Policy) (Params, error) {
	t.Helper()
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for k, v := range over {
		if v == "<absent>" {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	if pol == nil {
		pol = &Policy{}
	}
	if pol.Now == nil {
		pol.Now = func() time.Time { return fixedNow }
	}
	return ep.Validate(FromMap(m), pol)
}

// ruleCase is one Validate call on an endpoint's base form.
type ruleCase struct {
	name  string
	over  map[string]string
	pol   *Policy
	field string // expected value of field on success ("" skips)
	want  string
	rule  string // expected rule on failure
	bad   string // expected failing field (default: the only key of over)
}

// check runs the case on ep and base: the exact field and rule on
// failure, never echoing the value; the field's value on success.
func (tt ruleCase) check(t *testing.T, ep *Endpoint, base map[string]string) {
	t.Helper()
	p, err := validateOn(t, ep, base, tt.over, tt.pol)
	if tt.rule != "" {
		wantField := tt.bad
		if wantField == "" {
			for k := range tt.over {
				wantField = k
			}
		}
		fe, ok := AsFieldError(err)
		if !ok || fe.Rule != tt.rule || fe.Field != wantField {
			t.Fatalf("err = %v, want field %q rule %q", err, wantField, tt.rule)
		}
		if strings.Contains(fe.Error(), tt.over[wantField]) && len(tt.over[wantField]) > 3 {
			t.Errorf("error echoes the value: %v", fe)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	got, ok := p.Get(tt.field)
	if !ok {
		got = "<absent>"
	}
	if got != tt.want {
		t.Errorf("%s = %q, want %q", tt.field, got, tt.want)
	}
}

func TestPaymentFieldRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	url := func(n int) string { return "https://shop.example/" + long(n-len("https://shop.example/")) }
	tests := []ruleCase{
		{name: "txamt ok", over: map[string]string{"txamt": "1"}, field: "txamt", want: "1"},
		{name: "txamt 11 digits", over: map[string]string{"txamt": "99999999999"}, field: "txamt", want: "99999999999"},
		{name: "txamt 12 digits", over: map[string]string{"txamt": "100000000000"}, rule: RuleMaxLen},
		{name: "txamt zero", over: map[string]string{"txamt": "000"}, rule: RulePositive},
		{name: "txamt decimal", over: map[string]string{"txamt": "1.50"}, rule: RuleDigits},
		{name: "txamt negative", over: map[string]string{"txamt": "-1"}, rule: RuleDigits},
		{name: "txamt missing", over: map[string]string{"txamt": "<absent>"}, rule: RuleRequired},
		{name: "txamt empty is missing", over: map[string]string{"txamt": ""}, rule: RuleRequired},
		{name: "txcurrcd lower-case normalised", over: map[string]string{"txcurrcd": "hkd"}, field: "txcurrcd", want: "HKD"},
		{name: "txcurrcd JPY", over: map[string]string{"txcurrcd": "JPY"}, field: "txcurrcd", want: "JPY"},
		{name: "txcurrcd unknown", over: map[string]string{"txcurrcd": "GBP"}, rule: RuleOneOf},
		{name: "pay_type HK WAP", over: map[string]string{"pay_type": "801512"}, field: "pay_type", want: "801512"},
		{name: "pay_type unknown", over: map[string]string{"pay_type": "801199"}, rule: RuleOneOf},
		{name: "pay_type outside merchant list", over: map[string]string{"pay_type": "801107"},
			pol: &Policy{PayTypes: set("801101")}, rule: RuleOneOf},
		{name: "out_trade_no 128", over: map[string]string{"out_trade_no": long(128)}, field: "out_trade_no", want: long(128)},
		{name: "out_trade_no 129", over: map[string]string{"out_trade_no": long(129)}, rule: RuleMaxLen},
		{name: "out_trade_no space", over: map[string]string{"out_trade_no": "A 1"}, rule: RulePrintable},
		{name: "out_trade_no non-ascii", over: map[string]string{"out_trade_no": "訂單1"}, rule: RulePrintable},
		{name: "txdtm filled in HK time", over: map[string]string{"txdtm": "<absent>"}, field: "txdtm", want: "2025-11-17 18:00:00"},
		{name: "txdtm filled in merchant zone", over: map[string]string{"txdtm": "<absent>"},
			pol: &Policy{Location: time.FixedZone("X", 9*3600)}, field: "txdtm", want: "2025-11-17 19:00:00"},
		{name: "txdtm RFC 3339 converted", over: map[string]string{"txdtm": "2025-11-17T10:00:00Z"}, field: "txdtm", want: "2025-11-17 18:00:00"},
		{name: "txdtm not a date", over: map[string]string{"txdtm": "2025-02-30 10:00:00"}, rule: RuleDateTime},
		{name: "txdtm fraction", over: map[string]string{"txdtm": "2025-11-17 18:00:00.5"}, rule: RuleDateTime},
		{name: "txdtm slash", over: map[string]string{"txdtm": "2025/11/17 18:00:00"}, rule: RuleDateTime},
		{name: "txdtm hour 24", over: map[string]string{"txdtm": "2025-11-17 24:00:00"}, rule: RuleDateTime},
		{name: "expired_time 5", over: map[string]string{"expired_time": "5"}, field: "expired_time", want: "5"},
		{name: "expired_time leading zero", over: map[string]string{"expired_time": "030"}, field: "expired_time", want: "30"},
		{name: "expired_time 121", over: map[string]string{"expired_time": "121"}, rule: RuleRange},
		{name: "expired_time 4", over: map[string]string{"expired_time": "4"}, rule: RuleRange},
		{name: "expired_time text", over: map[string]string{"expired_time": "ten"}, rule: RuleRange},
		{name: "expired_time on CPM", over: map[string]string{"expired_time": "10", "pay_type": "800108", "auth_code": "2888"},
			rule: RuleNotAllowed, bad: "expired_time"},
		{name: "goods_name 20 chars", over: map[string]string{"goods_name": strings.Repeat("測", 20)}, field: "goods_name", want: strings.Repeat("測", 20)},
		{name: "goods_name 21 chars", over: map[string]string{"goods_name": long(21)}, rule: RuleMaxLen},
		{name: "goods_name over 64 bytes", over: map[string]string{"goods_name": strings.Repeat("😀", 17)}, rule: RuleMaxLen},
		{name: "udid 40", over: map[string]string{"udid": long(40)}, field: "udid", want: long(40)},
		{name: "udid 41", over: map[string]string{"udid": long(41)}, rule: RuleMaxLen},
		{name: "return_url 512", over: map[string]string{"return_url": url(512)}, field: "return_url", want: url(512)},
		{name: "return_url 513", over: map[string]string{"return_url": url(513)}, rule: RuleMaxLen},
		{name: "return_url relative", over: map[string]string{"return_url": "/done"}, rule: RuleURL},
		{name: "return_url javascript", over: map[string]string{"return_url": "javascript:alert(1)"}, rule: RuleURL},
		{name: "return_url 201 on WAP", over: map[string]string{"return_url": url(201), "pay_type": "801107"}, rule: RuleMaxLen, bad: "return_url"},
		{name: "return_url 200 on HK WAP", over: map[string]string{"return_url": url(200), "pay_type": "801512"}, field: "return_url", want: url(200)},
		{name: "notify_url ok", over: map[string]string{"notify_url": "http://a.example/n"}, field: "notify_url", want: "http://a.example/n"},
		{name: "notify_url 257", over: map[string]string{"notify_url": url(257)}, rule: RuleMaxLen},
		{name: "notify_url ftp", over: map[string]string{"notify_url": "ftp://a.example/"}, rule: RuleURL},
		{name: "mchid set from config", pol: &Policy{MchID: "M1"}, field: "mchid", want: "M1"},
		{name: "mchid same as config", over: map[string]string{"mchid": "M1"}, pol: &Policy{MchID: "M1"}, field: "mchid", want: "M1"},
		{name: "mchid differs", over: map[string]string{"mchid": "M2"}, pol: &Policy{MchID: "M1"}, rule: RuleMismatch},
		{name: "mchid without config", over: map[string]string{"mchid": "M2"}, rule: RuleForbidden},
		{name: "auth_code for CPM", over: map[string]string{"pay_type": "800208", "auth_code": "134567"}, field: "auth_code", want: "134567"},
		{name: "CPM without auth_code", over: map[string]string{"pay_type": "800208"}, rule: RuleRequired, bad: "auth_code"},
		{name: "in-app without goods_name", over: map[string]string{"pay_type": "801510"}, rule: RuleRequired, bad: "goods_name"},
		{name: "unknown field passes signed", over: map[string]string{"pay_tag": "ALIPAYHK"}, field: "pay_tag", want: "ALIPAYHK"},
		{name: "sign refused", over: map[string]string{"sign": "x"}, rule: RuleForbidden},
		{name: "key refused", over: map[string]string{"key": "x"}, rule: RuleForbidden},
		{name: "client_key refused", over: map[string]string{"client_key": "x"}, rule: RuleForbidden},
		{name: "appcode refused", over: map[string]string{"appcode": "x"}, rule: RuleForbidden},
		{name: "APP_CODE refused", over: map[string]string{"APP_CODE": "x"}, rule: RuleCase},
		{name: "TXAMT beside txamt", over: map[string]string{"TXAMT": "100000"}, rule: RuleCase, bad: "TXAMT"},
		{name: "Mchid without config", over: map[string]string{"Mchid": "M9"}, rule: RuleCase, bad: "Mchid"},
		{name: "MCHID with config", over: map[string]string{"MCHID": "M9"}, pol: &Policy{MchID: "M1"}, rule: RuleCase, bad: "MCHID"},
		{name: "Sign", over: map[string]string{"Sign": "x"}, rule: RuleCase, bad: "Sign"},
		{name: "empty Out_Trade_No", over: map[string]string{"Out_Trade_No": ""}, rule: RuleCase, bad: "Out_Trade_No"},
		{name: "case variant of another endpoint's field", over: map[string]string{"NOTE": "x"}, rule: RuleCase, bad: "NOTE"},
		{name: "empty field dropped", over: map[string]string{"udid": ""}, field: "udid", want: "<absent>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.check(t, PaymentEndpoint, base) })
	}
}

func TestValidateKeepsOrder(t *testing.T) {
	p, err := validate(t, map[string]string{"txdtm": "<absent>", "zz": "1", "aa": "2"}, &Policy{MchID: "M"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p); i++ {
		if p[i-1].Name >= p[i].Name {
			t.Fatalf("not sorted: %v", p)
		}
	}
}

func TestNewPayTypeSet(t *testing.T) {
	if _, err := NewPayTypeSet([]string{"801101", "999999"}); err == nil {
		t.Error("unknown pay type accepted")
	}
	s, err := NewPayTypeSet([]string{"801101"})
	if err != nil || !in(s, "801101") || in(s, "801107") {
		t.Errorf("set = %v, %v", s, err)
	}
}

func TestClassifyRespcd(t *testing.T) {
	for code, want := range map[string]RespClass{"0000": ClassSuccess, "1143": ClassPending, "1108": ClassSignature,
		"1102": ClassDuplicate, "1294": ClassRisk, "1296": ClassCongestion, "1150": ClassFailure, "": ClassNone} {
		if got := ClassifyRespcd(code); got != want {
			t.Errorf("ClassifyRespcd(%q) = %s, want %s", code, got, want)
		}
	}
}
