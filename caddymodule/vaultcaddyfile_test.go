package caddymodule

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestVaultParse(t *testing.T) {
	tests := []appParseCase{
		{name: "full", input: `qfpay {
			environment test
			vault {
				address https://vault:8200
				namespace team
				ca_cert /ca.pem
				client_cert /c.pem
				client_key /k.pem
				auth approle {env.ROLE} /run/sid wrapped
				auth_mount ar
				refresh 2m
				max_stale 30m
				retry 2s 1m
				timeout 3s
			}
			merchant hk {
				vault kv/qfpay/hk {
					mount kv
					kv 1
					fields code key mid
				}
			}
		}`, check: func(t *testing.T, a *App) {
			v, mv := a.Vault, a.Merchants["hk"].Vault
			if v.Address != "https://vault:8200" || v.Namespace != "team" || v.CACert != "/ca.pem" || v.ClientCert != "/c.pem" || v.ClientKey != "/k.pem" {
				t.Errorf("vault = %+v", v)
			}
			want := VaultAuth{Method: "approle", RoleID: "{env.ROLE}", SecretIDFile: "/run/sid", Wrapped: true, Mount: "ar"}
			if *v.Auth != want {
				t.Errorf("auth = %+v", v.Auth)
			}
			if time.Duration(v.Refresh) != 2*time.Minute || time.Duration(v.MaxStale) != 30*time.Minute ||
				time.Duration(v.RetryMin) != 2*time.Second || time.Duration(v.RetryMax) != time.Minute || time.Duration(v.Timeout) != 3*time.Second {
				t.Errorf("durations = %+v", v)
			}
			wantMV := MerchantVault{Path: "kv/qfpay/hk", Mount: "kv", KVVersion: 1, AppCodeField: "code", ClientKeyField: "key", MchIDField: "mid"}
			if *mv != wantMV {
				t.Errorf("merchant vault = %+v", mv)
			}
		}},
		{name: "auth mount before auth", input: "qfpay {\nvault {\nauth_mount k8s\nauth kubernetes qfsign /var/t\n}\n}", check: func(t *testing.T, a *App) {
			want := VaultAuth{Method: "kubernetes", Role: "qfsign", TokenPath: "/var/t", Mount: "k8s"}
			if *a.Vault.Auth != want {
				t.Errorf("auth = %+v", a.Vault.Auth)
			}
		}},
		{name: "approle env", input: `qfpay { vault { auth approle r1 env SECRET_ID } }`, check: func(t *testing.T, a *App) {
			if a.Vault.Auth.RoleID != "r1" || a.Vault.Auth.SecretIDEnv != "SECRET_ID" || a.Vault.Auth.Wrapped {
				t.Errorf("auth = %+v", a.Vault.Auth)
			}
		}},
		{name: "token default", input: `qfpay { vault { auth token } }`, check: func(t *testing.T, a *App) {
			if a.Vault.Auth.Method != "token" || a.Vault.Auth.Token != "" {
				t.Errorf("auth = %+v", a.Vault.Auth)
			}
		}},
		{name: "token file", input: `qfpay { vault { auth token_file /vault/token } }`, check: func(t *testing.T, a *App) {
			if a.Vault.Auth.TokenFile != "/vault/token" {
				t.Errorf("auth = %+v", a.Vault.Auth)
			}
		}},
		{name: "merchant vault bare", input: `qfpay { merchant m { vault secret/qfpay/demo } }`, check: func(t *testing.T, a *App) {
			if mv := a.Merchants["m"].Vault; mv.Path != "secret/qfpay/demo" || mv.KVVersion != 0 {
				t.Errorf("merchant vault = %+v", mv)
			}
		}},
		{name: "vault twice", input: "qfpay {\nvault {\n}\nvault {\n}\n}", wantErr: "vault is set twice"},
		{name: "vault argument", input: `qfpay { vault x }`, wantErr: "wrong argument count"},
		{name: "vault unknown", input: `qfpay { vault { colour red } }`, wantErr: `unknown option "colour"`},
		{name: "address two values", input: `qfpay { vault { address a b } }`, wantErr: "wrong argument count"},
		{name: "auth twice", input: "qfpay {\nvault {\nauth token\nauth token\n}\n}", wantErr: "auth is set twice"},
		{name: "auth empty", input: `qfpay { vault { auth } }`, wantErr: "wrong argument count"},
		{name: "auth unknown", input: `qfpay { vault { auth ldap } }`, wantErr: "must be token, token_file"},
		{name: "token two values", input: `qfpay { vault { auth token a b } }`, wantErr: "wrong argument count"},
		{name: "token_file no path", input: `qfpay { vault { auth token_file } }`, wantErr: "wrong argument count"},
		{name: "approle one arg", input: `qfpay { vault { auth approle r } }`, wantErr: "wrong argument count"},
		{name: "approle env missing var", input: `qfpay { vault { auth approle r env } }`, wantErr: "wrong argument count"},
		{name: "kubernetes no role", input: `qfpay { vault { auth kubernetes } }`, wantErr: "wrong argument count"},
		{name: "kubernetes three", input: `qfpay { vault { auth kubernetes a b c } }`, wantErr: "wrong argument count"},
		{name: "auth_mount empty", input: `qfpay { vault { auth_mount } }`, wantErr: "wrong argument count"},
		{name: "refresh bad", input: `qfpay { vault { refresh soon } }`, wantErr: `invalid duration "soon"`},
		{name: "refresh zero", input: `qfpay { vault { refresh 0s } }`, wantErr: "invalid duration"},
		{name: "retry one", input: `qfpay { vault { retry 1s } }`, wantErr: "wrong argument count"},
		{name: "merchant vault no path", input: `qfpay { merchant m { vault } }`, wantErr: "wrong argument count"},
		{name: "merchant kv 3", input: `qfpay { merchant m { vault a/b { kv 3 } } }`, wantErr: `must be 1 or 2, got "3"`},
		{name: "merchant kv none", input: `qfpay { merchant m { vault a/b { kv } } }`, wantErr: "wrong argument count"},
		{name: "merchant mount none", input: `qfpay { merchant m { vault a/b { mount } } }`, wantErr: "wrong argument count"},
		{name: "merchant fields one", input: `qfpay { merchant m { vault a/b { fields x } } }`, wantErr: "wrong argument count"},
		{name: "merchant vault unknown", input: `qfpay { merchant m { vault a/b { colour red } } }`, wantErr: `unknown merchant option "colour"`},
	}
	runAppParse(t, tests)
}

