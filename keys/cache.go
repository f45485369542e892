package keys

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// CacheConfig tunes a Cache. Zero values take the defaults.
type CacheConfig struct {
	// Refresh is how often a good key is fetched again (±10% jitter so
	// replicas spread out). Default 5m: a rotated key is in use within it.
	Refresh time.Duration
	// MaxStale is how long the last good key keeps serving while fetches
	// fail. Default 1h; after it requests fail closed.
	MaxStale time.Duration
	// RetryMin and RetryMax bound the backoff after a failed fetch,
	// independent of Refresh. Defaults 1s and 30s.
	RetryMin, RetryMax time.Duration
	// RefetchMin is the least time between two on-demand fetches of one
	// kind (the 1108 self-heal; a notification that does not verify),
	// so a wrong key or forged traffic cannot turn into Vault load.
	// Default 5s.
	RefetchMin time.Duration
	// FetchTimeout bounds one fetch, logins included. Default 30s.
	FetchTimeout time.Duration
	// Name labels log lines (the secret's path, never a value).
	Name string
	// OnFetch, if set, observes every fetch outcome (for metrics).
	OnFetch func(c *Credentials, err error)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

func (c CacheConfig) withDefaults() CacheConfig {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Refresh, 5*time.Minute)
	def(&c.MaxStale, time.Hour)
	def(&c.RetryMin, time.Second)
	def(&c.RetryMax, 30*time.Second)
	def(&c.RefetchMin, 5*time.Second)
	def(&c.FetchTimeout, 30*time.Second)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Errors of Current; both mean fail closed.
var (
	ErrNoKey = errors.New("no key fetched yet")
	ErrStale = errors.New("key is older than max_stale")
)

// Cache keeps a Source's last good credentials and refreshes them in the
// background. Requests read it without calling the source: at steady
// state there is no Vault call per request.
type Cache struct {
	src Source
	cfg CacheConfig
	log *zap.Logger

	cur     atomic.Pointer[entry]
	lastErr atomic.Pointer[string]
	// Heartbeat for liveness, in Unix nanoseconds: when the loop's next
	// attempt is due, and when the fetch in progress started (0: none).
	due      atomic.Int64
	fetching atomic.Int64

	fetchMu     sync.Mutex // one fetch at a time
	refetchMu   sync.Mutex
	lastRefetch time.Time // under refetchMu: the last 1108 Refetch
	lastVerify  time.Time // under refetchMu: the last RefetchForVerify
	refetching  *flight   // under refetchMu: the on-demand fetch in progress
	onWait      func()    // tests: a caller is about to wait for a flight

	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
	done      chan struct{}
}

type entry struct {
	creds Credentials
	at    time.Time
}

// NewCache wraps src. Nothing is fetched until Start or Refetch.
func NewCache(src Source, cfg CacheConfig, log *zap.Logger) *Cache {
	if log == nil {
		log = zap.NewNop()
	}
	return &Cache{src: src, cfg: cfg.withDefaults(), log: log, stop: make(chan struct{}), done: make(chan struct{})}
}

// Start begins the refresh loop; the first fetch is immediate. Idempotent.
func (c *Cache) Start() {
	c.startOnce.Do(func() { go c.loop() })
}

// Stop ends the loop and waits for it. Idempotent.
func (c *Cache) Stop() {
	c.stopOnce.Do(func() { close(c.stop) })
	started := true
	c.startOnce.Do(func() { started = false })
	if started {
		<-c.done
	}
}

func (c *Cache) loop() {
	defer close(c.done)
	failures := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		next := jitter(c.cfg.Refresh)
		creds, err := c.fetch()
		if err != nil {
			failures++
			next = c.backoff(failures)
		} else {
			failures = 0
		}
		c.due.Store(c.cfg.Now().Add(next).UnixNano())
		c.observe(creds, err)
		t.Reset(next)
	}
}

// backoff doubles from RetryMin to RetryMax, with jitter.
func (c *Cache) backoff(failures int) time.Duration {
	d := c.cfg.RetryMin
	for i := 1; i < failures && d < c.cfg.RetryMax; i++ {
		d *= 2
	}
	return jitter(min(d, c.cfg.RetryMax))
}

func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}

// fetch reads the source once and keeps the result when it is good.
func (c *Cache) fetch() (*Credentials, error) {
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	c.fetching.Store(c.cfg.Now().UnixNano())
	defer c.fetching.Store(0)
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FetchTimeout)
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	creds, err := c.src.Fetch(ctx)
	cancel()
	if err != nil {
		msg := err.Error()
		c.lastErr.Store(&msg)
		c.log.Warn("key fetch failed; serving the last good key until max_stale",
			zap.String("secret", c.cfg.Name), zap.Error(err), zap.Bool("have_key", c.cur.Load() != nil))
		return nil, err
	}
	c.lastErr.Store(nil)
	prev := c.cur.Swap(&entry{creds: creds, at: c.cfg.Now()})
	if prev == nil || prev.creds.KID() != creds.KID() {
		c.log.Info("key loaded", zap.String("secret", c.cfg.Name), zap.String("kid", creds.KID()))
	}
	return &creds, nil
}

