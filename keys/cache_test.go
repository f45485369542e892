package keys_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/keys"
)

// clock is a settable time for max_stale and refetch spacing.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// fetches signals each fetch outcome, so tests wait on events, not time.
type fetches chan error

func (f fetches) observe(_ *keys.Credentials, err error) { f <- err }

func (f fetches) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-f:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no fetch within 10s")
		return nil
	}
}

func kvCache(t *testing.T, e *testvault.Env, cfg keys.CacheConfig) (*keys.Cache, fetches) {
	t.Helper()
	f := make(fetches, 100)
	cfg.OnFetch = f.observe
	kv := &keys.KV{Vault: newVault(t, e, rootAuth(e)), Mount: e.Mount, Path: "qfpay/demo"}
	c := keys.NewCache(kv, cfg, nil)
	t.Cleanup(c.Stop)
	return c, f
}

// Vault down at start: fail closed, then serve once it answers, within
// the retry backoff and without waiting for the refresh interval.
func TestCacheStartsWithVaultDown(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	e.SetDown(true)
	c, f := kvCache(t, e, keys.CacheConfig{Refresh: time.Hour, RetryMin: 20 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	c.Start()
	if err := f.next(t); err == nil {
		t.Fatal("fetch succeeded while Vault was down")
	}
	if _, err := c.Current(); !errors.Is(err, keys.ErrNoKey) {
		t.Fatalf("Current = %v, want ErrNoKey", err)
	}
	if st := c.Status(); st.Ready || st.LastError == "" {
		t.Fatalf("status = %+v, want not ready with an error", st)
	}
	e.SetDown(false)
	for f.next(t) != nil {
	}
	got, err := c.Current()
	if err != nil || got.AppCode != "APP" || !c.Status().Ready {
		t.Fatalf("after Vault came back: %v", err)
	}
}

// Vault down mid-run: the cached key serves until max_stale, then fails
// closed; the first good fetch restores it.
func TestCacheMaxStale(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c, f := kvCache(t, e, keys.CacheConfig{Refresh: 30 * time.Millisecond, MaxStale: time.Hour,
		RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, Now: clk.Now})
	c.Start()
	if err := f.next(t); err != nil {
		t.Fatal(err)
	}
	e.SetDown(true)
	for f.next(t) == nil { // drain a fetch that raced SetDown
	}
	clk.Add(59 * time.Minute)
	if _, err := c.Current(); err != nil {
		t.Fatalf("within max_stale: %v", err)
	}
	clk.Add(2 * time.Minute)
	if _, err := c.Current(); !errors.Is(err, keys.ErrStale) {
		t.Fatalf("past max_stale: %v, want ErrStale", err)
	}
	e.SetDown(false)
	for f.next(t) != nil {
	}
	if _, err := c.Current(); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

// A rotated version is picked up by the next refresh; requests read the
// cache only, so Vault sees no call per request.
func TestCacheRotationAndNoCallsPerRequest(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP", "client_key": testKey})
	c, f := kvCache(t, e, keys.CacheConfig{Refresh: time.Hour, RefetchMin: time.Nanosecond})
	c.Start()
	if err := f.next(t); err != nil {
		t.Fatal(err)
	}
	before := e.Calls("")
	for range 10000 {
		if _, err := c.Current(); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.Calls("") - before; n != 0 {
		t.Fatalf("%d Vault calls for 10000 reads, want 0", n)
	}
	old, _ := c.Current()
	e.Put(t, "qfpay/demo", map[string]any{"app_code": "APP2", "client_key": testKey + "-rotated"})
	got, err := c.Refetch(old.KID())
	if err != nil || got.Version != "v2" || got.AppCode != "APP2" {
		t.Fatalf("Refetch = %+v, %v", got, err)
	}
}

// Refetch after a 1108 calls Vault at most once per RefetchMin, and not
// at all when another key already replaced the refused one.
func TestCacheRefetchSpacing(t *testing.T) {
	c, clk, calls := countingCache()
	first, err := c.Refetch("")
	if err != nil || calls.Load() != 1 {
		t.Fatalf("first Refetch: %v, calls %d", err, calls.Load())
	}
	if _, err := c.Refetch("other-kid"); err != nil || calls.Load() != 1 {
		t.Fatalf("refused kid already replaced: calls = %d, want 1", calls.Load())
	}
	if _, err := c.Refetch(first.KID()); err != nil || calls.Load() != 1 {
		t.Fatalf("within RefetchMin: calls = %d, want 1", calls.Load())
	}
	clk.Add(6 * time.Second)
	if _, err := c.Refetch(first.KID()); err != nil || calls.Load() != 2 {
		t.Fatalf("after RefetchMin: calls = %d, want 2", calls.Load())
	}
}

// A notification's refetch is spaced apart from the 1108 refetch: a
// forged notification, which anyone can send, must not hold back a
// payment's self-heal after a rotation.
func TestCacheRefetchForVerifySpacedApart(t *testing.T) {
	c, _, calls := countingCache()
	first, err := c.RefetchForVerify("")
	if err != nil || calls.Load() != 1 {
		t.Fatalf("first RefetchForVerify: %v, calls %d", err, calls.Load())
	}
	if _, err := c.RefetchForVerify(first.KID()); err != nil || calls.Load() != 1 {
		t.Fatalf("forged again within RefetchMin: calls = %d, want 1", calls.Load())
	}
	if _, err := c.Refetch(first.KID()); err != nil || calls.Load() != 2 {
		t.Fatalf("1108 right after a forged notification: calls = %d, want 2", calls.Load())
	}
}

// countingCache is a cache on a fake clock (RefetchMin 5s) whose source
// counts its fetches.
func countingCache() (*keys.Cache, *clock, *atomic.Int32) {
	calls := new(atomic.Int32)
	src := sourceFunc(func(context.Context) (keys.Credentials, error) {
		calls.Add(1)
		return keys.NewCredentials("APP", testKey, "", "v1")
	})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	return keys.NewCache(src, keys.CacheConfig{RefetchMin: 5 * time.Second, Now: clk.Now}, nil), clk, calls
}

type sourceFunc func(context.Context) (keys.Credentials, error)

func (f sourceFunc) Fetch(ctx context.Context) (keys.Credentials, error) { return f(ctx) }

// A fetch that hangs past its timeout makes the refresher not alive; it
// is alive again once the fetch returns.
func TestCacheLiveness(t *testing.T) {
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	started, release := make(chan struct{}), make(chan struct{})
	src := sourceFunc(func(ctx context.Context) (keys.Credentials, error) {
		close(started)
		<-release
		return keys.NewCredentials("APP", testKey, "", "v1")
	})
	f := make(fetches, 1)
	c := keys.NewCache(src, keys.CacheConfig{FetchTimeout: time.Minute, Refresh: time.Hour, Now: clk.Now, OnFetch: f.observe}, nil)
	t.Cleanup(c.Stop)
	c.Start()
	<-started
	if st := c.Status(); !st.Alive || st.Loaded || st.Ready {
		t.Fatalf("fetch just started: %+v", st)
	}
	clk.Add(time.Minute + 31*time.Second)
	if c.Status().Alive {
		t.Fatal("a fetch hung past its timeout must not be alive")
	}
	close(release)
	if err := f.next(t); err != nil {
		t.Fatal(err)
	}
	if st := c.Status(); !st.Alive || !st.Loaded || !st.Ready {
		t.Fatalf("after the fetch returned: %+v", st)
	}
	clk.Add(2 * time.Hour) // refresh 1h ±10% jitter, then 30s grace
	if c.Status().Alive {
		t.Fatal("a refresh long overdue must not be alive")
	}
}

// Callers refused together (1108 after a rotation) share one fetch: those
// arriving while it is in flight wait for it and all get the new key,
// none the refused one, and the source is called once for them all.
func TestCacheRefetchSingleFlight(t *testing.T) {
	var calls atomic.Int32
	started, release := make(chan struct{}), make(chan struct{})
	src := sourceFunc(func(context.Context) (keys.Credentials, error) {
		if calls.Add(1) == 1 {
			return keys.NewCredentials("APP", testKey, "", "v1")
		}
		close(started)
		<-release
		return keys.NewCredentials("APP", testKey+"-rotated", "", "v2")
	})
	clk := &clock{now: time.Unix(1_800_000_000, 0)}
	c := keys.NewCache(src, keys.CacheConfig{RefetchMin: 5 * time.Second, Now: clk.Now}, nil)
	waiting := make(chan struct{}, 8)
	keys.SetOnWait(c, func() { waiting <- struct{}{} })
	old, err := c.Refetch("")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(6 * time.Second)
	const n = 8
	got := make(chan string, n)
	refetch := func() {
		cr, err := c.Refetch(old.KID())
		if err != nil {
			got <- "error: " + err.Error()
			return
		}
		got <- cr.KID()
	}
	go refetch()
	<-started // the leader's fetch is in flight from here until release
	for range n - 1 {
		go refetch()
	}
	for range n - 1 {
		select {
		case <-waiting:
		case kid := <-got:
			t.Fatalf("a caller did not wait for the fetch in flight: got %s", kid)
		}
	}
	close(release)
	for range n {
		if kid := <-got; kid == old.KID() || !strings.HasSuffix(kid, "v2") {
			t.Fatalf("a caller got %s, want the rotated key (v2)", kid)
		}
	}
	if calls.Load() != 2 {
		t.Fatalf("source called %d times, want 2 (the load, then one shared refetch)", calls.Load())
	}
}
