package testvault

import (
	"context"
	"fmt"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/qfsign/qfsign/vaulttest"
)

// AppRole is an AppRole login set up for a test.
type AppRole struct {
	Mount, RoleID, SecretID string
}

// EnableAppRole mounts AppRole privately for this test with one role
// whose tokens live tokenTTL, renewable up to maxTTL, and may read e.Mount.
func (e *Env) EnableAppRole(t testing.TB, tokenTTL, maxTTL time.Duration) AppRole {
	t.Helper()
	ar := AppRole{Mount: "approle-" + RandomID(4), RoleID: RandomID(8), SecretID: RandomID(16)}
	if e.Double != nil {
		e.Double.EnableAppRole(ar.Mount, vaulttest.AppRole{RoleID: ar.RoleID, SecretID: ar.SecretID,
			TokenTTL: tokenTTL, TokenMaxTTL: maxTTL, Renewable: true})
		return ar
	}
	ctx := context.Background()
	if err := e.Admin.Sys().EnableAuthWithOptionsWithContext(ctx, ar.Mount, &vault.EnableAuthOptions{Type: "approle"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Admin.Sys().DisableAuth(ar.Mount) })
	policy := e.readPolicy(t)
	role := "auth/" + ar.Mount + "/role/qfsign"
	e.write(t, role, map[string]any{"token_policies": policy,
		"token_ttl": seconds(tokenTTL), "token_max_ttl": seconds(maxTTL)})
	e.write(t, role+"/role-id", map[string]any{"role_id": ar.RoleID})
	e.write(t, role+"/custom-secret-id", map[string]any{"secret_id": ar.SecretID})
	return ar
}

// WrapSecretID returns a response-wrapping token whose unwrap yields a
// new secret_id for ar.
func (e *Env) WrapSecretID(t testing.TB, ar AppRole) string {
	t.Helper()
	if e.Double != nil {
		return e.Double.WrapSecretID(ar.Mount, ar.RoleID, time.Minute)
	}
	c, err := e.Admin.Clone()
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(e.Admin.Token())
	c.SetWrappingLookupFunc(func(string, string) string { return "60s" })
	s, err := c.Logical().Write("auth/"+ar.Mount+"/role/qfsign/secret-id", nil)
	if err != nil || s.WrapInfo == nil {
		t.Fatalf("wrap secret id: %v", err)
	}
	return s.WrapInfo.Token
}

// ExpireToken makes tok unusable: at once on the double; on a real Vault
// by waiting out its TTL. A token the code under test renews only ends at
// its max TTL, so tok must come from ExpiringToken with a few seconds.
func (e *Env) ExpireToken(t testing.TB, tok string) {
	t.Helper()
	if e.Double != nil {
		e.Double.Expire(tok)
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := e.Admin.Auth().Token().Lookup(tok); err != nil {
			return
		}
		time.Sleep(250 * time.Millisecond) // Vault sends no expiry event
	}
	t.Fatal("token did not expire")
}

func (e *Env) readPolicy(t testing.TB) string {
	name := "qfsign-" + RandomID(4)
	hcl := fmt.Sprintf("path %q { capabilities = [\"read\"] }\n", e.Mount+"/*")
	if err := e.Admin.Sys().PutPolicy(name, hcl); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Admin.Sys().DeletePolicy(name) })
	return name
}

func (e *Env) write(t testing.TB, path string, data map[string]any) {
	t.Helper()
	if _, err := e.Admin.Logical().Write(path, data); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func seconds(d time.Duration) int { return int(d / time.Second) }