// observe reports a fetch once the cache and its schedule reflect it.
func (c *Cache) observe(creds *Credentials, err error) {
	if c.cfg.OnFetch != nil {
		c.cfg.OnFetch(creds, err)
	}
}

// Current returns the credentials to sign with, or ErrNoKey/ErrStale.
func (c *Cache) Current() (*Credentials, error) {
	e := c.cur.Load()
	if e == nil {
		return nil, ErrNoKey
	}
	if age := c.cfg.Now().Sub(e.at); age > c.cfg.MaxStale {
		return nil, fmt.Errorf("%w (%s old)", ErrStale, age.Round(time.Second))
	}
	return &e.creds, nil
}

// Refetch fetches now because the key with kid was refused. If another
// key has already replaced it, the current credentials are returned. If
// an on-demand fetch (of either kind) is in flight, its result is
// awaited and shared: callers that hit the refusal together all sign with
// the key it brings. Otherwise, within RefetchMin of the last Refetch,
// the current credentials are returned as they are (a wrong key must not
// turn traffic into Vault load).
func (c *Cache) Refetch(kid string) (*Credentials, error) { return c.refetch(kid, &c.lastRefetch) }

// RefetchForVerify is Refetch for a notification whose signature does
// not verify with the key with kid (QFPay signs with a rotated key at
// once). Its spacing is its own: anyone can send a forged notification,
// and that must never hold back the 1108 self-heal of payments.
func (c *Cache) RefetchForVerify(kid string) (*Credentials, error) {
	return c.refetch(kid, &c.lastVerify)
}

// refetch fetches on demand at most once per RefetchMin after *last
// (under refetchMu), sharing any fetch in flight.
func (c *Cache) refetch(kid string, last *time.Time) (*Credentials, error) {
	if cur, err := c.Current(); err == nil && cur.KID() != kid {
		return cur, nil
	}
	c.refetchMu.Lock()
	if f := c.refetching; f != nil {
		c.refetchMu.Unlock()
		if c.onWait != nil {
			c.onWait()
		}
		<-f.done
		return f.creds, f.err
	}
	now := c.cfg.Now()
	if !last.IsZero() && now.Sub(*last) < c.cfg.RefetchMin {
		c.refetchMu.Unlock()
		return c.Current()
	}
	f := &flight{done: make(chan struct{})}
	*last, c.refetching = now, f
	c.refetchMu.Unlock()

	creds, err := c.fetch()
	c.observe(creds, err)
	if err == nil {
		f.creds, f.err = c.Current()
	} else {
		f.err = err
	}
	c.refetchMu.Lock()
	c.refetching = nil
	c.refetchMu.Unlock()
	close(f.done)
	return f.creds, f.err
}

// flight is one on-demand fetch; its result is set before done closes.
type flight struct {
	done  chan struct{}
	creds *Credentials
	err   error
}

// Status is a snapshot for the probes.
type Status struct {
	// Ready: a usable key now. Loaded: a key was fetched at least once.
	// Alive: the refresher is not stuck (a fetch over its timeout, or an
	// attempt long overdue).
	Ready     bool          `json:"ready"`
	Loaded    bool          `json:"loaded"`
	Alive     bool          `json:"alive"`
	KID       string        `json:"kid,omitempty"`
	Age       time.Duration `json:"-"`
	LastError string        `json:"last_error,omitempty"`
}

// Status reports whether a usable key is held and how old it is.
func (c *Cache) Status() Status {
	var s Status
	if e := c.cur.Load(); e != nil {
		s.KID, s.Age = e.creds.KID(), c.cfg.Now().Sub(e.at)
	}
	_, err := c.Current()
	s.Ready, s.Loaded, s.Alive = err == nil, s.KID != "", c.alive()
	if p := c.lastErr.Load(); p != nil {
		s.LastError = *p
	}
	return s
}

// overdue is how late the loop may be before it counts as stuck.
const overdue = 30 * time.Second

func (c *Cache) alive() bool {
	now := c.cfg.Now().UnixNano()
	if f := c.fetching.Load(); f != 0 && now-f > int64(c.cfg.FetchTimeout+overdue) {
		return false
	}
	d := c.due.Load()
	return d == 0 || now-d < int64(overdue)
}
