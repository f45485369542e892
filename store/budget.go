package store

import (
	"context"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrBudget means the store uses its byte budget: new keys are refused
// (callers fail closed) until records expire. It is an ErrFull.
var ErrBudget = fmt.Errorf("%w: the store reached its max_bytes budget", ErrFull)

// UsedBytes is what the file's live pages occupy: its size less the
// pages bbolt freed and will reuse (the file itself never shrinks).
func (s *File) UsedBytes(ctx context.Context) (int64, error) {
	db, err := s.handle(ctx)
	if err != nil {
		return 0, err
	}
	var size int64
	if err := db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil }); err != nil {
		return 0, fmt.Errorf("store file: size: %w", err)
	}
	st := db.Stats()
	return size - int64(st.FreePageN+st.PendingPageN)*int64(db.Info().PageSize), nil
}

// budgetSample is how long a measured size is trusted: the bound can be
// passed by at most the claims of one interval.
const budgetSample = time.Second

// Budget is a Store whose Claim of a new key fails with ErrBudget while
// Used reports Max bytes or more. Existing keys still answer (a retry is
// replayed, a claimed order recorded): only new entries are refused.
type Budget struct {
	Store
	Max  int64
	Used func(context.Context) (int64, error)
	// Observe, when set, gets every measurement (for a gauge).
	Observe func(used int64)

	mu   sync.Mutex
	used int64
	at   time.Time
}

// Claim implements Store.
func (b *Budget) Claim(ctx context.Context, key, val string, ttl time.Duration) (bool, error) {
	used, err := b.measure(ctx)
	if err != nil {
		return false, err
	}
	if used < b.Max {
		return b.Store.Claim(ctx, key, val, ttl)
	}
	if _, found, err := b.Store.Get(ctx, key); err != nil || found {
		return false, err
	}
	return false, ErrBudget
}

// measure returns the last measurement, taken again when older than
// budgetSample.
func (b *Budget) measure(ctx context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if time.Since(b.at) < budgetSample {
		return b.used, nil
	}
	used, err := b.Used(ctx)
	if err != nil {
		return 0, err
	}
	b.used, b.at = used, time.Now()
	if b.Observe != nil {
		b.Observe(used)
	}
	return used, nil
}

// Open opens the wrapped store when it has to be opened.
func (b *Budget) Open() error {
	if o, ok := b.Store.(interface{ Open() error }); ok {
		return o.Open()
	}
	return nil
}

// Ping checks the wrapped store when it can be checked.
func (b *Budget) Ping(ctx context.Context) error {
	if p, ok := b.Store.(interface{ Ping(context.Context) error }); ok {
		return p.Ping(ctx)
	}
	return nil
}

// PutDeferred keeps the wrapped store's deferred write (Deferrer): a
// wrapper that hid it would make every recorded answer wait for a commit.
func (b *Budget) PutDeferred(ctx context.Context, key, val string, ttl time.Duration) error {
	return PutDeferred(ctx, b.Store, key, val, ttl)
}

var _ Deferrer = (*Budget)(nil)
