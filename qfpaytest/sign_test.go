package qfpaytest

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"maps"
	"strings"
	"testing"
)

func TestRequestVectors(t *testing.T) {
	for _, v := range testvectors.Load(t).Request {
		t.Run(v.Name, func(t *testing.T) {
			form, err := parseForm([]byte(v.WireBody))
			if err != nil || !maps.Equal(form, v.Params) {
				t.Fatalf("parseForm(wire_body) = %v, %v; want params %v", form, err, v.Params)
			}
			if got := canonical(form); got != v.Canonical {
				t.Errorf("canonical = %q, want %q", got, v.Canonical)
			}
			if got := digest(form, v.ClientKey, false); got != v.MD5 {
				t.Errorf("md5 = %s, want %s", got, v.MD5)
			}
			if got := digest(form, v.ClientKey, true); got != v.SHA256 {
				t.Errorf("sha256 = %s, want %s", got, v.SHA256)
			}
			for _, c := range []struct{ signType, sign string }{
				{"", v.MD5}, {"", strings.ToLower(v.MD5)}, {"SHA256", v.SHA256},
			} {
				if err := verify(form, c.signType, c.sign, v.ClientKey); err != nil {
					t.Errorf("verify(type %q, %s) = %v", c.signType, c.sign, err)
				}
			}
		})
	}
}

// TestRequestVectorsOverHTTP sends each vector's wire body to the query
// endpoint, which ignores unknown fields, so a valid signature yields 0000.
func TestRequestVectorsOverHTTP(t *testing.T) {
	for _, v := range testvectors.Load(t).Request {
		for _, c := range []struct{ signType, sign string }{{"", v.MD5}, {"SHA256", v.SHA256}} {
			t.Run(v.Name+"/"+c.signType, func(t *testing.T) {
				m := Merchant{AppCode: "APP-" + v.Name, ClientKey: v.ClientKey, MchID: v.Params["mchid"]}
				req := newRequest(pathQuery, v.WireBody, m.AppCode, c.sign)
				if c.signType != "" {
					req.Header.Set("X-QF-SIGNTYPE", c.signType)
				}
				if _, resp := send(t, newTestServer(m), req); resp["respcd"] != "0000" {
					t.Fatalf("respcd = %v (%v), want 0000", resp["respcd"], resp["resperr"])
				}
			})
		}
	}
}

func TestVerify(t *testing.T) {
	params := map[string]string{"txamt": "100", "txcurrcd": "HKD", "empty": ""}
	md5Sum, shaSum := digest(params, "k", false), digest(params, "k", true)
	tampered := maps.Clone(params)
	tampered["txamt"] = "1000"
	tests := []struct {
		name     string
		params   map[string]string
		signType string
		sign     string
		key      string
		ok       bool
	}{
		{"md5 upper", params, "", md5Sum, "k", true},
		{"md5 lower", params, "", strings.ToLower(md5Sum), "k", true},
		{"md5 declared", params, "md5", md5Sum, "k", true},
		{"sha256 lower", params, "SHA256", shaSum, "k", true},
		{"sha256 upper", params, "sha256", strings.ToUpper(shaSum), "k", true},
		{"missing sign", params, "", "", "k", false},
		{"tampered value", tampered, "", md5Sum, "k", false},
		{"wrong key", params, "", md5Sum, "k2", false},
		{"empty key", params, "", digest(params, "", false), "", false},
		{"md5 digest declared sha256", params, "SHA256", md5Sum, "k", false},
		{"sha256 digest undeclared", params, "", shaSum, "k", false},
		{"unknown sign type", params, "SHA1", md5Sum, "k", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := verify(tc.params, tc.signType, tc.sign, tc.key)
			if (err == nil) != tc.ok {
				t.Fatalf("verify = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}

func TestParseForm(t *testing.T) {
	tests := []struct {
		name string
		body string
		want map[string]string // nil means an error is expected
	}{
		{"simple", "a=1&b=2", map[string]string{"a": "1", "b": "2"}},
		{"plus and escapes decode", "a=x+y%26z", map[string]string{"a": "x y&z"}},
		{"empty value kept", "a=&b=2", map[string]string{"a": "", "b": "2"}},
		{"empty body", "", map[string]string{}},
		{"repeated key", "a=1&a=2", nil},
		{"repeated identical key", "a=1&a=1", nil},
		{"bad escape", "a=%zz", nil},
		{"semicolon", "a=1;b=2", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseForm([]byte(tc.body))
			if tc.want == nil {
				if err == nil {
					t.Fatalf("parseForm = %v, want error", got)
				}
				return
			}
			if err != nil || !maps.Equal(got, tc.want) {
				t.Fatalf("parseForm = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
