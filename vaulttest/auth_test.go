package vaulttest_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"

	"github.com/qfsign/qfsign/vaulttest"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "cred")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAppRoleLoginFromFile(t *testing.T) {
	run := start(t)
	run.EnableAppRole("", vaulttest.AppRole{RoleID: "gw", SecretID: "s3cr3t", TokenTTL: 20 * time.Minute, Renewable: true, Name: "gateway", Policies: []string{"qfpay"}})
	run.Put("secret", "qfpay/demo", map[string]any{"key": "k"})
	c := newClient(t, run, "")
	auth, err := approle.NewAppRoleAuth("gw", &approle.SecretID{FromFile: writeFile(t, "s3cr3t\n")})
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.Auth().Login(context.Background(), auth)
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth.LeaseDuration != 1200 || !s.Auth.Renewable || s.Auth.Metadata["role_name"] != "gateway" || c.Token() != s.Auth.ClientToken {
		t.Fatalf("auth = %+v", s.Auth)
	}
	if got, err := c.KVv2("secret").Get(context.Background(), "qfpay/demo"); err != nil || got.Data["key"] != "k" {
		t.Fatalf("read with login token = %v, %v", got, err)
	}
	self, err := c.Auth().Token().LookupSelf()
	if err != nil || self.Data["path"] != "auth/approle/login" || self.Data["display_name"] != "approle" {
		t.Fatalf("lookup-self = %#v, %v", self, err)
	}
	if run.Logins() != 1 || run.Calls("PUT /v1/auth/approle/login") != 1 {
		t.Fatalf("logins = %d, calls = %v", run.Logins(), run.CallLog())
	}
}

func TestAppRoleLoginRefused(t *testing.T) {
	run := start(t)
	run.EnableAppRole("approle", vaulttest.AppRole{RoleID: "gw", SecretID: "old", Renewable: true})
	run.SetSecretID("approle", "gw", "new")
	cases := []struct{ name, roleID, secretID, wantErr string }{
		{"rotated secret id", "gw", "old", "invalid role or secret ID"},
		{"unknown role", "nope", "new", "invalid role or secret ID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			auth, _ := approle.NewAppRoleAuth(tc.roleID, &approle.SecretID{FromString: tc.secretID})
			_, err := newClient(t, run, "").Auth().Login(context.Background(), auth)
			wantStatus(t, err, http.StatusBadRequest, tc.wantErr)
		})
	}
	auth, _ := approle.NewAppRoleAuth("gw", &approle.SecretID{FromString: "new"})
	if _, err := newClient(t, run, "").Auth().Login(context.Background(), auth); err != nil {
		t.Fatalf("rotated secret id refused: %v", err)
	}
	if run.Logins() != 1 {
		t.Fatalf("logins = %d, want 1", run.Logins())
	}
}

func TestAppRoleWrappedSecretID(t *testing.T) {
	run := start(t)
	run.EnableAppRole("", vaulttest.AppRole{RoleID: "gw", SecretID: "s3cr3t", Renewable: true})
	login := func(wrapped string) error {
		auth, err := approle.NewAppRoleAuth("gw", &approle.SecretID{FromFile: writeFile(t, wrapped)}, approle.WithWrappingToken())
		if err != nil {
			t.Fatal(err)
		}
		_, err = newClient(t, run, "").Auth().Login(context.Background(), auth)
		return err
	}
	wrapped := run.WrapSecretID("", "gw", time.Minute)
	if err := login(wrapped); err != nil {
		t.Fatal(err)
	}
	if run.Calls("PUT /v1/sys/wrapping/unwrap") != 1 || run.Logins() != 1 {
		t.Fatalf("calls = %v", run.CallLog())
	}
	wantStatus(t, login(wrapped), http.StatusBadRequest, "wrapping token is not valid or does not exist")
	expired := run.WrapSecretID("", "gw", time.Minute)
	run.Expire(expired)
	wantStatus(t, login(expired), http.StatusBadRequest, "wrapping token is not valid or does not exist")
}

