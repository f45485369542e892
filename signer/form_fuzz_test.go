package signer

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// parseRules are the only rules ParseForm may report.
var parseRules = []string{RuleSyntax, RuleEscape, RuleUTF8, RuleCharset, RuleRepeated, RuleName, RuleControl}

// FuzzParseForm: the parser never panics. On success every name is 1-64
// bytes of [A-Za-z0-9_.-], every value is valid UTF-8 without a refused
// control character (C0 except tab/CR/LF, DEL, C1), names are sorted and
// unique, and parse(encode(p)) == p; the wire encoding is url.Values'.
// For UTF-8 bodies: where net/url reads the body it reads the same
// fields, and ParseFormStrict agrees; where net/url refuses it (invalid
// percent-escapes), a PHP/Python-like reference decoder reads the same
// fields and ParseFormStrict refuses with rule escape. On failure the
// error is a *FieldError whose Field is empty or short printable ASCII
// (it never carries arbitrary body bytes) and whose message never
// repeats a value.
func FuzzParseForm(f *testing.F) {
	for _, s := range formSeeds {
		f.Add([]byte(s), uint8(0))
	}
	for _, v := range loadFuzzVectors(f).Request {
		f.Add([]byte(v.WireBody), uint8(0))
	}
	for i := range fuzzCharsetLabels {
		f.Add([]byte("goods_name="+big5Test+"&g2="+gbkTest+"&g3="+shiftJISTest+"&g4="+eucKRTest), uint8(i))
	}
	charsets := make([]*Charset, len(fuzzCharsetLabels))
	for i, label := range fuzzCharsetLabels {
		cs, err := LookupCharset(label)
		if err != nil {
			f.Fatalf("LookupCharset(%q): %v", label, err)
		}
		charsets[i] = cs
	}

	f.Fuzz(func(t *testing.T, body []byte, charset uint8) {
		if len(body) > maxFormInput {
			return
		}
		cs := charsets[int(charset)%len(charsets)]
		p, err := ParseForm(body, cs)
		if err != nil {
			fe := mustFieldError(t, err, parseRules...)
			if len(fe.Field) > maxNameLen+len("...") || !printableASCII(fe.Field) {
				t.Fatalf("error field %q: want empty or at most %d bytes of printable ASCII", fe.Field, maxNameLen+3)
			}
			for seg := range strings.SplitSeq(string(body), "&") {
				if _, v, ok := strings.Cut(seg, "="); ok && len(v) >= 8 && strings.Contains(fe.Msg, v) {
					t.Fatalf("error message %q repeats the value %q", fe.Msg, v)
				}
			}
			return
		}
		checkParams(t, p)

		wire := p.Encode()
		back, err := ParseForm(wire, nil)
		if err != nil {
			t.Fatalf("ParseForm(Encode(p)) = %v\nwire %q", err, wire)
		}
		if !slices.Equal(back, p) {
			t.Fatalf("parse(encode(p)) != p\n got %q\nwant %q", back, p)
		}
		if string(back.Encode()) != string(wire) {
			t.Fatalf("encode is not stable: %q then %q", wire, back.Encode())
		}

		m := make(map[string]string, len(p))
		for _, kv := range p {
			m[kv.Name] = kv.Value
		}
		if got, want := p.Canonical(), refCanonical(m); got != want {
			t.Fatalf("canonical %q, want %q", got, want)
		}
		if len(p) > 1000 || strings.Count(string(body), "&") > 1000 {
			return // net/url caps the number of parameters it reads
		}
		uv := make(url.Values, len(p))
		for _, kv := range p {
			uv.Set(kv.Name, kv.Value)
		}
		if got, want := string(wire), uv.Encode(); got != want {
			t.Fatalf("Encode %q, url.Values.Encode %q", got, want)
		}
		if cs != nil {
			return
		}
		strict, serr := ParseFormStrict(body, nil)
		q, err := url.ParseQuery(string(body))
		if err != nil {
			// Only invalid escapes make net/url refuse what ParseForm takes.
			mustFieldError(t, serr, RuleEscape)
			q = refParseLenient(t, body)
		} else if serr != nil || !slices.Equal(strict, p) {
			t.Fatalf("net/url reads the body; ParseFormStrict = %q, %v; ParseForm %q", strict, serr, p)
		}
		if len(q) != len(p) {
			t.Fatalf("reference reads %d fields, ParseForm %d", len(q), len(p))
		}
		for _, kv := range p {
			if vs := q[kv.Name]; len(vs) != 1 || vs[0] != kv.Value {
				t.Fatalf("field %q: reference reads %q, ParseForm %q", kv.Name, vs, kv.Value)
			}
		}
	})
}

// refParseLenient reads a form as PHP's parse_str and Python's parse_qsl
// (keep_blank_values) do, without their array and charset features:
// pairs split on '&', empty ones skipped, each side unquote_plus'd.
func refParseLenient(t *testing.T, body []byte) url.Values {
	t.Helper()
	v := url.Values{}
	for seg := range strings.SplitSeq(string(body), "&") {
		if seg == "" {
			continue
		}
		name, value, _ := strings.Cut(seg, "=")
		v.Add(refUnquotePlus(name), refUnquotePlus(value))
	}
	return v
}