// Provision-time refusals: nothing here contacts Vault.
func TestVaultProvisionErrors(t *testing.T) {
	t.Setenv("QFSIGN_TEST_TOKEN", "tok")
	tests := []struct {
		name    string
		app     App
		wantErr string
	}{
		{name: "literal token", app: App{Environment: "test", Vault: &VaultConfig{Auth: &VaultAuth{Token: "hvs.literal"}},
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "secret/x"}}}}, wantErr: "must be a placeholder"},
		{name: "unknown method", app: App{Environment: "test", Vault: &VaultConfig{Auth: &VaultAuth{Method: "ldap"}},
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "secret/x"}}}}, wantErr: "method must be"},
		{name: "approle without secret id", app: App{Environment: "test", Vault: &VaultConfig{Auth: &VaultAuth{Method: "approle", RoleID: "r"}},
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "secret/x"}}}}, wantErr: "exactly one of secret_id_file"},
		{name: "path without mount", app: App{Environment: "test",
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "demo"}}}}, wantErr: "want <mount>/<path>"},
		{name: "kv version", app: App{Environment: "test",
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "secret/x", KVVersion: 3}}}}, wantErr: "kv_version must be 1 or 2"},
		{name: "vault and literal app code", app: App{Environment: "test",
			Merchants: map[string]*Merchant{"m": {AppCode: "A", Vault: &MerchantVault{Path: "secret/x"}}}}, wantErr: "come from vault"},
		{name: "vault with embedded", app: App{Environment: "embedded",
			Merchants: map[string]*Merchant{"m": {Vault: &MerchantVault{Path: "secret/x"}}}}, wantErr: "embedded environment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: t.Context()})
			defer cancel()
			a := tt.app
			err := a.Provision(ctx)
			defer a.Cleanup()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hvs.literal") {
				t.Fatalf("error echoes the token: %v", err)
			}
		})
	}
}
