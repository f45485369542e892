package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// FileOptions configure the durable embedded store.
type FileOptions struct {
	// Path of the database file; its directory is created (0700).
	Path string
	// NoSync skips the fsync after each commit. Records still survive
	// kill -9 (they are in the kernel's page cache), not a power loss or
	// a kernel crash. Default false: a claim is on disk before Claim
	// returns, so before the request leaves for QFPay.
	NoSync bool
	// OnLost is told when a PutDeferred's commit fails: the value is
	// gone, and reads see what the disk holds (for an order, its claim:
	// in flight, resolved by query, never resent). Default: nothing.
	OnLost func(key string, err error)
	// LockTimeout bounds the wait for the file's lock. Default 1s: a
	// second process on the same file fails to start, it does not wait.
	LockTimeout time.Duration
	// SweepEvery is how often expired records are deleted, in batches.
	// Default 1 minute; reads ignore expired records in between.
	SweepEvery time.Duration
	// SweepBatch is the number of records deleted per write transaction,
	// so requests wait at most one batch. Default 1000.
	SweepBatch int
}

// ErrClosed means the file store is not open (before Open, after Close).
var ErrClosed = errors.New("store: file store is not open")

// ErrUnreadable means a record exists but this qfsign cannot read it.
// Callers fail closed: the key is neither free nor known.
var ErrUnreadable = errors.New("store: unreadable record")

// fileFormat is the layout version kept in the meta bucket; a file from
// a newer qfsign is refused rather than misread.
const fileFormat = 1

var (
	bucketMeta = []byte("meta")
	bucketKV   = []byte("kv")  // key -> record
	bucketExp  = []byte("exp") // expiry (8 bytes) + key -> nothing
	keyFormat  = []byte("format")
)

// File is a Store in one bbolt file with one writer (committer), so
// Claim is a compare-and-set in a transaction; the file is locked
// (flock) by its one owner.
//
// Durability: Claim, Put and Delete return once their commit is on disk.
// PutDeferred returns at once and rides the next commit; until then Get
// and Claim see it. A crash can lose a PutDeferred, never a Claim: an
// order whose answer was lost is in flight after a restart, resolved by
// query, never resent.
type File struct {
	o      FileOptions
	db     atomic.Pointer[openDB]
	now    func() time.Time
	mu     sync.Mutex // Open and Close
	tried  sync.Once
	opened chan struct{} // closed when the first Open returns
	stop   chan struct{}
	done   chan struct{}
	limits *windows
}

// openDB is an open database and its writer.
type openDB struct {
	*bolt.DB
	w *committer
}

// NewFile returns a closed file store; Open opens it. Provisioning
// (caddy validate, a reload) never touches the file; starting does.
func NewFile(o FileOptions) *File {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.SweepEvery <= 0 {
		o.SweepEvery = time.Minute
	}
	if o.SweepBatch <= 0 {
		o.SweepBatch = 1000
	}
	f := &File{o: o, now: time.Now, opened: make(chan struct{})}
	f.limits = newWindows(func() time.Time { return f.now() })
	return f
}

// Path is the database file.
func (s *File) Path() string { return s.o.Path }

// NoSync reports whether commits skip fsync.
func (s *File) NoSync() bool { return s.o.NoSync }

// ErrLocked: another process owns the store file.
var ErrLocked = errors.New("locked by another process")

// Open opens (creating) the file and starts the expiry sweeper. It is a
// no-op when already open.
func (s *File) Open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.tried.Do(func() { close(s.opened) })
	if s.db.Load() != nil {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(s.o.Path), 0o700); err != nil {
		return fmt.Errorf("store file: %w", err)
	}
	db, err := bolt.Open(s.o.Path, 0o600, &bolt.Options{
		Timeout: s.o.LockTimeout, NoSync: s.o.NoSync,
		// etcd's settings: the free list is rebuilt at open instead of
		// written on every commit.
		NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return fmt.Errorf("store file %s: %w (one qfsign per file; give each instance its own path or use redis)", s.o.Path, ErrLocked)
	}
	if err != nil {
		return fmt.Errorf("store file %s: %w", s.o.Path, err)
	}
	if err := db.Update(initFile); err != nil {
		db.Close()
		return fmt.Errorf("store file %s: %w", s.o.Path, err)
	}
	s.db.Store(&openDB{DB: db, w: newCommitter(db, func() time.Time { return s.now() }, s.o.OnLost)})
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.sweepLoop(s.stop, s.done)
	return nil
}

// initFile creates the buckets and checks the layout version.
func initFile(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return err
	}
	if v := meta.Get(keyFormat); v != nil {
		n, err := strconv.Atoi(string(v))
		if err != nil || n > fileFormat {
			return fmt.Errorf("file format %q is newer than this qfsign reads (%d)", v, fileFormat)
		}
	} else if err := meta.Put(keyFormat, []byte(strconv.Itoa(fileFormat))); err != nil {
		return err
	}
	for _, b := range [][]byte{bucketKV, bucketExp} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	return nil
}

