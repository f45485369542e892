// Package store keeps the gateway's state: out_trade_no records,
// notification acknowledgements and rate-limit windows. File (bbolt, the
// default) survives restarts; Redis is shared by replicas; Memory is for
// tests and throwaway runs.
//
// Invariants: every entry has a TTL; a store that cannot write refuses
// (callers fail closed) rather than evicting live entries.
package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Store is a small key-value contract that File (one writer; a bbolt
// transaction shared by the writes queued together), Redis (SET NX PX,
// GET, SET PX, DEL, one script) and Memory (one lock) implement
// atomically.
type Store interface {
	// Claim sets key to val only if key is absent; it reports whether it did.
	Claim(ctx context.Context, key, val string, ttl time.Duration) (bool, error)
	// Get returns the value of key, if present.
	Get(ctx context.Context, key string) (string, bool, error)
	// Put sets key to val unconditionally.
	Put(ctx context.Context, key, val string, ttl time.Duration) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// Allow admits one event for key under every limit (exact sliding
	// windows) and returns 0, or returns how long until one would be
	// admitted; a refused event is not counted.
	Allow(ctx context.Context, key string, limits ...Limit) (time.Duration, error)
}

// Deferrer is an optional part of a Store: a write that need not be
// durable before it returns. A crash may lose it; reads see it at once.
// The gateway records QFPay's answers this way, so the answer never
// waits for a disk, and a lost record leaves the order's claim (in
// flight: resolved by query, never resent). Claims and notification
// acknowledgements are never deferred.
type Deferrer interface {
	PutDeferred(ctx context.Context, key, val string, ttl time.Duration) error
}

// PutDeferred writes through s's Deferrer when it has one, else Put.
func PutDeferred(ctx context.Context, s Store, key, val string, ttl time.Duration) error {
	if d, ok := s.(Deferrer); ok {
		return d.PutDeferred(ctx, key, val, ttl)
	}
	return s.Put(ctx, key, val, ttl)
}

// ErrFull means the memory store reached its bound with live entries.
var ErrFull = errors.New("store: memory store is full")

// DefaultMaxEntries bounds the memory store. An order record keeps
// QFPay's answer for replay, about 0.7 KiB of heap with its key, so the
// bound is on the order of 70 MiB; beyond that, use File or Redis.
const DefaultMaxEntries = 100_000

type entry struct {
	val     string
	expires time.Time
}

// Memory is an in-process Store: lost on restart, for tests and
// throwaway runs.
type Memory struct {
	mu     sync.Mutex
	m      map[string]entry
	max    int
	now    func() time.Time
	swept  time.Time // last sweep
	limits *windows
}

// NewMemory returns a store bounded to max entries (DefaultMaxEntries if <= 0).
func NewMemory(max int) *Memory {
	if max <= 0 {
		max = DefaultMaxEntries
	}
	m := &Memory{m: make(map[string]entry), max: max, now: time.Now}
	m.limits = newWindows(func() time.Time { return m.now() })
	return m
}

func (s *Memory) live(key string, now time.Time) (entry, bool) {
	e, ok := s.m[key]
	if ok && !now.Before(e.expires) {
		delete(s.m, key)
		return entry{}, false
	}
	return e, ok
}

// room sweeps expired entries once a minute, and when the map is full
// at most once a second: a full store must not scan every entry on
// every request under the lock.
func (s *Memory) room(now time.Time) bool {
	full := len(s.m) >= s.max
	if now.After(s.swept.Add(time.Minute)) || (full && now.After(s.swept.Add(time.Second))) {
		for k, e := range s.m {
			if !now.Before(e.expires) {
				delete(s.m, k)
			}
		}
		s.swept = now
	}
	return len(s.m) < s.max
}

// Claim implements Store.
func (s *Memory) Claim(_ context.Context, key, val string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.live(key, now); ok {
		return false, nil
	}
	if !s.room(now) {
		return false, ErrFull
	}
	s.m[key] = entry{val: val, expires: now.Add(ttl)}
	return true, nil
}

// Get implements Store.
func (s *Memory) Get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.live(key, s.now())
	return e.val, ok, nil
}

// Put implements Store.
func (s *Memory) Put(_ context.Context, key, val string, ttl time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if _, ok := s.live(key, now); !ok && !s.room(now) {
		return ErrFull
	}
	s.m[key] = entry{val: val, expires: now.Add(ttl)}
	return nil
}

// Delete implements Store.
func (s *Memory) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, key)
	return nil
}

// Allow implements Store.
func (s *Memory) Allow(_ context.Context, key string, limits ...Limit) (time.Duration, error) {
	return s.limits.allow(key, limits), nil
}

var _ Store = (*Memory)(nil)
