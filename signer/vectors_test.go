package signer

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"strings"
	"testing"
)

func TestRequestVectors(t *testing.T) {
	for _, v := range testvectors.Load(t).Request {
		t.Run(v.Name, func(t *testing.T) {
			p := FromMap(v.Params)
			key := NewSecret(v.ClientKey)
			if got := p.Canonical(); got != v.Canonical {
				t.Errorf("canonical\n got %q\nwant %q", got, v.Canonical)
			}
			if got := string(p.Encode()); got != v.WireBody {
				t.Errorf("wire body\n got %q\nwant %q", got, v.WireBody)
			}
			if got := Sign(p, key, MD5); got != v.MD5 {
				t.Errorf("md5 = %s, want %s", got, v.MD5)
			}
			if got := Sign(p, key, SHA256); got != v.SHA256 {
				t.Errorf("sha256 = %s, want %s", got, v.SHA256)
			}
			for _, sig := range []string{v.MD5, strings.ToLower(v.MD5)} {
				if !Verify(p, key, MD5, sig) {
					t.Errorf("Verify(md5 %s) = false", sig)
				}
			}
			if !Verify(p, key, SHA256, strings.ToUpper(v.SHA256)) {
				t.Error("Verify(upper-case sha256) = false")
			}
			if Verify(p, NewSecret(v.ClientKey+"x"), MD5, v.MD5) {
				t.Error("Verify with another key = true")
			}
			// The wire body parses back to the very same params.
			back, err := ParseForm([]byte(v.WireBody), nil)
			if err != nil {
				t.Fatal(err)
			}
			if back.Canonical() != v.Canonical {
				t.Errorf("parse(wire) canonical = %q", back.Canonical())
			}
		})
	}
}

func TestNotificationVectors(t *testing.T) {
	for _, v := range testvectors.Load(t).Notification {
		t.Run(v.Name, func(t *testing.T) {
			key := NewSecret(v.ClientKey)
			body := []byte(v.Body)
			if !VerifyNotification(body, key, MD5, v.MD5) {
				t.Fatal("vector does not verify")
			}
			if !VerifyNotification(body, key, MD5, strings.ToLower(v.MD5)) {
				t.Error("lower-case hex does not verify")
			}
			tampered := []byte(strings.Replace(v.Body, `"300"`, `"3000"`, 1))
			if VerifyNotification(tampered, key, MD5, v.MD5) {
				t.Error("tampered body verifies")
			}
			if VerifyNotification(body, Secret{}, MD5, v.MD5) {
				t.Error("empty key verifies")
			}
			if VerifyNotification(body, key, MD5, v.MD5[:31]) {
				t.Error("short signature verifies")
			}
		})
	}
}
