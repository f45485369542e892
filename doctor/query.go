package doctor

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// ProbeOrderNo is an out_trade_no no application issues: querying it
// touches no order, and QFPay answers with its verdict on the request's
// app_code and signature.
func ProbeOrderNo() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "qfsign-doctor-" + hex.EncodeToString(b)
}

// QueryVerdict reads QFPay's answer to the signed query. Only respcd 0000
// proves that QFPay took the app_code and the signature: 1108 is a
// signature QFPay rejects, 1150 an app_code it does not know, 1100 (busy,
// or an app_code in the wrong environment) and anything else leave the
// credentials unproven, so they fail too.
func QueryVerdict(status int, body []byte) (Status, string) {
	if status != http.StatusOK {
		return Fail, fmt.Sprintf("HTTP %d: not an answer of QFPay's API", status)
	}
	var a struct {
		Respcd  string            `json:"respcd"`
		Resperr string            `json:"resperr"`
		Data    []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(body, &a); err != nil || a.Respcd == "" {
		return Fail, fmt.Sprintf("the answer has no respcd (%d bytes): not QFPay's API", len(body))
	}
	why := ""
	if a.Resperr != "" {
		why = " " + quote(a.Resperr)
	}
	switch a.Respcd {
	case "0000":
		return OK, fmt.Sprintf("QFPay accepted app_code and signature (respcd 0000, %d rows for an out_trade_no that cannot exist)", len(a.Data))
	case "1108":
		return Fail, "QFPay rejected the signature (respcd 1108" + why + "): the client_key is not the one QFPay holds for this app_code, or sign_type differs"
	case "1150":
		return Fail, "QFPay does not know the app_code (respcd 1150" + why + ")"
	case "1100":
		return Fail, "QFPay did not accept the request (respcd 1100" + why + "): busy, or the app_code belongs to another environment"
	}
	return Fail, "QFPay did not accept the request (respcd " + quote(a.Respcd) + why + ")"
}

// quote shows QFPay's text safely: bounded, control characters escaped.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Sprintf("%q", s)
	}
	return s
}
