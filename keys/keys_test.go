package keys

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/signer"
)

func TestNewCredentials(t *testing.T) {
	const key = "SECRET-abc123"
	tests := []struct {
		name                 string
		appCode, key, mchid  string
		wantErr, wantInError string
	}{
		{name: "ok", appCode: "A1", key: key},
		{name: "trailing newline trimmed", appCode: "A1", key: key + "\n"},
		{name: "trailing CRLF trimmed", appCode: "A1", key: key + "\r\n"},
		{name: "empty key", appCode: "A1", key: "", wantInError: "client_key is empty"},
		{name: "empty app code", appCode: "", key: key, wantInError: "app_code is empty"},
		{name: "leading space", appCode: "A1", key: " " + key, wantInError: "client_key has surrounding whitespace"},
		{name: "two newlines", appCode: "A1", key: key + "\n\n", wantInError: "client_key has surrounding whitespace"},
		{name: "control char", appCode: "A1", key: "SE\x01CRET", wantInError: "client_key contains control"},
		{name: "mchid space", appCode: "A1", key: key, mchid: "M 1 ", wantInError: "mchid has surrounding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewCredentials(tt.appCode, tt.key, tt.mchid, "static")
			if tt.wantInError != "" {
				if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantInError) {
					t.Fatalf("err = %v, want %q", err, tt.wantInError)
				}
				if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "SE\x01") {
					t.Fatalf("error leaks the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !c.Key.Equal(NewCredentialsMust(t, key)) {
				t.Error("key not trimmed to the expected value")
			}
			if !strings.HasSuffix(c.KID(), "/static") || strings.Contains(c.KID(), key) {
				t.Errorf("KID = %s", c.KID())
			}
			got, err := Static{Creds: c}.Fetch(context.Background())
			if err != nil || got.AppCode != tt.appCode {
				t.Errorf("Static.Fetch = %v, %v", got.AppCode, err)
			}
		})
	}
}

func NewCredentialsMust(t *testing.T, key string) signer.Secret {
	t.Helper()
	c, err := NewCredentials("A", key, "", "v")
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}
