// Package testvault gives tests a Vault: the vaulttest double, or a real
// Vault when VAULT_ADDR and VAULT_TOKEN are set (e.g. `vault server -dev`).
// Either way the code under test reaches it through a fault proxy that
// counts calls and can play "Vault is down", so the same scenarios run
// against both. Test-side setup uses the real HTTP API wherever Vault has
// one, so the double cannot pass where Vault would not.
package testvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/qfsign/qfsign/vaulttest"
)

// Env is one Vault for one test.
type Env struct {
	// Addr is the fault proxy's URL: give it to the code under test.
	Addr string
	// Double is nil against a real Vault.
	Double *vaulttest.Running
	// Admin is a root-token client talking to Vault directly.
	Admin *vault.Client
	// Mount is a KV v2 mount private to this test.
	Mount string

	kube *kube // a real Vault's Kubernetes API, made on first use

	down  atomic.Bool
	mu    sync.Mutex
	calls map[string]int
	total int
}

// Real reports whether tests run against a real Vault.
func Real() bool { return os.Getenv("VAULT_ADDR") != "" && os.Getenv("VAULT_TOKEN") != "" }

// Start returns a Vault with a fresh KV v2 mount, closed with the test.
func Start(t testing.TB) *Env {
	t.Helper()
	e := &Env{calls: make(map[string]int)}
	addr, token := os.Getenv("VAULT_ADDR"), os.Getenv("VAULT_TOKEN")
	if !Real() {
		run, err := vaulttest.Start("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = run.Close() })
		e.Double, addr, token = run, run.URL, run.RootToken()
	}
	target, err := url.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(e.faults(httputil.NewSingleHostReverseProxy(target)))
	t.Cleanup(proxy.Close)
	e.Addr = proxy.URL
	cfg := vault.DefaultConfig()
	cfg.Address, cfg.MaxRetries = addr, 0
	if e.Admin, err = vault.NewClient(cfg); err != nil {
		t.Fatal(err)
	}
	e.Admin.SetToken(token)
	if e.Double == nil {
		e.ownToken(t)
	}
	e.Mount = "qfsign-" + RandomID(4)
	e.enableKV(t, e.Mount, 2)
	return e
}

// ownToken swaps VAULT_TOKEN for a root-policy child token private to the
// test: a dev server's root token is often a word like "root", which the
// leak checks would find everywhere, and revoking the child at the end
// revokes every token the test created.
func (e *Env) ownToken(t testing.TB) {
	t.Helper()
	s, err := e.Admin.Auth().Token().Create(&vault.TokenCreateRequest{Policies: []string{"root"}, TTL: "1h"})
	if err != nil {
		t.Fatalf("create the test's admin token: %v", err)
	}
	parent := e.Admin.Token()
	e.Admin.SetToken(s.Auth.ClientToken)
	t.Cleanup(func() {
		e.Admin.SetToken(parent)
		_ = e.Admin.Auth().Token().RevokeTree(s.Auth.ClientToken)
	})
}

// faults counts every call and answers 503 like a sealed Vault while down.
func (e *Env) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls[r.Method+" "+r.URL.Path]++
		e.total++
		e.mu.Unlock()
		if e.down.Load() {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"errors":["Vault is sealed"]}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// SetDown makes Vault unreachable for the code under test (not for Admin).
func (e *Env) SetDown(down bool) { e.down.Store(down) }

// Calls counts proxied calls: "" for all, or "METHOD /v1/path".
func (e *Env) Calls(pattern string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if pattern == "" {
		return e.total
	}
	return e.calls[pattern]
}

// CallsPrefix counts proxied calls whose "METHOD /v1/path" starts with p.
func (e *Env) CallsPrefix(p string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for k, v := range e.calls {
		if strings.HasPrefix(k, p) {
			n += v
		}
	}
	return n
}

func (e *Env) enableKV(t testing.TB, mount string, version int) {
	t.Helper()
	if e.Double != nil {
		e.Double.EnableKV(mount, version)
		return
	}
	err := e.Admin.Sys().MountWithContext(context.Background(), mount, &vault.MountInput{
		Type: "kv", Options: map[string]string{"version": fmt.Sprint(version)},
	})
	if err != nil {
		t.Fatalf("enable kv v%d at %s: %v", version, mount, err)
	}
	t.Cleanup(func() { _ = e.Admin.Sys().Unmount(mount) })
	if version == 2 {
		e.waitKVv2(t, mount)
	}
}

// waitKVv2: a fresh KV v2 mount on a real Vault upgrades in the background.
func (e *Env) waitKVv2(t testing.TB, mount string) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := e.Admin.KVv2(mount).Put(context.Background(), "probe", map[string]any{"x": "y"})
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("kv v2 mount %s not ready: %v", mount, err)
		}
		time.Sleep(100 * time.Millisecond) // real Vault gives no signal for the upgrade
	}
}

// KVv1 enables a KV v1 mount private to this test and returns its name.
func (e *Env) KVv1(t testing.TB) string {
	t.Helper()
	m := "qfsign-v1-" + RandomID(4)
	e.enableKV(t, m, 1)
	return m
}

// Put writes a KV v2 secret through the HTTP API and returns its version.
func (e *Env) Put(t testing.TB, path string, data map[string]any) int {
	t.Helper()
	s, err := e.Admin.KVv2(e.Mount).Put(context.Background(), path, data)
	if err != nil {
		t.Fatalf("put %s/%s: %v", e.Mount, path, err)
	}
	return s.VersionMetadata.Version
}

// PutV1 writes a KV v1 secret.
func (e *Env) PutV1(t testing.TB, mount, path string, data map[string]any) {
	t.Helper()
	if err := e.Admin.KVv1(mount).Put(context.Background(), path, data); err != nil {
		t.Fatalf("put %s/%s: %v", mount, path, err)
	}
}

// SoftDelete deletes the latest version of a KV v2 secret.
func (e *Env) SoftDelete(t testing.TB, path string) {
	t.Helper()
	if err := e.Admin.KVv2(e.Mount).Delete(context.Background(), path); err != nil {
		t.Fatal(err)
	}
}

// Token creates a token through auth/token/create.
func (e *Env) Token(t testing.TB, ttl time.Duration, renewable bool) string {
	t.Helper()
	return e.createToken(t, &vault.TokenCreateRequest{TTL: ttl.String(), Renewable: &renewable})
}

// ExpiringToken creates a renewable token whose explicit max TTL is ttl:
// renewals cannot keep it alive, so ExpireToken can wait it out on a real
// Vault while the code under test keeps renewing it.
func (e *Env) ExpiringToken(t testing.TB, ttl time.Duration) string {
	t.Helper()
	renewable := true
	return e.createToken(t, &vault.TokenCreateRequest{TTL: ttl.String(), ExplicitMaxTTL: ttl.String(), Renewable: &renewable})
}

func (e *Env) createToken(t testing.TB, req *vault.TokenCreateRequest) string {
	t.Helper()
	req.Policies = []string{"root"}
	s, err := e.Admin.Auth().Token().Create(req)
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	return s.Auth.ClientToken
}

// Revoke revokes a token through auth/token/revoke.
func (e *Env) Revoke(t testing.TB, token string) {
	t.Helper()
	if err := e.Admin.Auth().Token().RevokeTree(token); err != nil {
		t.Fatalf("revoke: %v", err)
	}
}

// RandomID is a short random hex string.
func RandomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
