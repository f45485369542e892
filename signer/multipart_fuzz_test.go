package signer

import (
	"slices"
	"testing"
)

// multipartRules are the only rules ParseMultipart may report.
var multipartRules = []string{RuleSyntax, RuleName, RuleFile, RuleRepeated, RuleUTF8, RuleControl}

// FuzzParseMultipart: the multipart reader never panics. On success the
// form obeys ParseForm's invariants (names, values, order, uniqueness)
// and survives the wire encoding exactly, so what is signed is what
// QFPay reads. On failure the error is a *FieldError with a known rule
// whose Field is empty or short printable ASCII.
func FuzzParseMultipart(f *testing.F) {
	const b = "x"
	for _, s := range []string{
		"--x\r\nContent-Disposition: form-data; name=\"txamt\"\r\n\r\n100\r\n--x--\r\n",
		"--x\r\nContent-Disposition: form-data; name=\"goods_name\"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n50% off\r\n--x--\r\n",
		"--x\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n--x--\r\n",
		"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n2\r\n--x--\r\n",
		"--x--\r\n", "", "txamt=1",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > maxFormInput {
			return
		}
		p, err := ParseMultipart(body, b)
		if err != nil {
			fe := mustFieldError(t, err, multipartRules...)
			if len(fe.Field) > maxNameLen || !printableASCII(fe.Field) {
				t.Fatalf("error field %q: want empty or short printable ASCII", fe.Field)
			}
			return
		}
		checkParams(t, p)
		back, err := ParseForm(p.Encode(), nil)
		if err != nil || !slices.Equal(back, p) {
			t.Fatalf("parse(encode(p)) = %q, %v; want %q", back, err, p)
		}
	})
}
