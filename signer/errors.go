package signer

import (
	"errors"
	"fmt"
)

// Rule codes: short, stable identifiers that callers may switch on.
const (
	RuleSyntax     = "syntax"      // malformed form encoding
	RuleEscape     = "escape"      // bad percent-escape
	RuleUTF8       = "utf8"        // invalid UTF-8 after decoding
	RuleCharset    = "charset"     // unknown or undecodable charset
	RuleRepeated   = "repeated"    // the same key twice
	RuleName       = "name"        // field name outside [A-Za-z0-9_.-]
	RuleControl    = "control"     // control characters in a value
	RuleRequired   = "required"    // a required field is missing
	RuleForbidden  = "forbidden"   // credential-like field names
	RuleDigits     = "digits"      // not all decimal digits
	RulePositive   = "positive"    // zero amount
	RuleMaxLen     = "max_length"  // too many bytes or characters
	RuleOneOf      = "one_of"      // not in the allowed set
	RulePrintable  = "printable"   // not printable ASCII without spaces
	RuleDateTime   = "datetime"    // not YYYY-MM-DD hh:mm:ss or RFC 3339
	RuleRange      = "range"       // integer out of range
	RuleNotAllowed = "not_allowed" // field not accepted for this pay type or merchant
	RuleURL        = "url"         // not an absolute http(s) URL
	RuleMismatch   = "mismatch"    // differs from the merchant's configuration
	RuleCase       = "case"        // a known field's name in another letter case
	RuleFile       = "file"        // a file part in a multipart form
)

// FieldError says which field broke which rule. Msg is English prose for
// people; it never contains the field's value.
type FieldError struct {
	Field string
	Rule  string
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%s (rule %s)", e.Msg, e.Rule)
	}
	return fmt.Sprintf("field %q: %s (rule %s)", e.Field, e.Msg, e.Rule)
}

func fieldErr(field, rule, msg string) *FieldError {
	return &FieldError{Field: field, Rule: rule, Msg: msg}
}

// AsFieldError unwraps err to a *FieldError, if it is one.
func AsFieldError(err error) (*FieldError, bool) {
	if err == nil {
		return nil, false
	}
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}
