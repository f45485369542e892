package qfpaytest

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
)

func loadNotificationVectors(t *testing.T) []testvectors.Notification {
	t.Helper()
	return testvectors.Load(t).Notification
}

// objectKeys lists a JSON object's keys in document order.
func objectKeys(t *testing.T, body string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body does not start an object: %v %v", tok, err)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestNotificationVectors(t *testing.T) {
	for _, v := range loadNotificationVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			var fields map[string]string
			if err := json.Unmarshal([]byte(v.Body), &fields); err != nil {
				t.Fatal(err)
			}
			keys := objectKeys(t, v.Body)
			if got := string(EncodeNotification(keys, fields)); got != v.Body {
				t.Errorf("EncodeNotification =\n%s\nwant\n%s", got, v.Body)
			}
			if got := md5Upper([]byte(v.Body + v.ClientKey)); got != v.MD5 {
				t.Errorf("md5 = %s, want %s", got, v.MD5)
			}
			if !slices.Equal(notificationKeys, keys) {
				t.Errorf("server field order %v, vector order %v", notificationKeys, keys)
			}
		})
	}
}

func TestEncodeNotification(t *testing.T) {
	tests := []struct {
		name   string
		keys   []string
		fields map[string]string
		want   string
	}{
		{"no keys", nil, nil, `{}`},
		{"keys in given order", []string{"b", "a"}, map[string]string{"a": "1", "b": "2"}, `{"b": "2", "a": "1"}`},
		{"missing field is empty", []string{"a"}, nil, `{"a": ""}`},
		{"quote", []string{"k"}, map[string]string{"k": `a"b`}, `{"k": "a\"b"}`},
		{"backslash", []string{"k"}, map[string]string{"k": `a\b`}, `{"k": "a\\b"}`},
		{"newline", []string{"k"}, map[string]string{"k": "a\nb"}, `{"k": "a\nb"}`},
		{"short escapes", []string{"k"}, map[string]string{"k": "\r\t\b\f"}, `{"k": "\r\t\b\f"}`},
		{"other controls and DEL", []string{"k"}, map[string]string{"k": "\x00\x1f\x7f"}, `{"k": "\u0000\u001f\u007f"}`},
		{"U+00E9", []string{"k"}, map[string]string{"k": "é"}, `{"k": "\u00e9"}`},
		{"U+6E2C", []string{"k"}, map[string]string{"k": "測"}, `{"k": "\u6e2c"}`},
		{"emoji surrogate pair", []string{"k"}, map[string]string{"k": "😀"}, `{"k": "\ud83d\ude00"}`},
		{"slash not escaped", []string{"k"}, map[string]string{"k": "https://x/y"}, `{"k": "https://x/y"}`},
		{"html not escaped", []string{"k"}, map[string]string{"k": "<a&b>"}, `{"k": "<a&b>"}`},
		{"key escaped too", []string{"é"}, map[string]string{"é": "v"}, `{"\u00e9": "v"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := EncodeNotification(tc.keys, tc.fields)
			if string(got) != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			var back map[string]string
			if err := json.Unmarshal(got, &back); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			for _, k := range tc.keys {
				if back[k] != tc.fields[k] {
					t.Errorf("round trip %q = %q, want %q", k, back[k], tc.fields[k])
				}
			}
			if len(tc.keys) == 0 && !maps.Equal(back, map[string]string{}) {
				t.Errorf("round trip = %v", back)
			}
		})
	}
}
