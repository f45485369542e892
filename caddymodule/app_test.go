package caddymodule

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseEnvironment(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "production", want: "https://openapi-hk.qfapi.com:443"},
		{in: "TEST", want: "https://test-openapi-hk.qfapi.com:443"},
		{in: "sandbox", want: "https://openapi-int.qfapi.com:443"},
		{in: "http://127.0.0.1:9999", want: "http://127.0.0.1:9999"},
		{in: "http://qfpay.internal/", want: "http://qfpay.internal:80"},
		{in: "ftp://x", wantErr: "is not production"},
		{in: "openapi-hk.qfapi.com", wantErr: "is not production"},
		{in: "https://h/trade", wantErr: "no path"},
		{in: "https://u:p@h", wantErr: "no path, query or credentials"},
		{in: "https://h?x=1", wantErr: "no path, query"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := parseEnvironment(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || u.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", u, err, tt.want)
			}
		})
	}
}

// The environment has no default: empty or unresolved is an error, so
// `caddy validate` fails instead of routing payments to the double.
func TestResolveEnvironment(t *testing.T) {
	t.Setenv("QFSIGN_T_ENV", "sandbox")
	t.Setenv("QFSIGN_T_EMPTY", "")
	for _, tt := range []struct{ name, in, want, wantErr string }{
		{name: "empty", in: "", wantErr: "environment is required"},
		{name: "blank", in: "  ", wantErr: "environment is required"},
		{name: "unset placeholder", in: "{env.QFSIGN_T_UNSET}", wantErr: "resolves to nothing"},
		{name: "empty placeholder", in: "{env.QFSIGN_T_EMPTY}", wantErr: "resolves to nothing"},
		{name: "unknown placeholder", in: "{qfpay.nope}", wantErr: "resolves to nothing"},
		{name: "placeholder", in: "{env.QFSIGN_T_ENV}", want: "sandbox"},
		{name: "embedded", in: "embedded", want: "embedded"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := resolveEnvironment(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestMerchantProvision(t *testing.T) {
	const key = "MERCHANT-KEY-abc"
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("QFSIGN_T_KEY", key)
	t.Setenv("QFSIGN_T_APP", "APP1")
	t.Setenv("QFSIGN_T_SPACE", " "+key)
	tests := []struct {
		name     string
		m        *Merchant
		embedded bool
		wantErr  string
		wantApp  string
	}{
		{name: "env placeholders", m: &Merchant{AppCode: "{env.QFSIGN_T_APP}", ClientKey: "{env.QFSIGN_T_KEY}"}, wantApp: "APP1"},
		{name: "file placeholder", m: &Merchant{AppCode: "APP2", ClientKey: "{file." + keyFile + "}"}, wantApp: "APP2"},
		{name: "literal key refused", m: &Merchant{AppCode: "A", ClientKey: key}, wantErr: "must be a placeholder"},
		{name: "literal key allowed embedded", m: &Merchant{AppCode: "A", ClientKey: key}, embedded: true, wantApp: "A"},
		{name: "unset env", m: &Merchant{AppCode: "A", ClientKey: "{env.QFSIGN_T_NOPE}"}, wantErr: "client_key: unresolved or empty"},
		{name: "unset env embedded uses demo", m: &Merchant{AppCode: "{env.QFSIGN_T_NOPE}", ClientKey: "{env.QFSIGN_T_NOPE}"}, embedded: true, wantApp: demoAppCode},
		{name: "key given embedded: no demo app code", m: &Merchant{AppCode: "{env.QFSIGN_T_NOPE}", ClientKey: "{env.QFSIGN_T_KEY}"}, embedded: true, wantErr: "app_code: unresolved"},
		{name: "app code given embedded: no demo key", m: &Merchant{AppCode: "{env.QFSIGN_T_APP}", ClientKey: "{env.QFSIGN_T_NOPE}"}, embedded: true, wantErr: "client_key: unresolved"},
		{name: "given embedded: used as given", m: &Merchant{AppCode: "{env.QFSIGN_T_APP}", ClientKey: "{env.QFSIGN_T_KEY}"}, embedded: true, wantApp: "APP1"},
		{name: "unset env not embedded: no demo", m: &Merchant{AppCode: "{env.QFSIGN_T_NOPE}", ClientKey: "{env.QFSIGN_T_NOPE}"}, wantErr: "app_code: unresolved"},
		{name: "missing app code", m: &Merchant{ClientKey: "{env.QFSIGN_T_KEY}"}, wantErr: "app_code: unresolved or empty"},
		{name: "whitespace key", m: &Merchant{AppCode: "A", ClientKey: "{env.QFSIGN_T_SPACE}"}, wantErr: "surrounding whitespace"},
		{name: "bad sign type", m: &Merchant{AppCode: "A", ClientKey: "{env.QFSIGN_T_KEY}", SignType: "sha1"}, wantErr: "sign_type"},
		{name: "bad pay type", m: &Merchant{AppCode: "A", ClientKey: "{env.QFSIGN_T_KEY}", PayTypes: []string{"123456"}}, wantErr: "pay_types"},
		{name: "bad timezone", m: &Merchant{AppCode: "A", ClientKey: "{env.QFSIGN_T_KEY}", Timezone: "Mars/Base"}, wantErr: "timezone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			err := m.provision("shop", tt.embedded)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "shop") {
					t.Fatalf("err = %v, want %q naming the merchant", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), key) {
					t.Fatalf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c, _ := m.credentials()
			if c == nil || c.AppCode != tt.wantApp || c.Key.IsZero() {
				t.Fatalf("credentials = %+v", c)
			}
		})
	}
}
