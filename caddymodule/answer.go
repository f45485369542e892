package caddymodule

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// qfpayAnswer is what the gateway reads of a QFPay response: the log
// line, the order guard and the 1108 check all need these three fields,
// so the body is scanned once, without reflection.
type qfpayAnswer struct {
	Respcd  string
	Resperr string
	Syssn   string
}

// parseAnswer reads the top-level string fields respcd, resperr and
// syssn of a JSON object. Anything that is not a well-formed object
// gives an empty answer rather than a guess; nested values are skipped.
func parseAnswer(b []byte) qfpayAnswer {
	var a qfpayAnswer
	s := scanner{b: b}
	if !s.skipSpace() || s.b[s.i] != '{' {
		return qfpayAnswer{}
	}
	s.i++
	for {
		if !s.skipSpace() {
			return qfpayAnswer{}
		}
		if s.b[s.i] == '}' {
			return a
		}
		key, ok := s.str()
		if !ok || !s.skipSpace() || s.b[s.i] != ':' {
			return qfpayAnswer{}
		}
		s.i++
		if !s.skipSpace() {
			return qfpayAnswer{}
		}
		var dst *string
		switch string(key) {
		case "respcd":
			dst = &a.Respcd
		case "resperr":
			dst = &a.Resperr
		case "syssn":
			dst = &a.Syssn
		}
		start := s.i
		if !s.value() {
			return qfpayAnswer{}
		}
		if dst != nil && s.b[start] == '"' {
			*dst = unquote(s.b[start:s.i])
		}
		if !s.skipSpace() {
			return qfpayAnswer{}
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case '}':
			return a
		default:
			return qfpayAnswer{}
		}
	}
}

type scanner struct {
	b []byte
	i int
}

// skipSpace advances past whitespace; false at the end of input.
func (s *scanner) skipSpace() bool {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return true
		}
	}
	return false
}

// str reads a string token and returns its raw contents.
func (s *scanner) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], true
		}
	}
	return nil, false
}

// value skips one JSON value of any kind.
func (s *scanner) value() bool {
	switch s.b[s.i] {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				return true
			}
		}
		return false
	default: // number, true, false, null
		for s.i < len(s.b) && bytes.IndexByte([]byte(",}] \t\r\n"), s.b[s.i]) < 0 {
			s.i++
		}
		return true
	}
}

// unquote decodes a JSON string token; escapes and invalid UTF-8 are
// rare in QFPay's answers, so only then is the standard decoder used.
func unquote(tok []byte) string {
	if bytes.IndexByte(tok, '\\') < 0 && utf8.Valid(tok) {
		return string(tok[1 : len(tok)-1])
	}
	var v string
	_ = json.Unmarshal(tok, &v)
	return v
}
