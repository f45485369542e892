package signer

import "strings"

// optionalNames are fields an endpoint documents or that QFPay's own
// integrations send, without a rule of the gateway's: they are signed
// as sent and are not "unknown". From shared/qfpay/API.md section 8
// ("others", and txzone) and, for product_name, QFPay's Python sample
// (tests/integrations_test.go).
var optionalNames = map[string]map[string]struct{}{
	PaymentEndpoint.Path: set("pay_tag", "limit_pay", "sub_openid", "openid", "extend_info", "goods_info",
		"rmb_tag", "txzone", "product_name"),
}

// Unknown reports whether name is none of the endpoint's fields, its
// documented optional ones, mchid, or a name Validate refuses anyway (a
// credential name, or a known field in another case). Unknown names are
// signed as sent unless the operator refuses them.
func (e *Endpoint) Unknown(name string) bool {
	if e.Known(name) || in(optionalNames[e.Path], name) {
		return false
	}
	if in(forbiddenNames, strings.ToLower(name)) {
		return false
	}
	known, ok := knownNames()[strings.ToLower(name)]
	return !ok || known == name
}
