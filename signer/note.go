package signer

import "net/http"

// AddNoteEndpoint is POST /trade/v1/add_note: a remark on a transaction,
// offered by QFPay only to merchants without an mchid (API.md section 6).
//
// QFPay also wants the app code in the form field "code". The caller must
// not send it: Validate refuses it (RuleForbidden), and the gateway adds
// it from the merchant's credentials at signing time (AppCodeField,
// WithAppCode), so an application never picks whose app code is signed.
var AddNoteEndpoint = newEndpoint(Endpoint{
	Path:         "/trade/v1/add_note",
	Method:       http.MethodPost,
	AppCodeField: "code",
	Fields: []Field{
		required(syssnField),
		// 200 characters, not bytes. The byte bound refuses a huge value
		// before counting runes; it never refuses 200 valid characters.
		{Name: "note", Required: true, Checks: []Check{MaxBytes(800), MaxChars(200), NoControl}},
	},
	Cross: []CrossCheck{noteWithoutMchID},
})

// noteWithoutMchID refuses add_note for a merchant QFPay issued an mchid:
// QFPay would answer 1101 after the call was signed and sent.
func noteWithoutMchID(_ Params, pol *Policy) error {
	if pol != nil && pol.MchID != "" {
		return fieldErr("mchid", RuleNotAllowed, "add_note is only for merchants without an mchid, and this merchant has one")
	}
	return nil
}