// Close stops the sweeper and closes the file (releasing its lock).
func (s *File) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	db := s.db.Swap(nil)
	if db == nil {
		return nil
	}
	close(s.stop)
	<-s.done
	db.w.close()
	return db.Close()
}

// Ping reports whether the file is open.
func (s *File) Ping(ctx context.Context) error {
	_, err := s.handle(ctx)
	return err
}

// handle returns the open database. Caddy starts its apps in no fixed
// order, so a request may arrive before Open: it waits for the first
// Open (at most the lock timeout and a second), never for a reopen.
func (s *File) handle(ctx context.Context) (*openDB, error) {
	if db := s.db.Load(); db != nil {
		return db, nil
	}
	t := time.NewTimer(s.o.LockTimeout + time.Second)
	defer t.Stop()
	select {
	case <-s.opened:
	case <-t.C:
	case <-ctx.Done():
	}
	if db := s.db.Load(); db != nil {
		return db, nil
	}
	return nil, ErrClosed
}

// update runs fn in the next commit and waits until it is on disk.
func (s *File) update(ctx context.Context, op string, fn writeFn) error {
	db, err := s.handle(ctx)
	if err != nil {
		return err
	}
	if err := db.w.do(fn); err != nil {
		return fmt.Errorf("store file %s: %w", op, err)
	}
	return nil
}

// Claim implements Store.
func (s *File) Claim(ctx context.Context, key, val string, ttl time.Duration) (bool, error) {
	var claimed bool
	err := s.update(ctx, "claim", func(kv, exp *bolt.Bucket, now time.Time) error {
		claimed = false
		old := kv.Get([]byte(key))
		if old != nil {
			r, err := decodeRecord(old)
			if err != nil || r.live(now) {
				// An unreadable record is not free: the caller's Get fails closed.
				return nil
			}
		}
		if err := putRecord(kv, exp, key, old, record{expires: now.Add(ttl), val: []byte(val)}); err != nil {
			return err
		}
		claimed = true
		return nil
	})
	return claimed, err
}

// Get implements Store.
func (s *File) Get(ctx context.Context, key string) (string, bool, error) {
	db, err := s.handle(ctx)
	if err != nil {
		return "", false, err
	}
	if d, ok := db.w.lookup(key); ok {
		if s.now().Before(d.exp) {
			return d.val, true, nil
		}
		return "", false, nil
	}
	var val string
	var found bool
	err = db.View(func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketKV).Get([]byte(key))
		if raw == nil {
			return nil
		}
		r, err := decodeRecord(raw)
		if err != nil {
			return err
		}
		if r.live(s.now()) {
			val, found = string(r.val), true
		}
		return nil
	})
	if err != nil {
		return "", false, fmt.Errorf("store file get: %w", err)
	}
	return val, found, nil
}

// Put implements Store: it returns once its commit ends (on disk unless
// NoSync).
func (s *File) Put(ctx context.Context, key, val string, ttl time.Duration) error {
	return s.update(ctx, "put", func(kv, exp *bolt.Bucket, now time.Time) error {
		return putRecord(kv, exp, key, kv.Get([]byte(key)), record{expires: now.Add(ttl), val: []byte(val)})
	})
}

// PutDeferred implements Deferrer: it returns at once, and the value is
// served from memory until the next commit has it on disk.
func (s *File) PutDeferred(ctx context.Context, key, val string, ttl time.Duration) error {
	db, err := s.handle(ctx)
	if err != nil {
		return err
	}
	r := record{expires: s.now().Add(ttl), val: []byte(val)}
	err = db.w.deferPut(key, val, r.expires, func(kv, exp *bolt.Bucket, _ time.Time) error {
		return putRecord(kv, exp, key, kv.Get([]byte(key)), r)
	})
	if err != nil {
		return fmt.Errorf("store file put: %w", err)
	}
	return nil
}

// Delete implements Store.
func (s *File) Delete(ctx context.Context, key string) error {
	return s.update(ctx, "delete", func(kv, exp *bolt.Bucket, _ time.Time) error {
		old := kv.Get([]byte(key))
		if old == nil {
			return nil
		}
		if r, err := decodeRecord(old); err == nil {
			if err := exp.Delete(expKey(r.expires, key)); err != nil {
				return err
			}
		}
		return kv.Delete([]byte(key))
	})
}

// Allow implements Store. Rate-limit windows are process memory: the
// file has one owner, and they need not outlive it.
func (s *File) Allow(_ context.Context, key string, limits ...Limit) (time.Duration, error) {
	return s.limits.allow(key, limits), nil
}

// putRecord writes r under key and moves its expiry index entry.
func putRecord(kv, exp *bolt.Bucket, key string, old []byte, r record) error {
	if old != nil {
		if o, err := decodeRecord(old); err == nil {
			if err := exp.Delete(expKey(o.expires, key)); err != nil {
				return err
			}
		}
	}
	if err := exp.Put(expKey(r.expires, key), nil); err != nil {
		return err
	}
	return kv.Put([]byte(key), r.encode())
}

func expKey(t time.Time, key string) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(t.UnixNano()))
	return append(b, key...)
}

var (
	_ Store    = (*File)(nil)
	_ Deferrer = (*File)(nil)
)
