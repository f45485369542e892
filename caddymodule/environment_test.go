package caddymodule

import (
	"strings"
	"testing"
)

// TestEnvironmentTypo: an unknown environment lists the valid ones and
// suggests the one a typo was meant to be; a URL or nonsense gets none.
func TestEnvironmentTypo(t *testing.T) {
	tests := []struct{ env, want string }{
		{"prod", "did you mean production?"},
		{"Prodution", "did you mean production?"},
		{"tset", "did you mean test?"},
		{"sandbx", "did you mean sandbox?"},
		{"embeded", "did you mean embedded?"},
		{"staging", ""},
		{"ftp://host", ""},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			_, err := parseEnvironment(tt.env)
			if err == nil || !strings.Contains(err.Error(), "is not production, test, sandbox, embedded or an http(s) base URL") {
				t.Fatalf("err %v", err)
			}
			if got := err.Error(); (tt.want == "") != !strings.Contains(got, "did you mean") || !strings.Contains(got, tt.want) {
				t.Errorf("err %q, want %q", got, tt.want)
			}
		})
	}
}
