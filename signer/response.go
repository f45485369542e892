package signer

import (
	"bytes"
	"encoding/json"
	"strconv"
)

// VerifyResponse checks a signature QFPay may put on a response: the
// top-level scalar fields of the JSON object, sorted, joined as k=v with
// '&', followed by the key. QFPay documents this without an example, so
// callers treat a mismatch as a signal, not proof.
func VerifyResponse(body []byte, key Secret, t SignType, sig string) (bool, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return false, fieldErr("", RuleSyntax, "the response is not a JSON object")
	}
	p := make(Params, 0, len(obj))
	for k, v := range obj {
		switch v := v.(type) {
		case string:
			p = append(p, Param{Name: k, Value: v})
		case json.Number:
			p = append(p, Param{Name: k, Value: v.String()})
		case bool:
			p = append(p, Param{Name: k, Value: strconv.FormatBool(v)})
		}
	}
	sortParams(p)
	return Verify(p, key, t, sig), nil
}
