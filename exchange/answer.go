package exchange

import (
	"encoding/json"
	"errors"
)

// Answer is what the gateway reads of QFPay's answer: the log line, the
// classification and the 1108 check need these three fields. It is
// decoded once per answer, with encoding/json.
type Answer struct {
	Respcd  string `json:"respcd"`
	Resperr string `json:"resperr"`
	Syssn   string `json:"syssn"`
}

// DecodeAnswer reads the string fields respcd, resperr and syssn of a
// JSON object. Anything that is not a well-formed object gives an empty
// answer rather than a guess; a field of another type (a number) stays
// empty. As encoding/json does, keys match case-insensitively and the
// last of duplicate keys wins.
func DecodeAnswer(b []byte) Answer {
	var a Answer
	if err := json.Unmarshal(b, &a); err != nil {
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
			return Answer{}
		}
	}
	return a
}
