package signer

import "net/http"

// cancelFields are the fields of reversal and close, which cancel an
// unfinished payment named by syssn or out_trade_no (API.md section 6).
// Both ids may be sent: QFPay checks that they name the same payment.
var cancelFields = []Field{
	syssnField,
	outTradeNoField,
	txamtField,
	txdtmField,
	udidField,
}

// ReversalEndpoint is POST /trade/v1/reversal.
var ReversalEndpoint = newEndpoint(Endpoint{
	Path:   "/trade/v1/reversal",
	Method: http.MethodPost,
	Fields: cancelFields,
	Cross:  []CrossCheck{needPaymentID},
})

// CloseEndpoint is GET /trade/v1/close: the same fields as reversal,
// carried in the query string.
var CloseEndpoint = newEndpoint(Endpoint{
	Path:   "/trade/v1/close",
	Method: http.MethodGet,
	Fields: cancelFields,
	Cross:  []CrossCheck{needPaymentID},
})

// needPaymentID refuses a cancel that names no payment. The error names
// syssn, the id QFPay issued, and its message offers out_trade_no too:
// a form-level "field" must be one real field name.
func needPaymentID(p Params, _ *Policy) error {
	_, bySyssn := p.Get("syssn")
	_, byOrder := p.Get("out_trade_no")
	if !bySyssn && !byOrder {
		return fieldErr("syssn", RuleRequired, "send syssn or out_trade_no to name the payment to cancel")
	}
	return nil
}
