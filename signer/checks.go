package signer

import (
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Check validates one value and returns the value to sign (possibly
// normalised). Errors carry a rule and a message; the caller adds the field.
type Check func(v string, pol *Policy) (string, error)

func violation(rule, msg string) error { return fieldErr("", rule, msg) }

// Digits refuses anything but ASCII decimal digits.
func Digits(v string, _ *Policy) (string, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return "", violation(RuleDigits, "must be decimal digits only")
		}
	}
	return v, nil
}

// Positive refuses an all-zero number; use after Digits.
func Positive(v string, _ *Policy) (string, error) {
	if strings.Trim(v, "0") == "" {
		return "", violation(RulePositive, "must be greater than zero")
	}
	return v, nil
}

// MaxBytes bounds the UTF-8 length.
func MaxBytes(n int) Check {
	msg := "must be at most " + strconv.Itoa(n) + " bytes"
	return func(v string, _ *Policy) (string, error) {
		if len(v) > n {
			return "", violation(RuleMaxLen, msg)
		}
		return v, nil
	}
}

// MaxChars bounds the number of characters (runes).
func MaxChars(n int) Check {
	msg := "must be at most " + strconv.Itoa(n) + " characters"
	return func(v string, _ *Policy) (string, error) {
		if utf8.RuneCountInString(v) > n {
			return "", violation(RuleMaxLen, msg)
		}
		return v, nil
	}
}

// NoControl refuses every control character, tab, CR and LF included,
// which ParseForm lets through: a one-line remark shown in QFPay's portal
// and in logs has no use for them.
func NoControl(v string, _ *Policy) (string, error) {
	if strings.ContainsFunc(v, unicode.IsControl) {
		return "", violation(RuleControl, "must not contain control characters, line breaks or tabs")
	}
	return v, nil
}

// Upper normalises to upper case; ASCII-only values are left intact otherwise.
func Upper(v string, _ *Policy) (string, error) { return strings.ToUpper(v), nil }

// OneOf refuses values outside set; what names the set in the message.
func OneOf(set map[string]struct{}, what string) Check {
	msg := "must be one of the " + what
	return func(v string, _ *Policy) (string, error) {
		if !in(set, v) {
			return "", violation(RuleOneOf, msg)
		}
		return v, nil
	}
}

// PrintableNoSpace allows printable ASCII without whitespace.
func PrintableNoSpace(v string, _ *Policy) (string, error) {
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return "", violation(RulePrintable, "must be printable ASCII without spaces")
		}
	}
	return v, nil
}

// IntRange accepts a decimal integer in [lo, hi], normalising leading zeros.
func IntRange(lo, hi int) Check {
	msg := "must be an integer from " + strconv.Itoa(lo) + " to " + strconv.Itoa(hi)
	return func(v string, _ *Policy) (string, error) {
		if _, err := Digits(v, nil); err != nil || len(v) > 6 {
			return "", violation(RuleRange, msg)
		}
		n, _ := strconv.Atoi(v)
		if n < lo || n > hi {
			return "", violation(RuleRange, msg)
		}
		return strconv.Itoa(n), nil
	}
}

// QFPayTime is the layout of txdtm and the query time fields.
const QFPayTime = "2006-01-02 15:04:05"

// DateTime accepts exactly YYYY-MM-DD hh:mm:ss (a real instant), or an
// RFC 3339 time, which it converts to the merchant's zone.
func DateTime(v string, pol *Policy) (string, error) {
	if len(v) == len(QFPayTime) {
		if _, err := time.Parse(QFPayTime, v); err == nil {
			return v, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		// The zone shift can move year 0000 or 9999 out of range (to -1
		// or 10000), which the four-digit layout cannot hold: refuse it.
		if s := t.In(pol.location()).Format(QFPayTime); len(s) == len(QFPayTime) {
			return s, nil
		}
	}
	return "", violation(RuleDateTime, "must be YYYY-MM-DD hh:mm:ss (24 h) or RFC 3339")
}

// AbsURL accepts an absolute http or https URL of at most max bytes.
func AbsURL(max int) Check {
	tooLong := MaxBytes(max)
	return func(v string, pol *Policy) (string, error) {
		if _, err := tooLong(v, pol); err != nil {
			return "", err
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(v, " \t\r\n") {
			return "", violation(RuleURL, "must be an absolute http or https URL")
		}
		return v, nil
	}
}

// PayTypeAllowed applies the merchant's allow-list.
func PayTypeAllowed(v string, pol *Policy) (string, error) {
	if !pol.allowsPayType(v) {
		return "", violation(RuleOneOf, "must be a pay type enabled for this merchant")
	}
	return v, nil
}

// CommaList applies each to every item of a comma-separated list.
func CommaList(maxItems int, each ...Check) Check {
	msg := "must list at most " + strconv.Itoa(maxItems) + " comma-separated values"
	return func(v string, pol *Policy) (string, error) {
		items := strings.Split(v, ",")
		if len(items) > maxItems {
			return "", violation(RuleMaxLen, msg)
		}
		for _, it := range items {
			if it == "" {
				return "", violation(RuleSyntax, "must not hold an empty list item")
			}
			for _, c := range each {
				if _, err := c(it, pol); err != nil {
					return "", err
				}
			}
		}
		return v, nil
	}
}
