package vaulttest_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api/auth/approle"

	"github.com/qfsign/qfsign/vaulttest"
)

func TestSetDownSealsThenRecovers(t *testing.T) {
	run := start(t)
	run.Put("secret", "a", map[string]any{"k": "v"})
	run.EnableAppRole("", vaulttest.AppRole{RoleID: "gw", SecretID: "s"})
	c := newClient(t, run, run.RootToken())
	ctx := context.Background()
	run.SetDown(true)
	_, err := c.KVv2("secret").Get(ctx, "a")
	wantStatus(t, err, http.StatusServiceUnavailable, "Vault is sealed")
	auth, _ := approle.NewAppRoleAuth("gw", &approle.SecretID{FromString: "s"})
	_, err = newClient(t, run, "").Auth().Login(ctx, auth)
	wantStatus(t, err, http.StatusServiceUnavailable, "Vault is sealed")
	if h, err := c.Sys().Health(); err != nil || !h.Sealed || !h.Initialized {
		t.Fatalf("health while down = %+v, %v", h, err)
	}
	if code, body := raw(t, run, "GET", "/v1/sys/health", "", ""); code != 503 || !strings.Contains(body, `"sealed":true`) {
		t.Fatalf("raw health while down = %d %s", code, body)
	}
	run.SetDown(false)
	if got, err := c.KVv2("secret").Get(ctx, "a"); err != nil || got.Data["k"] != "v" {
		t.Fatalf("after recovery = %v, %v", got, err)
	}
	if h, err := c.Sys().Health(); err != nil || h.Sealed || h.Version != vaulttest.Version {
		t.Fatalf("health after recovery = %+v, %v", h, err)
	}
	if n := run.Calls("GET /v1/secret/data/a"); n != 2 {
		t.Fatalf("refused calls must be counted: %d", n)
	}
}

func TestSetLatencyRespectsCancellation(t *testing.T) {
	run := start(t)
	run.Put("secret", "a", map[string]any{"k": "v"})
	kv := newClient(t, run, run.RootToken()).KVv2("secret")
	run.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	began := time.Now()
	if _, err := kv.Get(ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(began); d > 10*time.Second {
		t.Fatalf("cancelled request took %v", d)
	}
	run.SetLatency(50 * time.Millisecond)
	began = time.Now()
	if _, err := kv.Get(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d < 50*time.Millisecond {
		t.Fatalf("latency not applied: %v", d)
	}
}

func TestCallsAndNamespace(t *testing.T) {
	run := start(t)
	run.Put("secret", "a", map[string]any{"k": "v"})
	c := newClient(t, run, run.RootToken())
	c.SetNamespace("qfpay/merchants")
	kv := c.KVv2("secret")
	ctx := context.Background()
	_, _ = kv.Get(ctx, "a")
	_, _ = kv.GetVersion(ctx, "a", 1)
	_, _ = kv.Put(ctx, "a", map[string]any{"k": "w"})
	_, _ = newClient(t, run, "").KVv2("secret").Get(ctx, "a")
	want := []string{"GET /v1/secret/data/a", "GET /v1/secret/data/a", "PUT /v1/secret/data/a", "GET /v1/secret/data/a"}
	if log := run.CallLog(); !slices.Equal(log, want) {
		t.Fatalf("log = %q", log)
	}
	cases := []struct {
		pattern string
		want    int
	}{{"", 4}, {"GET /v1/secret/data/a", 3}, {"PUT /v1/secret/data/a", 1}, {"GET /v1/secret/data/b", 0}}
	for _, tc := range cases {
		if got := run.Calls(tc.pattern); got != tc.want {
			t.Errorf("Calls(%q) = %d, want %d", tc.pattern, got, tc.want)
		}
	}
	if ns := run.LastNamespace(); ns != "" {
		t.Fatalf("last request had no namespace, got %q", ns)
	}
	_, _ = kv.Get(ctx, "a")
	if ns := run.LastNamespace(); ns != "qfpay/merchants" {
		t.Fatalf("namespace = %q", ns)
	}
	run.ResetCalls()
	if run.Calls("") != 0 || len(run.CallLog()) != 0 {
		t.Fatal("ResetCalls left calls behind")
	}
}

func TestServeHTTPWithoutListener(t *testing.T) {
	s := vaulttest.New()
	req := httptest.NewRequest(http.MethodGet, "/v1/auth/token/lookup-self", nil)
	req.Header.Set("X-Vault-Token", s.RootToken())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"policies":["root"]`) {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

func TestConcurrentUse(t *testing.T) {
	run := start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		kv := newClient(t, run, run.RootToken()).KVv2("secret")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				if _, err := kv.Put(ctx, "shared", map[string]any{"g": g, "i": i}); err != nil {
					t.Error(err)
				}
				run.Put("secret", "shared", map[string]any{"helper": i})
				if _, err := kv.Get(ctx, "shared"); err != nil {
					t.Error(err)
				}
				_ = run.Calls("")
			}
		}()
	}
	wg.Wait()
	md, err := newClient(t, run, run.RootToken()).KVv2("secret").GetMetadata(ctx, "shared")
	if err != nil || md.CurrentVersion != 160 {
		t.Fatalf("current_version = %v, %v", md, err)
	}
	if n := run.Calls(""); n != 161 {
		t.Fatalf("calls = %d, want 161", n)
	}
}
