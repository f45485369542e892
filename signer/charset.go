package signer

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// Charset transcodes form values that a legacy page posted in its own
// encoding (big5, gbk, gb18030, shift_jis, euc-kr, ...) to UTF-8.
type Charset struct {
	name string
	enc  encoding.Encoding
}

// Name is the WHATWG name of the charset.
func (c *Charset) Name() string { return c.name }

// LookupCharset resolves a Content-Type charset label. UTF-8 and an empty
// label give (nil, nil): no transcoding. Unknown labels and UTF-16 (never
// used for form submission, and not ASCII-compatible) are errors.
func LookupCharset(label string) (*Charset, error) {
	label = strings.TrimSpace(label)
	if label == "" {
		return nil, nil
	}
	enc, err := htmlindex.Get(label)
	if err != nil {
		return nil, fieldErr("", RuleCharset, "unsupported charset in Content-Type")
	}
	name, _ := htmlindex.Name(enc)
	switch name {
	case "utf-8":
		return nil, nil
	case "utf-16be", "utf-16le", "replacement":
		return nil, fieldErr("", RuleCharset, "unsupported charset in Content-Type")
	}
	return &Charset{name: name, enc: enc}, nil
}

// decode transcodes s; pure ASCII is returned as is (every accepted
// charset is ASCII-compatible). Undecodable bytes are an error, not U+FFFD.
func (c *Charset) decode(s string) (string, error) {
	if isASCII(s) {
		return s, nil
	}
	out, err := c.enc.NewDecoder().String(s)
	if err != nil || strings.ContainsRune(out, utf8.RuneError) {
		return "", fieldErr("", RuleCharset, "the value is not valid "+c.name)
	}
	return out, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
