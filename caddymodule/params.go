package caddymodule

import (
	"net/http"

	"github.com/qfsign/qfsign/signer"
)

// readParams returns the caller's fields in each shape legacy
// applications send: a form body; fields in a POST's query string
// (QFPay's Python sample uses requests.post(url, params=...)), merged
// with the body, a name in both refused as repeated; multipart/form-data
// of plain fields (PHP curl with an array); the query string of a GET,
// for GET endpoints and those that also accept GET. The gateway then
// forwards exactly what it signs, in the endpoint's own shape.
func (h *Gateway) readParams(r *http.Request, ep *signer.Endpoint) (signer.Params, *refusal) {
	query, err := h.parse([]byte(r.URL.RawQuery), nil)
	if err != nil {
		return nil, formRefusal(err)
	}
	if r.Method == http.MethodGet {
		if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
			return nil, &refusal{Status: http.StatusBadRequest, Error: "send the fields in the query string for GET " + ep.Path, Rule: ruleQueryString}
		}
		return query, h.checkFormSize(len(r.URL.RawQuery), 0, query)
	}
	if r.ContentLength == 0 && r.Header.Get("Content-Type") == "" {
		// requests.post(url, params=...) sends no body at all
		return query, h.checkFormSize(len(r.URL.RawQuery), 0, query)
	}
	bt, rf := checkContentType(r.Header.Get("Content-Type"))
	if rf != nil {
		return nil, rf
	}
	body, rf := readBody(r, h.MaxBody)
	if rf != nil {
		return nil, rf
	}
	var p signer.Params
	if bt.boundary != "" {
		p, err = signer.ParseMultipart(body, bt.boundary)
	} else {
		p, err = h.parse(body, bt.cs)
	}
	if err == nil {
		p, err = signer.Merge(query, p)
	}
	if err != nil {
		return nil, formRefusal(err)
	}
	if rf := h.checkFormSize(len(r.URL.RawQuery), len(body), p); rf != nil {
		return nil, rf
	}
	return p, nil
}

// parse reads a form under the handler's escape rule.
func (h *Gateway) parse(raw []byte, cs *signer.Charset) (signer.Params, error) {
	if h.StrictEscapes {
		return signer.ParseFormStrict(raw, cs)
	}
	return signer.ParseForm(raw, cs)
}

// formRefusal answers a form that breaks a rule: 400 naming field and
// rule, 415 for a file part. Anything else fails closed as malformed.
func formRefusal(err error) *refusal {
	fe, ok := signer.AsFieldError(err)
	switch {
	case !ok:
		return &refusal{Status: http.StatusBadRequest, Error: "the form could not be read", Rule: signer.RuleSyntax}
	case fe.Rule == signer.RuleFile:
		return fromFieldError(http.StatusUnsupportedMediaType, fe)
	}
	return fromFieldError(http.StatusBadRequest, fe)
}