func TestUnwrapWithTokenInBody(t *testing.T) {
	run := start(t)
	run.EnableAppRole("", vaulttest.AppRole{RoleID: "gw", SecretID: "s3cr3t"})
	_, err := newClient(t, run, "hvs.bogus").Logical().Unwrap(run.WrapSecretID("", "gw", 0))
	wantStatus(t, err, http.StatusForbidden, "permission denied")
	s, err := newClient(t, run, run.RootToken()).Logical().Unwrap(run.WrapSecretID("", "gw", 0))
	if err != nil || s.Data["secret_id"] != "s3cr3t" || s.Data["secret_id_accessor"] == "" {
		t.Fatalf("unwrap = %+v, %v", s, err)
	}
}

// fakeJWT builds an unsigned projected service account token.
func fakeJWT(ns, sa, nonce string) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := `{"kubernetes.io":{"namespace":"` + ns + `","serviceaccount":{"name":"` + sa + `","uid":"uid-1"}},"nonce":"` + nonce + `"}`
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc([]byte(claims)) + ".c2ln"
}

func TestKubernetesLoginAndJWTRotation(t *testing.T) {
	run := start(t)
	oldJWT, newJWT := fakeJWT("qfpay", "gateway", "1"), fakeJWT("qfpay", "gateway", "2")
	run.EnableKubernetes("", vaulttest.KubeRole{Role: "gw", JWTs: []string{oldJWT}, TokenTTL: time.Hour, Renewable: true})
	path := writeFile(t, oldJWT)
	login := func(role string) (*api.Secret, error) {
		auth, err := kubernetes.NewKubernetesAuth(role, kubernetes.WithServiceAccountTokenPath(path))
		if err != nil {
			t.Fatal(err)
		}
		return newClient(t, run, "").Auth().Login(context.Background(), auth)
	}
	s, err := login("gw")
	if err != nil {
		t.Fatal(err)
	}
	if s.Auth.LeaseDuration != 3600 || s.Auth.Metadata["service_account_namespace"] != "qfpay" || s.Auth.Metadata["role"] != "gw" {
		t.Fatalf("auth = %+v", s.Auth)
	}
	run.SetKubeJWTs("", "gw", newJWT)
	_, err = login("gw")
	wantStatus(t, err, http.StatusForbidden, "permission denied")
	if err := os.WriteFile(path, []byte(newJWT), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := login("gw"); err != nil {
		t.Fatalf("rotated JWT refused: %v", err)
	}
	_, err = login("nope")
	wantStatus(t, err, http.StatusBadRequest, `invalid role name "nope"`)
	if run.Logins() != 2 || run.Calls("PUT /v1/auth/kubernetes/login") != 4 {
		t.Fatalf("logins = %d, calls = %v", run.Logins(), run.CallLog())
	}
}

// TestLifetimeWatcher runs the official watcher on a 1s/3s login: it must
// renew at least once, then finish as the max TTL runs out.
func TestLifetimeWatcher(t *testing.T) {
	cases := []struct {
		name      string
		increment bool
	}{
		{"no increment", false},
		{"increment equal to the lease, as the gateway does", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			run := start(t)
			run.EnableAppRole("", vaulttest.AppRole{RoleID: "gw", SecretID: "s", TokenTTL: time.Second, TokenMaxTTL: 3 * time.Second, Renewable: true})
			c := newClient(t, run, "")
			auth, _ := approle.NewAppRoleAuth("gw", &approle.SecretID{FromString: "s"})
			s, err := c.Auth().Login(context.Background(), auth)
			if err != nil {
				t.Fatal(err)
			}
			in := &api.LifetimeWatcherInput{Secret: s}
			if tc.increment {
				in.Increment = s.Auth.LeaseDuration
			}
			renewals := watch(t, c, in)
			if renewals < 1 || run.Calls("PUT /v1/auth/token/renew-self") < renewals {
				t.Fatalf("renewals = %d, calls = %v", renewals, run.CallLog())
			}
		})
	}
}

func watch(t *testing.T, c *api.Client, in *api.LifetimeWatcherInput) int {
	t.Helper()
	w, err := c.NewLifetimeWatcher(in)
	if err != nil {
		t.Fatal(err)
	}
	go w.Start()
	defer w.Stop()
	timeout := time.NewTimer(15 * time.Second)
	defer timeout.Stop()
	renewals := 0
	for {
		select {
		case <-w.RenewCh():
			renewals++
		case err := <-w.DoneCh():
			if err != nil {
				t.Fatalf("watcher ended with %v", err)
			}
			return renewals
		case <-timeout.C:
			t.Fatalf("watcher still running after 15s (%d renewals)", renewals)
		}
	}
}
