package signer

import "net/http"

// PaymentEndpoint is POST /trade/v1/payment (API.md section 8).
var PaymentEndpoint = newEndpoint(Endpoint{
	Path:   "/trade/v1/payment",
	Method: http.MethodPost,
	Fields: []Field{
		txamtField,
		{Name: "txcurrcd", Required: true, Checks: []Check{Upper, OneOf(Currencies, "13 QFPay currencies")}},
		{Name: "pay_type", Required: true, Checks: []Check{PayTypeAllowed}},
		required(outTradeNoField),
		txdtmField,
		{Name: "expired_time", Checks: []Check{IntRange(5, 120)}},
		{Name: "goods_name", Checks: []Check{MaxChars(20), MaxBytes(64)}},
		udidField,
		{Name: "return_url", Checks: []Check{AbsURL(512)}},
		{Name: "notify_url", Checks: []Check{AbsURL(256)}},
		{Name: "auth_code", Checks: []Check{MaxBytes(128), PrintableNoSpace}},
	},
	Cross:       []CrossCheck{expiredTimeOnlyForQR, shortReturnURL, authCodeForCPM, goodsNameForInApp},
	UniqueOrder: true,
})

// QueryEndpoint is POST /trade/v1/query (API.md section 6).
var QueryEndpoint = newEndpoint(Endpoint{
	Path:   "/trade/v1/query",
	Method: http.MethodPost,
	// PHP integrations query with GET ?out_trade_no=...: read-only, so
	// the gateway takes it and forwards the documented POST.
	AcceptGet: true,
	Fields: []Field{
		{Name: "syssn", Checks: []Check{CommaList(100, syssnChecks...)}},
		{Name: "out_trade_no", Checks: []Check{CommaList(100, outTradeNoChecks...)}},
		{Name: "pay_type", Checks: []Check{CommaList(50, PayTypeAllowed)}},
		{Name: "respcd", Checks: []Check{Digits, MaxBytes(4)}},
		{Name: "start_time", Checks: []Check{DateTime}},
		{Name: "end_time", Checks: []Check{DateTime}},
		{Name: "page", Checks: []Check{IntRange(1, 100000)}},
		{Name: "page_size", Checks: []Check{IntRange(1, 100)}},
	},
})

func expiredTimeOnlyForQR(p Params, _ *Policy) error {
	if _, ok := p.Get("expired_time"); ok {
		if pt, _ := p.Get("pay_type"); !in(expiringTypes, pt) {
			return fieldErr("expired_time", RuleNotAllowed, "only QR and online pay types accept expired_time")
		}
	}
	return nil
}

func shortReturnURL(p Params, _ *Policy) error {
	if u, ok := p.Get("return_url"); ok && len(u) > 200 {
		if pt, _ := p.Get("pay_type"); in(shortReturnURLTypes, pt) {
			return fieldErr("return_url", RuleMaxLen, "must be at most 200 bytes for Alipay WAP (801107, 801512)")
		}
	}
	return nil
}

func authCodeForCPM(p Params, _ *Policy) error {
	pt, _ := p.Get("pay_type")
	if _, ok := p.Get("auth_code"); !ok && in(cpmTypes, pt) {
		return fieldErr("auth_code", RuleRequired, "customer-presented-code pay types need auth_code")
	}
	return nil
}

func goodsNameForInApp(p Params, _ *Policy) error {
	pt, _ := p.Get("pay_type")
	if _, ok := p.Get("goods_name"); !ok && in(inAppTypes, pt) {
		return fieldErr("goods_name", RuleRequired, "in-app pay types need goods_name")
	}
	return nil
}
