package qfpaytest

import (
	"bytes"
	"fmt"
	"unicode/utf16"
)

// EncodeNotification renders fields the way QFPay's Python json.dumps does
// by default: `{"k": "v", "k2": "v2"}` with keys in the given order (a
// missing field is ""), everything outside printable ASCII as \uXXXX
// (lower-case hex, UTF-16 surrogate pairs above U+FFFF), the usual short
// escapes, and "/" left alone. Invalid UTF-8 becomes \ufffd.
func EncodeNotification(keys []string, fields map[string]string) []byte {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		writePyString(&b, k)
		b.WriteString(": ")
		writePyString(&b, fields[k])
	}
	b.WriteByte('}')
	return b.Bytes()
}

var shortEscapes = map[rune]string{
	'"': `\"`, '\\': `\\`, '\n': `\n`, '\r': `\r`, '\t': `\t`, '\b': `\b`, '\f': `\f`,
}

// writePyString writes s as Python's json.dumps(ensure_ascii=True) does.
func writePyString(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for _, r := range s {
		if esc, ok := shortEscapes[r]; ok {
			b.WriteString(esc)
			continue
		}
		switch {
		case r >= 0x20 && r <= 0x7e:
			b.WriteRune(r)
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
		default:
			fmt.Fprintf(b, `\u%04x`, r)
		}
	}
	b.WriteByte('"')
}
