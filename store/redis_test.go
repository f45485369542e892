package store

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testredis"
)

// conformance runs the Store contract against any implementation.
func conformance(t *testing.T, s Store, expire func(time.Duration)) {
	ctx := context.Background()
	key := fmt.Sprintf("test:%d", time.Now().UnixNano())
	if ok, err := s.Claim(ctx, key, "inflight", time.Minute); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, err := s.Claim(ctx, key, "other", time.Minute); ok || err != nil {
		t.Fatalf("second claim: %v %v", ok, err)
	}
	if err := s.Put(ctx, key, "acked", time.Hour); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, key); v != "acked" || !ok || err != nil {
		t.Fatalf("Get = %q %v %v", v, ok, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get(ctx, key); ok {
		t.Fatal("deleted key present")
	}
	short := key + ":short"
	if ok, _ := s.Claim(ctx, short, "v", 50*time.Millisecond); !ok {
		t.Fatal("claim short")
	}
	expire(60 * time.Millisecond)
	if ok, err := s.Claim(ctx, short, "v2", time.Minute); !ok || err != nil {
		t.Fatalf("claim after TTL: %v %v", ok, err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	race := key + ":race"
	for range 32 {
		wg.Go(func() {
			if ok, _ := s.Claim(ctx, race, "v", time.Minute); ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent claims won", wins)
	}
	// Rate limits: 3 per window; the fourth waits, a refusal is not
	// counted, and the window slides.
	rl := key + ":rl"
	lim := Limit{N: 3, Per: 200 * time.Millisecond}
	for i := range 3 {
		if wait, err := s.Allow(ctx, rl, lim, Limit{N: 100, Per: time.Minute}); wait != 0 || err != nil {
			t.Fatalf("Allow #%d = %v %v", i+1, wait, err)
		}
	}
	for range 2 {
		if wait, err := s.Allow(ctx, rl, lim); wait <= 0 || wait > lim.Per || err != nil {
			t.Fatalf("Allow over the limit = %v %v, want a wait within %v", wait, err, lim.Per)
		}
	}
	expire(lim.Per + 10*time.Millisecond)
	if wait, err := s.Allow(ctx, rl, lim); wait != 0 || err != nil {
		t.Fatalf("Allow after the window = %v %v", wait, err)
	}
}

func TestStoreConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) {
		m := NewMemory(0)
		now := time.Now()
		m.now = func() time.Time { return now }
		conformance(t, m, func(d time.Duration) { now = now.Add(d) })
	})
	t.Run("file", func(t *testing.T) {
		f, now := openFile(t, FileOptions{})
		conformance(t, f, func(d time.Duration) { *now = now.Add(d) })
	})
	t.Run("redis", func(t *testing.T) {
		r := NewRedis(RedisOptions{Addrs: []string{testredis.Addr(t)}, Prefix: "qfsign-test:"})
		t.Cleanup(func() { r.Close() })
		if err := r.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Redis expires keys by its own clock: wait the TTL out for real.
		conformance(t, r, func(d time.Duration) { time.Sleep(d) })
	})
}

// TestRedisTopologies runs the conformance suite against Redis as teams
// run it: TLS with an ACL user (the default user off), a 3-master
// cluster, and a master found through Sentinel.
func TestRedisTopologies(t *testing.T) {
	for _, tt := range []struct {
		name string
		opts func(t *testing.T) RedisOptions
	}{
		{"tls+acl", func(t *testing.T) RedisOptions {
			s := testredis.StartTLS(t)
			pem, err := os.ReadFile(s.CAFile)
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			return RedisOptions{Addrs: []string{s.Addr}, Username: s.User, Password: s.Password,
				TLS: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
		}},
		{"cluster", func(t *testing.T) RedisOptions {
			return RedisOptions{Addrs: testredis.StartCluster(t, 3)}
		}},
		{"sentinel", func(t *testing.T) RedisOptions {
			s := testredis.StartSentinel(t)
			return RedisOptions{Addrs: []string{s.Addr}, MasterName: s.MasterSet}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts(t)
			o.Prefix = "qfsign-topology:"
			r := NewRedis(o)
			t.Cleanup(func() { r.Close() })
			if err := r.Ping(context.Background()); err != nil {
				t.Fatal(err)
			}
			conformance(t, r, func(d time.Duration) { time.Sleep(d) })
		})
	}
}

// TestRedisTLSRefusesUnknownCA: a server whose certificate the client
// does not trust is an error, never a fallback to plain text.
func TestRedisTLSRefusesUnknownCA(t *testing.T) {
	s := testredis.StartTLS(t)
	r := NewRedis(RedisOptions{Addrs: []string{s.Addr}, Username: s.User, Password: s.Password,
		TLS: &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}, Timeout: 500 * time.Millisecond})
	defer r.Close()
	if err := r.Ping(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("ping with an unknown CA: %v", err)
	}
}

func TestRedisDownFailsClosed(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t)) // nothing listens here
	r := NewRedis(RedisOptions{Addrs: []string{addr}, Timeout: 200 * time.Millisecond})
	defer r.Close()
	ok, err := r.Claim(context.Background(), "k", "v", time.Minute)
	if ok || err == nil {
		t.Fatalf("claim against a dead server: %v %v", ok, err)
	}
	if ping := r.Ping(context.Background()); ping == nil || errors.Is(ping, context.Canceled) {
		t.Fatalf("ping: %v", ping)
	}
}
