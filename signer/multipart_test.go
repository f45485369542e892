package signer

import (
	"bytes"
	"mime/multipart"
	"net/textproto"
	"strings"
	"testing"
)

// part is one multipart part: its Content-Disposition and Content-Type.
type part struct{ disposition, ctype, value string }

func multipartBody(t *testing.T, parts ...part) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{"Content-Disposition": {p.disposition}}
		if p.ctype != "" {
			h.Set("Content-Type", p.ctype)
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = pw.Write([]byte(p.value))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), w.Boundary()
}

func field(name, value string) part {
	return part{disposition: `form-data; name="` + name + `"`, value: value}
}

func TestParseMultipart(t *testing.T) {
	tests := []struct {
		name      string
		parts     []part
		want      string // canonical on success
		wantField string
		wantRule  string
	}{
		// PHP curl with an array as CURLOPT_POSTFIELDS.
		{name: "plain fields", parts: []part{field("txamt", "100"), field("goods_name", "50% off 測試")}, want: "goods_name=50% off 測試&txamt=100"},
		{name: "text/plain part", parts: []part{{`form-data; name="a"`, "text/plain; charset=utf-8", "x"}}, want: "a=x"},
		{name: "empty form", want: ""},
		{name: "empty value kept", parts: []part{field("udid", "")}, want: "udid="},
		{name: "file part", parts: []part{field("txamt", "1"), {`form-data; name="doc"; filename="a.txt"`, "", "x"}}, wantField: "doc", wantRule: RuleFile},
		{name: "empty filename", parts: []part{{`form-data; name="doc"; filename=""`, "", ""}}, wantField: "doc", wantRule: RuleFile},
		{name: "octet-stream part", parts: []part{{`form-data; name="doc"`, "application/octet-stream", "x"}}, wantField: "doc", wantRule: RuleFile},
		{name: "repeated", parts: []part{field("txamt", "1"), field("txamt", "2")}, wantField: "txamt", wantRule: RuleRepeated},
		{name: "bad name", parts: []part{field("tx amt", "1")}, wantRule: RuleName},
		{name: "no name", parts: []part{{`form-data`, "", "1"}}, wantRule: RuleName},
		{name: "invalid UTF-8", parts: []part{field("goods_name", "\xff")}, wantField: "goods_name", wantRule: RuleUTF8},
		{name: "NUL", parts: []part{field("goods_name", "a\x00b")}, wantField: "goods_name", wantRule: RuleControl},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, boundary := multipartBody(t, tt.parts...)
			p, err := ParseMultipart(body, boundary)
			if tt.wantRule != "" {
				fe, ok := AsFieldError(err)
				if !ok || fe.Rule != tt.wantRule || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want field %q rule %q", err, tt.wantField, tt.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Canonical(); got != tt.want {
				t.Errorf("canonical %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMultipartMalformed(t *testing.T) {
	body, boundary := multipartBody(t, field("txamt", "1"))
	for name, b := range map[string][]byte{
		"truncated":      body[:len(body)-10],
		"other boundary": []byte(strings.ReplaceAll(string(body), boundary, "zz")),
	} {
		if _, err := ParseMultipart(b, boundary); err == nil {
			t.Errorf("%s: accepted", name)
		} else if fe, ok := AsFieldError(err); !ok || fe.Rule != RuleSyntax {
			t.Errorf("%s: err = %v, want rule syntax", name, err)
		}
	}
	many := make([]part, maxParts+1)
	for i := range many {
		many[i] = field("f"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+string(rune('a'+i/26)), "1")
	}
	body, boundary = multipartBody(t, many...)
	if fe, ok := AsFieldError(func() error { _, err := ParseMultipart(body, boundary); return err }()); !ok || fe.Rule != RuleSyntax {
		t.Errorf("%d parts: err = %v, want rule syntax", len(many), fe)
	}
}

func TestMerge(t *testing.T) {
	q := FromMap(map[string]string{"txamt": "1", "b": "2"})
	body := FromMap(map[string]string{"a": "3", "pay_type": "801101"})
	p, err := Merge(q, body)
	if err != nil || p.Canonical() != "a=3&b=2&pay_type=801101&txamt=1" {
		t.Fatalf("Merge = %q, %v", p.Canonical(), err)
	}
	if p, err := Merge(nil, body); err != nil || p.Canonical() != body.Canonical() {
		t.Fatalf("Merge(nil, body) = %q, %v", p.Canonical(), err)
	}
	_, err = Merge(q, FromMap(map[string]string{"txamt": "1"}))
	if fe, ok := AsFieldError(err); !ok || fe.Rule != RuleRepeated || fe.Field != "txamt" {
		t.Fatalf("same name in both: %v", err)
	}
}
