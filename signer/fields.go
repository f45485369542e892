package signer

// Field rules shared by the trade endpoints, so that payment, refund and
// cancel cannot drift apart on what an amount or an id looks like.

// Checks of one transaction id: syssn is QFPay's, out_trade_no the merchant's.
var (
	syssnChecks      = []Check{MaxBytes(40), PrintableNoSpace}
	outTradeNoChecks = []Check{MaxBytes(128), PrintableNoSpace}
)

var (
	syssnField      = Field{Name: "syssn", Checks: syssnChecks}
	outTradeNoField = Field{Name: "out_trade_no", Checks: outTradeNoChecks}
	// txamtField is in minor units: digits, > 0, Int(11).
	txamtField = Field{Name: "txamt", Required: true, Checks: []Check{Digits, MaxBytes(11), Positive}}
	// txdtmField defaults to now in the merchant's zone, so a caller
	// without a clock in the right zone can leave it out.
	txdtmField = Field{Name: "txdtm", Required: true, Checks: []Check{DateTime}, Default: nowInZone}
	udidField  = Field{Name: "udid", Checks: []Check{MaxBytes(40)}}
)

// required returns f as a required field.
func required(f Field) Field {
	f.Required = true
	return f
}

func nowInZone(pol *Policy) string { return pol.now().In(pol.location()).Format(QFPayTime) }
