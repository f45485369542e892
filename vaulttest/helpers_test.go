package vaulttest_test

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/vault/api"

	"github.com/qfsign/qfsign/vaulttest"
)

func start(t *testing.T) *vaulttest.Running {
	t.Helper()
	run, err := vaulttest.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := run.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return run
}

// newClient is the official client as the gateway builds it; the token is
// set explicitly so a VAULT_TOKEN in the environment cannot leak in.
func newClient(t *testing.T, run *vaulttest.Running, token string) *api.Client {
	t.Helper()
	c, err := api.NewClient(&api.Config{Address: run.URL, MaxRetries: 0})
	if err != nil {
		t.Fatal(err)
	}
	c.SetToken(token)
	c.ClearNamespace()
	return c
}

// wantStatus asserts err is the client's *api.ResponseError with status
// and, if given, exactly those Vault error strings.
func wantStatus(t *testing.T, err error, status int, errs ...string) {
	t.Helper()
	var re *api.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want *api.ResponseError %d, got %T %v", status, err, err)
	}
	if re.StatusCode != status {
		t.Fatalf("status = %d, want %d (%v)", re.StatusCode, status, err)
	}
	if errs != nil && !slices.Equal(re.Errors, errs) {
		t.Fatalf("errors = %q, want %q", re.Errors, errs)
	}
}

// raw sends a request without the client, to check wire formats.
func raw(t *testing.T, run *vaulttest.Running, method, path, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, run.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Vault-Token", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// clock is a manual clock for SetNow.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
