package signer

import "net/http"

// RefundEndpoint is POST /trade/v1/refund (API.md section 6). syssn names
// the original payment; out_trade_no is the refund's own, new number,
// unique across payments and refunds like a payment's. txamt is the
// amount to refund, which may be less than the payment's.
var RefundEndpoint = newEndpoint(Endpoint{
	Path:   "/trade/v1/refund",
	Method: http.MethodPost,
	Fields: []Field{
		required(syssnField),
		required(outTradeNoField),
		txamtField,
		txdtmField,
		udidField,
	},
	UniqueOrder: true,
})
