package signer

import (
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// Param is one decoded form field.
type Param struct {
	Name  string
	Value string
}

// Params is a form sorted byte-wise by name, with unique names. Every
// constructor in this package keeps it that way, which is what makes the
// canonical string and the wire encoding deterministic.
type Params []Param

// Get returns the value of name and whether it is present.
func (p Params) Get(name string) (string, bool) {
	i, ok := p.index(name)
	if !ok {
		return "", false
	}
	return p[i].Value, true
}

func (p Params) index(name string) (int, bool) {
	return slices.BinarySearchFunc(p, name, func(e Param, n string) int {
		return strings.Compare(e.Name, n)
	})
}

// Set replaces or inserts name, keeping the order.
func (p Params) Set(name, value string) Params {
	i, ok := p.index(name)
	if ok {
		p[i].Value = value
		return p
	}
	return slices.Insert(p, i, Param{Name: name, Value: value})
}

// Delete removes name if present.
func (p Params) Delete(name string) Params {
	if i, ok := p.index(name); ok {
		return slices.Delete(p, i, i+1)
	}
	return p
}

// FromMap builds sorted Params from a map; used by tests and tools.
func FromMap(m map[string]string) Params {
	p := make(Params, 0, len(m))
	for k, v := range m {
		p = append(p, Param{Name: k, Value: v})
	}
	slices.SortFunc(p, cmpParam)
	return p
}

func cmpParam(a, b Param) int { return strings.Compare(a.Name, b.Name) }

func sortParams(p Params) { slices.SortFunc(p, cmpParam) }

// maxNameLen bounds field names; QFPay's longest is well under it.
const maxNameLen = 64

// formFieldsHint is the initial capacity of a parsed form: more than
// any QFPay request has fields; a longer form grows as fields are kept.
const formFieldsHint = 32

// ParseForm parses an application/x-www-form-urlencoded body. A '%' not
// followed by two hex digits is kept as it is, as PHP's and Python's form
// readers keep it ("50% off"); Encode then escapes it, so QFPay reads the
// value that was signed. Everything else is strict. cs transcodes values
// sent in a legacy charset; nil means UTF-8. Empty values are kept: the
// signer signs exactly what it is given.
func ParseForm(body []byte, cs *Charset) (Params, error) { return parseForm(body, cs, false) }

// ParseFormStrict is ParseForm refusing invalid percent-escapes (rule
// escape), as net/url does.
func ParseFormStrict(body []byte, cs *Charset) (Params, error) { return parseForm(body, cs, true) }

func parseForm(body []byte, cs *Charset, strict bool) (Params, error) {
	s := string(body)
	// Capacity for QFPay's largest forms; empty segments ("&&&") keep
	// nothing, so a body of separators must not size the slice.
	p := make(Params, 0, min(strings.Count(s, "&")+1, formFieldsHint))
	for s != "" {
		var seg string
		seg, s, _ = strings.Cut(s, "&")
		if seg == "" {
			continue
		}
		param, err := parseSegment(seg, cs, strict)
		if err != nil {
			return nil, err
		}
		p = append(p, param)
	}
	return sortUnique(p)
}

// sortUnique sorts p by name and refuses a name that appears twice.
func sortUnique(p Params) (Params, error) {
	slices.SortFunc(p, cmpParam)
	for i := 1; i < len(p); i++ {
		if p[i].Name == p[i-1].Name {
			return nil, fieldErr(p[i].Name, RuleRepeated, "the field appears more than once")
		}
	}
	return p, nil
}

func parseSegment(seg string, cs *Charset, strict bool) (Param, error) {
	rawName, rawValue, _ := strings.Cut(seg, "=")
	name, err := unescape(rawName, cs, strict)
	if err != nil {
		return Param{}, withField(err, printableOrEmpty(rawName))
	}
	if err := checkName(name); err != nil {
		return Param{}, err
	}
	value, err := unescape(rawValue, cs, strict)
	if err != nil {
		return Param{}, withField(err, name)
	}
	return checkedParam(name, value)
}

// checkedParam applies the value rules every form shape shares.
func checkedParam(name, value string) (Param, error) {
	if hasControl(value) {
		return Param{}, fieldErr(name, RuleControl, "the value contains control characters")
	}
	return Param{Name: name, Value: value}, nil
}

// unescape decodes one form component; it allocates only when the
// component holds escapes or a charset has to be transcoded.
func unescape(s string, cs *Charset, strict bool) (string, error) {
	if strings.ContainsRune(s, ';') {
		return "", fieldErr("", RuleSyntax, "a raw ';' is not a valid separator or character; escape it as %3B")
	}
	if strings.ContainsAny(s, "%+") {
		if strict {
			var err error
			if s, err = url.QueryUnescape(s); err != nil {
				return "", fieldErr("", RuleEscape, "invalid percent-escape")
			}
		} else {
			s = unescapeLenient(s)
		}
	}
	if cs != nil {
		var err error
		if s, err = cs.decode(s); err != nil {
			return "", err
		}
	}
	if !utf8.ValidString(s) {
		return "", fieldErr("", RuleUTF8, "the value is not valid UTF-8")
	}
	return s, nil
}

// unescapeLenient decodes '+' and %XX; a '%' without two hex digits
// after it stays a literal '%', as in PHP's urldecode and Python's
// unquote_plus.
func unescapeLenient(s string) string {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func withField(err error, field string) error {
	if fe, ok := AsFieldError(err); ok && fe.Field == "" {
		return fieldErr(field, fe.Rule, fe.Msg)
	}
	return err
}

func checkName(name string) error {
	if name == "" {
		return fieldErr("", RuleName, "a field has an empty name")
	}
	// Bytes first: the length error quotes the name's first 16 bytes,
	// which is safe only once they are known to be name bytes.
	for i := 0; i < len(name); i++ {
		if !isNameByte(name[i]) {
			return fieldErr(printableOrEmpty(name), RuleName, "field names may hold only A-Z, a-z, 0-9, '_', '.', '-'")
		}
	}
	if len(name) > maxNameLen {
		return fieldErr(name[:16]+"...", RuleName, "the field name is longer than 64 bytes")
	}
	return nil
}

func isNameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-'
}

// printableOrEmpty returns s when it is short printable ASCII, so that an
// error can name a field without echoing arbitrary bytes.
func printableOrEmpty(s string) string {
	if len(s) > maxNameLen {
		return ""
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return ""
		}
	}
	return s
}

// hasControl reports C0 controls other than tab, CR and LF, DEL, and C1 controls.
func hasControl(s string) bool {
	for _, r := range s {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return true
		}
	}
	return false
}
