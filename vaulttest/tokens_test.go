package vaulttest_test

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/qfsign/qfsign/vaulttest"
)

func TestTokenRequired(t *testing.T) {
	run := start(t)
	run.Put("secret", "qfpay/demo", map[string]any{"key": "k"})
	expired := run.CreateToken(vaulttest.TokenOptions{TTL: time.Hour})
	run.Expire(expired)
	revoked := run.CreateToken(vaulttest.TokenOptions{TTL: time.Hour})
	run.Revoke(revoked)
	run.EnableAppRole("", vaulttest.AppRole{RoleID: "r", SecretID: "s"})
	wrapping := run.WrapSecretID("", "r", time.Minute)
	cases := []struct{ name, token string }{
		{"missing", ""},
		{"unknown", "hvs.doesnotexist"},
		{"expired", expired},
		{"revoked", revoked},
		{"wrapping token is not a client token", wrapping},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(t, run, tc.token).KVv2("secret").Get(context.Background(), "qfpay/demo")
			wantStatus(t, err, http.StatusForbidden, "permission denied")
		})
	}
	t.Run("bearer header is accepted", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, run.URL+"/v1/secret/data/qfpay/demo", nil)
		req.Header.Set("Authorization", "Bearer "+run.RootToken())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d", resp.StatusCode)
		}
	})
}

func TestLookupSelf(t *testing.T) {
	run := start(t)
	tok := run.CreateToken(vaulttest.TokenOptions{TTL: time.Hour, MaxTTL: 2 * time.Hour, Renewable: true, Policies: []string{"qfpay"}})
	s, err := newClient(t, run, tok).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	ttl, _ := s.TokenTTL()
	pols, _ := s.TokenPolicies()
	renewable, _ := s.TokenIsRenewable()
	if ttl <= 59*time.Minute || ttl > time.Hour || !renewable || !slices.Equal(pols, []string{"default", "qfpay"}) {
		t.Fatalf("ttl=%v renewable=%v policies=%v", ttl, renewable, pols)
	}
	if s.Data["id"] != tok || s.Data["type"] != "service" || s.Data["expire_time"] == nil {
		t.Fatalf("data = %#v", s.Data)
	}
	root, err := newClient(t, run, run.RootToken()).Auth().Token().LookupSelf()
	if err != nil {
		t.Fatal(err)
	}
	if ttl, _ := root.TokenTTL(); ttl != 0 || root.Data["expire_time"] != nil || root.Data["path"] != "auth/token/root" {
		t.Fatalf("root lookup = %#v", root.Data)
	}
}

// TestRenewSelfCappedByMaxTTL walks a fake clock through a token's life.
func TestRenewSelfCappedByMaxTTL(t *testing.T) {
	run := start(t)
	clk := newClock()
	run.SetNow(clk.Now)
	tok := run.CreateToken(vaulttest.TokenOptions{TTL: 10 * time.Minute, MaxTTL: 30 * time.Minute, Renewable: true})
	c := newClient(t, run, tok)
	steps := []struct {
		name      string
		advance   time.Duration
		increment int
		wantLease int // -1: expect 403
	}{
		{"renew with the token TTL", 5 * time.Minute, 0, 600},
		{"renew again before expiry", 9 * time.Minute, 0, 600},
		{"increment capped by max TTL", 9 * time.Minute, 3600, 420},
		{"expired at max TTL", 7 * time.Minute, 0, -1},
	}
	for _, st := range steps {
		clk.Advance(st.advance)
		s, err := c.Auth().Token().RenewSelf(st.increment)
		if st.wantLease < 0 {
			wantStatus(t, err, http.StatusForbidden, "permission denied")
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s.Auth.LeaseDuration != st.wantLease || s.Auth.ClientToken != tok || !s.Auth.Renewable {
			t.Fatalf("%s: auth = %+v", st.name, s.Auth)
		}
	}
}

func TestRenewRefusals(t *testing.T) {
	run := start(t)
	cases := []struct{ name, token string }{
		{"non-renewable token", run.CreateToken(vaulttest.TokenOptions{TTL: time.Hour})},
		{"root token", run.RootToken()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newClient(t, run, tc.token).Auth().Token().RenewSelf(0)
			wantStatus(t, err, http.StatusBadRequest, "lease is not renewable")
		})
	}
}

func TestTokenExpiresOnClock(t *testing.T) {
	run := start(t)
	clk := newClock()
	run.SetNow(clk.Now)
	tok := run.CreateToken(vaulttest.TokenOptions{TTL: 10 * time.Minute})
	c := newClient(t, run, tok)
	if _, err := c.Auth().Token().LookupSelf(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Minute)
	_, err := c.Auth().Token().LookupSelf()
	wantStatus(t, err, http.StatusForbidden, "permission denied")
}

func TestTokenCreateAndRevokeOverHTTP(t *testing.T) {
	run := start(t)
	root := newClient(t, run, run.RootToken())
	child, err := root.Auth().Token().Create(&api.TokenCreateRequest{TTL: "1h", Policies: []string{"qfpay"}})
	if err != nil {
		t.Fatal(err)
	}
	if child.Auth.LeaseDuration != 3600 || !child.Auth.Renewable || !slices.Equal(child.Auth.Policies, []string{"default", "qfpay"}) {
		t.Fatalf("child auth = %+v", child.Auth)
	}
	cc := newClient(t, run, child.Auth.ClientToken)
	_, err = cc.Auth().Token().Create(&api.TokenCreateRequest{Policies: []string{"admin"}})
	wantStatus(t, err, http.StatusBadRequest, "child policies must be subset of parent")
	grandchild, err := cc.Auth().Token().Create(&api.TokenCreateRequest{TTL: "2h"})
	if err != nil {
		t.Fatal(err)
	}
	if grandchild.Auth.LeaseDuration > 3600 {
		t.Fatalf("grandchild outlives its parent: %d", grandchild.Auth.LeaseDuration)
	}
	if err := root.Auth().Token().RevokeTree(child.Auth.ClientToken); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]string{"child": child.Auth.ClientToken, "grandchild": grandchild.Auth.ClientToken} {
		t.Run("revoked "+name, func(t *testing.T) {
			_, err := newClient(t, run, tok).Auth().Token().LookupSelf()
			wantStatus(t, err, http.StatusForbidden, "permission denied")
			_, err = root.Auth().Token().Lookup(tok)
			wantStatus(t, err, http.StatusForbidden, "bad token")
		})
	}
	other := newClient(t, run, run.CreateToken(vaulttest.TokenOptions{}))
	if err := other.Auth().Token().RevokeSelf(""); err != nil {
		t.Fatal(err)
	}
	_, err = other.Auth().Token().LookupSelf()
	wantStatus(t, err, http.StatusForbidden, "permission denied")
}
