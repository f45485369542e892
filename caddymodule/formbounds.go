package caddymodule

import (
	"net/http"
	"strconv"

	"github.com/qfsign/qfsign/signer"
)

// ruleFormSize: the form to sign, query string and body merged, is
// larger than max_fields fields or max_body bytes.
const ruleFormSize = "form_size"

// defaultMaxFields bounds the fields signed: QFPay's payment documents
// 19 fields, its largest request (the seed's merchant registration
// vector) 29; 64 leaves room for fields QFPay adds and integrations send.
const defaultMaxFields = 64

// checkFormSize bounds the merged form: max_body bounds the body alone
// as it is read, and the query string adds to what is signed, so both
// together are held to max_body here, and the fields to max_fields.
// The refusal names the first field past the bound.
func (h *Gateway) checkFormSize(queryLen, bodyLen int, p signer.Params) *refusal {
	maxFields := h.MaxFields
	if maxFields == 0 {
		maxFields = defaultMaxFields
	}
	if len(p) > maxFields {
		return &refusal{Status: http.StatusRequestEntityTooLarge, Field: p[maxFields].Name, Rule: ruleFormSize,
			Error: "the form has " + strconv.Itoa(len(p)) + " fields, more than max_fields " + strconv.Itoa(maxFields)}
	}
	if int64(queryLen)+int64(bodyLen) > h.MaxBody {
		return &refusal{Status: http.StatusRequestEntityTooLarge, Rule: ruleFormSize,
			Error: "the query string and body together are larger than max_body " + strconv.FormatInt(h.MaxBody, 10) + " bytes"}
	}
	return nil
}