// refUnquotePlus is CPython's unquote_plus on bytes: '+' is a space, then
// after every '%' two hex digits are a byte, and anything else keeps the
// '%' as it is.
func refUnquotePlus(s string) string {
	parts := strings.Split(strings.ReplaceAll(s, "+", " "), "%")
	var b strings.Builder
	b.WriteString(parts[0])
	for _, part := range parts[1:] {
		if len(part) >= 2 {
			if c, err := strconv.ParseUint(part[:2], 16, 8); err == nil {
				b.WriteByte(byte(c))
				b.WriteString(part[2:])
				continue
			}
		}
		b.WriteByte('%')
		b.WriteString(part)
	}
	return b.String()
}

// FuzzCharset: for every legacy charset LookupCharset accepts, decoding
// arbitrary bytes either fails with rule charset or yields valid UTF-8
// without U+FFFD (undecodable bytes are refused, never replaced); pure
// ASCII passes unchanged; ParseForm agrees with the decoder; text encoded
// in the charset by a conforming encoder is accepted. UTF-8 labels mean
// no transcoding, and UTF-8 text round-trips through the form exactly.
func FuzzCharset(f *testing.F) {
	for _, s := range []string{
		big5Test, gbkTest, shiftJISTest, eucKRTest, "plain ascii", "",
		"測試 test", "\xff\xfe", "\xb4", "\x81\x30\x81\x30", "\x84\x31\xa4\x37",
		"\x1b$B$3$s\x1b(B", "caf\xe9", "\xef\xbf\xbd", "a\x00b", "\xc2\x85",
	} {
		f.Add([]byte(s))
	}
	type legacy struct {
		label string
		cs    *Charset
		enc   encoding.Encoding // x/text's, to produce what a page would send
	}
	var charsets []legacy
	for _, label := range legacyCharsetLabels {
		cs, err := LookupCharset(label)
		if err != nil || cs == nil {
			f.Fatalf("LookupCharset(%q) = %v, %v; want a charset", label, cs, err)
		}
		enc, err := htmlindex.Get(label)
		if err != nil {
			f.Fatal(err)
		}
		charsets = append(charsets, legacy{label, cs, enc})
	}
	for _, label := range []string{"", "utf-8", "UTF-8", " utf8 ", "unicode-1-1-utf-8"} {
		if cs, err := LookupCharset(label); cs != nil || err != nil {
			f.Fatalf("LookupCharset(%q) = %v, %v; want no transcoding", label, cs, err)
		}
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxCharsetInput {
			return // longer inputs reach no new code; they only slow minimisation
		}
		s := string(data)
		body := []byte("v=" + url.QueryEscape(s))
		ascii := !strings.ContainsFunc(s, func(r rune) bool { return r >= utf8.RuneSelf })
		for _, c := range charsets {
			out, err := c.cs.decode(s)
			p, perr := ParseForm(body, c.cs)
			if err != nil {
				fe := mustFieldError(t, err, RuleCharset)
				if len(s) >= 8 && strings.Contains(fe.Error(), s) {
					t.Fatalf("%s: error %q repeats the input", c.label, fe.Error())
				}
				if pfe := mustFieldError(t, perr, RuleCharset); pfe.Field != "v" {
					t.Fatalf("%s: ParseForm error field %q, want v", c.label, pfe.Field)
				}
				continue
			}
			if !utf8.ValidString(out) || strings.ContainsRune(out, utf8.RuneError) {
				t.Fatalf("%s: decode(%q) = %q: invalid UTF-8 or U+FFFD", c.label, s, out)
			}
			if ascii && out != s {
				t.Fatalf("%s: ASCII %q decoded to %q", c.label, s, out)
			}
			if strings.ContainsFunc(out, refusedControl) {
				mustFieldError(t, perr, RuleControl)
			} else if perr != nil {
				t.Fatalf("%s: decode(%q) = %q, but ParseForm: %v", c.label, s, out, perr)
			} else if got, _ := p.Get("v"); got != out {
				t.Fatalf("%s: ParseForm value %q, decode %q", c.label, got, out)
			}
		}

		// Text a legacy page could have sent: UTF-8 without control
		// characters or U+FFFD, encoded by x/text's WHATWG encoders.
		if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return refusedControl(r) || r == utf8.RuneError }) {
			for _, c := range charsets {
				raw, err := c.enc.NewEncoder().String(s)
				if err != nil {
					continue // not representable in this charset
				}
				if _, err := c.cs.decode(raw); err != nil {
					t.Fatalf("%s: %q encodes to %q, which decode refuses: %v", c.label, s, raw, err)
				}
			}
		}

		// Declared or defaulted UTF-8: exact round trip, or the
		// documented refusal.
		p, err := ParseForm(body, nil)
		switch {
		case !utf8.ValidString(s):
			mustFieldError(t, err, RuleUTF8)
		case strings.ContainsFunc(s, refusedControl):
			mustFieldError(t, err, RuleControl)
		case err != nil:
			t.Fatalf("UTF-8 %q refused: %v", s, err)
		default:
			if got, _ := p.Get("v"); got != s {
				t.Fatalf("UTF-8 %q came back as %q", s, got)
			}
		}
	})
}
