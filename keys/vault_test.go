package keys_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/keys"
)

const testKey = "LEAKCANARY-vault-key-0123456789"

func newVault(t *testing.T, e *testvault.Env, auth keys.Auth) *keys.Vault {
	t.Helper()
	v, err := keys.NewVault(keys.VaultConfig{Address: e.Addr, Auth: auth, Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func rootAuth(e *testvault.Env) keys.Auth { return keys.TokenAuth{Token: e.Admin.Token()} }

func TestKVFetch(t *testing.T) {
	e := testvault.Start(t)
	v1 := e.KVv1(t)
	e.Put(t, "qfpay/ok", map[string]any{"app_code": "APP1", "client_key": testKey, "mchid": "M1"})
	e.Put(t, "qfpay/ok", map[string]any{"app_code": "APP2", "client_key": testKey + "2"})
	e.Put(t, "qfpay/custom", map[string]any{"code": "APP3", "key": testKey, "mid": "M3"})
	e.Put(t, "qfpay/nokey", map[string]any{"app_code": "APP1"})
	e.Put(t, "qfpay/space", map[string]any{"app_code": "APP1", "client_key": " " + testKey})
	e.Put(t, "qfpay/ctrl", map[string]any{"app_code": "APP1", "client_key": testKey + "\x00"})
	e.Put(t, "qfpay/number", map[string]any{"app_code": 123, "client_key": testKey})
	e.Put(t, "qfpay/object", map[string]any{"app_code": "A", "client_key": map[string]any{"x": 1}})
	e.Put(t, "qfpay/deleted", map[string]any{"app_code": "APP1", "client_key": testKey})
	e.SoftDelete(t, "qfpay/deleted")
	e.PutV1(t, v1, "qfpay/v1", map[string]any{"app_code": "APPV1", "client_key": testKey})
	v := newVault(t, e, rootAuth(e))

	tests := []struct {
		name             string
		mount, path      string
		version          int
		fields           keys.Fields
		wantApp, wantMch string
		wantVer          string
		wantErr          string
		wantIs           error
	}{
		{name: "latest v2 version", path: "qfpay/ok", wantApp: "APP2", wantVer: "v2"},
		{name: "custom fields", path: "qfpay/custom", fields: keys.Fields{AppCode: "code", ClientKey: "key", MchID: "mid"}, wantApp: "APP3", wantMch: "M3", wantVer: "v1"},
		{name: "numeric app code", path: "qfpay/number", wantApp: "123", wantVer: "v1"},
		{name: "kv v1", mount: v1, path: "qfpay/v1", version: 1, wantApp: "APPV1", wantVer: "kv1"},
		{name: "missing secret", path: "qfpay/none", wantErr: "qfpay/none", wantIs: keys.ErrNotFound},
		{name: "missing v1 secret", mount: v1, path: "qfpay/none", version: 1, wantIs: keys.ErrNotFound},
		{name: "deleted latest", path: "qfpay/deleted", wantErr: "latest version 1 is deleted", wantIs: keys.ErrNotFound},
		{name: "missing field", path: "qfpay/nokey", wantErr: "field client_key is missing", wantIs: keys.ErrInvalid},
		{name: "surrounding space", path: "qfpay/space", wantErr: "client_key has surrounding whitespace", wantIs: keys.ErrInvalid},
		{name: "control char", path: "qfpay/ctrl", wantErr: "client_key contains control", wantIs: keys.ErrInvalid},
		{name: "not a string", path: "qfpay/object", wantErr: "field client_key is a map", wantIs: keys.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mount := tt.mount
			if mount == "" {
				mount = e.Mount
			}
			kv := &keys.KV{Vault: v, Mount: mount, Path: tt.path, Version: tt.version, Fields: tt.fields}
			c, err := kv.Fetch(context.Background())
			if tt.wantIs != nil || tt.wantErr != "" {
				if err == nil || !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantIs, tt.wantErr)
				}
				if !strings.Contains(err.Error(), mount+"/"+tt.path) || strings.Contains(err.Error(), "LEAKCANARY") {
					t.Fatalf("error must name the path and never the key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.AppCode != tt.wantApp || c.MchID != tt.wantMch || c.Version != tt.wantVer || !strings.HasSuffix(c.KID(), "/"+tt.wantVer) {
				t.Fatalf("got app=%s mch=%s ver=%s kid=%s", c.AppCode, c.MchID, c.Version, c.KID())
			}
		})
	}
}

// A revoked token is replaced by what Vault Agent wrote to the sink.
func TestTokenFileRelogin(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	sink := filepath.Join(t.TempDir(), "token")
	first := e.Token(t, time.Hour, true)
	writeFile(t, sink, first+"\n")
	v := newVault(t, e, keys.TokenFileAuth{Path: sink})
	kv := &keys.KV{Vault: v, Mount: e.Mount, Path: "qfpay/demo"}
	if _, err := kv.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.Revoke(t, first)
	writeFile(t, sink, e.Token(t, time.Hour, true))
	if _, err := kv.Fetch(context.Background()); err != nil {
		t.Fatalf("after revoke and a new sink token: %v", err)
	}
	if v.Logins() != 2 {
		t.Fatalf("logins = %d, want 2 (one 403, one re-read)", v.Logins())
	}
	// The agent rotates the sink before the old token ends: used at once.
	writeFile(t, sink, e.Token(t, time.Hour, true))
	lookups := e.Calls("GET /v1/auth/token/lookup-self")
	if _, err := kv.Fetch(context.Background()); err != nil || v.Logins() != 3 || e.Calls("GET /v1/auth/token/lookup-self") != lookups+1 {
		t.Fatalf("rotated sink: err %v, logins %d", err, v.Logins())
	}
	e.Revoke(t, readFile(t, sink))
	if _, err := kv.Fetch(context.Background()); err == nil {
		t.Fatal("a revoked token with no replacement must fail")
	}
}

func TestAppRoleLogin(t *testing.T) {
	for _, wrapped := range []bool{false, true} {
		t.Run(map[bool]string{false: "secret_id file", true: "wrapped secret_id"}[wrapped], func(t *testing.T) {
			e := testvault.Start(t)
			e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
			ar := e.EnableAppRole(t, time.Hour, 2*time.Hour)
			sid := filepath.Join(t.TempDir(), "secret_id")
			if wrapped {
				writeFile(t, sid, e.WrapSecretID(t, ar))
			} else {
				writeFile(t, sid, ar.SecretID)
			}
			v := newVault(t, e, keys.AppRoleAuth{RoleID: ar.RoleID, SecretIDFile: sid, Wrapped: wrapped, Mount: ar.Mount})
			c, err := (&keys.KV{Vault: v, Mount: e.Mount, Path: "qfpay/demo"}).Fetch(context.Background())
			if err != nil || c.AppCode != "APP" {
				t.Fatalf("fetch: %v", err)
			}
			if n := e.Calls("PUT /v1/auth/" + ar.Mount + "/login"); n != 1 {
				t.Fatalf("approle logins = %d, want 1", n)
			}
		})
	}
}

// The service-account token rotates; every login must read the new one.
func TestKubernetesLoginRereadsJWT(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	mount := e.EnableKubernetes(t, "qfsign", time.Hour, "jwt-one")
	jwt := filepath.Join(t.TempDir(), "token")
	writeFile(t, jwt, e.KubeJWT(t, "qfsign", "jwt-one"))
	v := newVault(t, e, keys.KubernetesAuth{Role: "qfsign", TokenPath: jwt, Mount: mount})
	kv := &keys.KV{Vault: v, Mount: e.Mount, Path: "qfpay/demo"}
	if _, err := kv.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.SetKubeJWTs(t, mount, "qfsign", "jwt-two")
	writeFile(t, jwt, e.KubeJWT(t, "qfsign", "jwt-two"))
	// The login token ends; the next login must present the new JWT.
	e.EndLogins(t, mount)
	if _, err := kv.Fetch(context.Background()); err != nil {
		t.Fatalf("after JWT rotation: %v", err)
	}
	if v.Logins() != 2 {
		t.Fatalf("logins = %d", v.Logins())
	}
}

func writeFile(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// When renewal reaches the token's max TTL the watcher ends and the next
// call logs in again; no fetch fails on the way.
func TestRenewalEndThenRelogin(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	ar := e.EnableAppRole(t, time.Second, 2*time.Second)
	sid := filepath.Join(t.TempDir(), "secret_id")
	writeFile(t, sid, ar.SecretID)
	v := newVault(t, e, keys.AppRoleAuth{RoleID: ar.RoleID, SecretIDFile: sid, Mount: ar.Mount})
	kv := &keys.KV{Vault: v, Mount: e.Mount, Path: "qfpay/demo"}
	deadline := time.Now().Add(20 * time.Second)
	for v.Logins() < 2 {
		if _, err := kv.Fetch(context.Background()); err != nil {
			t.Fatalf("fetch failed around renewal: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no re-login after max TTL; logins = %d", v.Logins())
		}
		time.Sleep(50 * time.Millisecond) // the poll is the load; the watcher has no public event
	}
	if n := e.CallsPrefix("PUT /v1/auth/token/renew-self"); n < 1 {
		t.Fatalf("renew-self calls = %d, want the watcher to renew at least once", n)
	}
}
