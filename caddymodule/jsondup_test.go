package caddymodule

import "testing"

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"distinct", `{"syssn":"1","txamt":"300"}`, false},
		{"top-level twice", `{"syssn":"1","txamt":"300","syssn":"2"}`, true},
		{"same value twice", `{"syssn":"1","syssn":"1"}`, true},
		{"nested twice", `{"a":{"b":1,"b":2}}`, true},
		{"in an array", `{"a":[{"b":1},{"b":2,"b":3}]}`, true},
		{"same key in sibling objects", `{"a":{"b":1},"c":{"b":2}}`, false},
		{"key equal to a value", `{"a":"b","b":"a"}`, false},
		{"after a nested object", `{"a":{"x":1},"a":2}`, true},
		{"after an array", `{"a":[1,2],"a":2}`, true},
		{"empty object", `{}`, false},
		{"invalid", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := duplicateKey([]byte(tc.body)); got != tc.want {
				t.Fatalf("duplicateKey(%s) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}
