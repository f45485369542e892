package keys_test

import (
	"context"
	"testing"
	"time"

	"github.com/qfsign/qfsign/keys"
)

// TestCacheLivenessDefaults pins the number the docs give: with the
// default fetch timeout (30s) a hung fetch fails liveness after 60s
// (timeout plus 30s of grace), not before.
func TestCacheLivenessDefaults(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	clk := &clock{now: start}
	started, release := make(chan struct{}), make(chan struct{})
	src := sourceFunc(func(ctx context.Context) (keys.Credentials, error) {
		close(started)
		<-release
		return keys.NewCredentials("APP", testKey, "", "v1")
	})
	c := keys.NewCache(src, keys.CacheConfig{Refresh: time.Hour, Now: clk.Now}, nil)
	t.Cleanup(func() { close(release); c.Stop() })
	c.Start()
	<-started
	for _, step := range []struct {
		at    time.Duration
		alive bool
	}{
		{30 * time.Second, true},
		{59 * time.Second, true},
		{61 * time.Second, false},
	} {
		clk.Add(step.at - clk.Now().Sub(start))
		if got := c.Status().Alive; got != step.alive {
			t.Errorf("fetch hung for %v: alive %v, want %v", step.at, got, step.alive)
		}
	}
}
