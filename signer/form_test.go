package signer

import (
	"net/url"
	"testing"
)

func TestParseForm(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		charset   string
		want      string // canonical on success
		wantField string
		wantRule  string
		strict    bool // ParseFormStrict
	}{
		{name: "simple", body: "b=2&a=1", want: "a=1&b=2"},
		{name: "plus and escapes", body: "goods_name=%E6%B8%AC+x", want: "goods_name=測 x"},
		{name: "empty segments skipped", body: "a=1&&b=2&", want: "a=1&b=2"},
		{name: "empty value kept", body: "a=&b=2", want: "a=&b=2"},
		{name: "no equals is empty value", body: "a&b=2", want: "a=&b=2"},
		{name: "empty body", body: "", want: ""},
		{name: "repeated key", body: "txamt=1&txamt=2", wantField: "txamt", wantRule: RuleRepeated},
		{name: "strict: bad escape in value", body: "txamt=%zz", wantField: "txamt", wantRule: RuleEscape, strict: true},
		{name: "strict: truncated escape", body: "txamt=1%2", wantField: "txamt", wantRule: RuleEscape, strict: true},
		{name: "strict: bad escape in name", body: "tx%zzamt=1", wantField: "tx%zzamt", wantRule: RuleEscape, strict: true},
		{name: "strict: literal percent", body: "product_name=50%+off", wantField: "product_name", wantRule: RuleEscape, strict: true},
		{name: "strict: valid escapes", body: "a=%E6%B8%AC+%25", want: "a=測 %", strict: true},
		// Lenient (default), as PHP's urldecode and Python's unquote_plus.
		{name: "literal percent and space", body: "product_name=50%+off", want: "product_name=50% off"},
		{name: "raw space kept", body: "product_name=50% off", want: "product_name=50% off"},
		{name: "bad escape kept", body: "txamt=%zz", want: "txamt=%zz"},
		{name: "trailing percent", body: "a=100%", want: "a=100%"},
		{name: "truncated escape kept", body: "a=1%2", want: "a=1%2"},
		{name: "percent before an escape", body: "a=%%41", want: "a=%A"},
		{name: "lower-case hex", body: "a=%e6%b8%ac", want: "a=測"},
		{name: "escaped percent", body: "a=100%25", want: "a=100%"},
		{name: "half a UTF-8 escape", body: "a=%E6%B8%", wantField: "a", wantRule: RuleUTF8},
		{name: "bad escape in name", body: "tx%zzamt=1", wantField: "tx%zzamt", wantRule: RuleName},
		{name: "invalid utf8", body: "goods_name=%FF%FE", wantField: "goods_name", wantRule: RuleUTF8},
		{name: "empty name", body: "=1", wantRule: RuleName},
		{name: "bad name byte", body: "a%20b=1", wantRule: RuleName},
		{name: "semicolon", body: "a=1;b=2", wantField: "a", wantRule: RuleSyntax},
		{name: "NUL in value", body: "a=%00", wantField: "a", wantRule: RuleControl},
		{name: "CRLF allowed in value", body: "a=x%0D%0Ay", want: "a=x\r\ny"},
		{name: "big5", body: "goods_name=%B4%FA%B8%D5", charset: "big5", want: "goods_name=測試"},
		{name: "gbk", body: "goods_name=%B2%E2%CA%D4", charset: "gbk", want: "goods_name=测试"},
		{name: "gb18030", body: "goods_name=%B2%E2%CA%D4", charset: "GB18030", want: "goods_name=测试"},
		{name: "shift_jis", body: "goods_name=%83e%83X%83g", charset: "shift_jis", want: "goods_name=テスト"},
		{name: "euc-kr", body: "goods_name=%C5%D7%BD%BA%C6%AE", charset: "euc-kr", want: "goods_name=테스트"},
		{name: "big5 undecodable", body: "goods_name=%FF%FF", charset: "big5", wantField: "goods_name", wantRule: RuleCharset},
		{name: "utf-8 label", body: "a=%E6%B8%AC", charset: "UTF-8", want: "a=測"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := LookupCharset(tt.charset)
			if err != nil {
				t.Fatal(err)
			}
			parse := ParseForm
			if tt.strict {
				parse = ParseFormStrict
			}
			p, err := parse([]byte(tt.body), cs)
			if tt.wantRule != "" {
				fe, ok := AsFieldError(err)
				if !ok {
					t.Fatalf("err = %v, want rule %s", err, tt.wantRule)
				}
				if fe.Rule != tt.wantRule || fe.Field != tt.wantField {
					t.Fatalf("got field %q rule %q, want %q %q", fe.Field, fe.Rule, tt.wantField, tt.wantRule)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Canonical(); got != tt.want {
				t.Errorf("canonical = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestLenientEscapeWire: a literal '%' is signed as received and
// escaped on the wire, so QFPay decodes exactly the signed value.
func TestLenientEscapeWire(t *testing.T) {
	p, err := ParseForm([]byte("product_name=50% off&txamt=100%"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(p.Encode()), "product_name=50%25+off&txamt=100%25"; got != want {
		t.Fatalf("wire %q, want %q", got, want)
	}
	q, err := url.ParseQuery(string(p.Encode()))
	if err != nil || q.Get("product_name") != "50% off" || q.Get("txamt") != "100%" {
		t.Fatalf("net/url reads %v, %v", q, err)
	}
}

func TestLookupCharset(t *testing.T) {
	for _, label := range []string{"utf-16", "utf-16le", "klingon"} {
		if _, err := LookupCharset(label); err == nil {
			t.Errorf("LookupCharset(%q) accepted", label)
		}
	}
	cs, err := LookupCharset("x-gbk")
	if err != nil || cs == nil || cs.Name() != "gbk" {
		t.Errorf("x-gbk -> %v %v", cs, err)
	}
}

func TestEncodeMatchesQueryEscape(t *testing.T) {
	var all []byte
	for c := 0; c < 256; c++ {
		all = append(all, byte(c))
	}
	for _, s := range []string{string(all), "a b+c&d=e", "測試", ""} {
		got := string(appendQueryEscape(nil, s))
		if want := url.QueryEscape(s); got != want {
			t.Errorf("escape(%q) = %q, want %q", s, got, want)
		}
	}
}

func TestParamsSetDelete(t *testing.T) {
	p := FromMap(map[string]string{"b": "2", "d": "4"})
	p = p.Set("c", "3").Set("a", "1").Set("b", "two")
	if got := p.Canonical(); got != "a=1&b=two&c=3&d=4" {
		t.Fatalf("after Set: %q", got)
	}
	p = p.Delete("c").Delete("zz")
	if got := p.Canonical(); got != "a=1&b=two&d=4" {
		t.Fatalf("after Delete: %q", got)
	}
}
