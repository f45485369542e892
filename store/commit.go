package store

import (
	"errors"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// errClosing answers a write that arrives after Close began.
var errClosing = errors.New("store: file store is closing")

// writeFn is one write: it runs inside a commit's transaction and may
// run again, alone, when another write in its batch failed.
type writeFn func(kv, exp *bolt.Bucket, now time.Time) error

// write is a queued writeFn. done is nil for a deferred write (PutDeferred): no
// caller waits for it, and what it wrote is served from pending until
// its commit ends.
type write struct {
	fn   writeFn
	now  time.Time // read on the caller's goroutine, as the clock is
	done chan error
	key  string // deferred writes: the pending entry to retire
	seq  uint64
}

// deferred is a PutDeferred not yet committed: reads see it before the disk does.
type deferred struct {
	val string
	exp time.Time
	seq uint64
}

// flushAfter bounds how long a deferred write waits for a durable one
// to share its commit. Nobody waits on a deferred write, so riding the
// next claim's commit saves a commit (two fsyncs) per payment; the bound
// is the window in which a crash can lose it.
const flushAfter = 50 * time.Millisecond

// committer is the file's one writer. A commit starts as soon as the
// previous one ends and takes every write queued meanwhile, so no caller
// waits for company (bbolt's Batch waits on a timer): a lone write pays
// one commit, and under load one fsync serves every waiting writer.
// Deferred writes ride the next commit, or are committed after
// flushAfter if none comes.
type committer struct {
	db     *bolt.DB
	now    func() time.Time
	onLost func(key string, err error)

	mu      sync.Mutex
	queue   []write
	pending map[string]deferred
	seq     uint64
	closing bool
	wake    chan struct{} // capacity 1: "a commit is due"
	done    chan struct{} // closed when the loop has drained and exited
	commits int           // transactions run, for tests; under mu
	flush   *time.Timer   // commits deferred writes that no claim came to carry
	after   time.Duration // flushAfter; tests lengthen it
}

func newCommitter(db *bolt.DB, now func() time.Time, onLost func(string, error)) *committer {
	c := &committer{db: db, now: now, onLost: onLost,
		pending: make(map[string]deferred), wake: make(chan struct{}, 1), done: make(chan struct{}), after: flushAfter}
	go c.loop()
	return c
}

// do queues fn and waits until its commit is on disk (fsynced unless
// the file was opened NoSync).
func (c *committer) do(fn writeFn) error {
	done := make(chan error, 1)
	if err := c.enqueue(write{fn: fn, now: c.now(), done: done}); err != nil {
		return err
	}
	return <-done
}

// deferPut queues fn for the next commit and returns at once; lookups see
// val under key until that commit ends. A failed commit loses the write:
// onLost is told, and reads fall back to what the disk holds.
func (c *committer) deferPut(key, val string, exp time.Time, fn writeFn) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return errClosing
	}
	c.seq++
	c.pending[key] = deferred{val: val, exp: exp, seq: c.seq}
	c.queue = append(c.queue, write{fn: fn, now: c.now(), key: key, seq: c.seq})
	if c.flush == nil {
		c.flush = time.AfterFunc(c.after, c.kick)
	} else if len(c.queue) == 1 {
		c.flush.Reset(c.after)
	}
	return nil
}

// lookup returns a deferred write for key that is not yet committed.
func (c *committer) lookup(key string) (deferred, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.pending[key]
	return d, ok
}

func (c *committer) enqueue(w write) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closing {
		return errClosing
	}
	c.push(w)
	return nil
}

// push appends w and wakes the loop; c.mu is held.
func (c *committer) push(w write) {
	c.queue = append(c.queue, w)
	c.kick()
}

// kick wakes the loop if it is not already due to run.
func (c *committer) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// close commits what is queued, then stops the loop.
func (c *committer) close() {
	c.mu.Lock()
	c.closing = true
	if c.flush != nil {
		c.flush.Stop()
	}
	c.mu.Unlock()
	c.kick()
	<-c.done
}

func (c *committer) loop() {
	defer close(c.done)
	for range c.wake {
		c.mu.Lock()
		batch, closing := c.queue, c.closing
		c.queue = nil
		c.mu.Unlock()
		if len(batch) > 0 {
			c.commit(batch)
		}
		if closing {
			return
		}
	}
}

// commit runs batch in one transaction. A write that fails is taken
// out and committed alone (its error is its own), and the rest run
// again, as bbolt's Batch does; a failed commit fails every write in it.
func (c *committer) commit(batch []write) {
	if faultDropDeferred {
		batch = c.drop(batch)
	}
	for len(batch) > 0 {
		c.count()
		failed := -1
		err := c.db.Update(func(tx *bolt.Tx) error {
			kv, exp := tx.Bucket(bucketKV), tx.Bucket(bucketExp)
			for i, w := range batch {
				if err := w.fn(kv, exp, w.now); err != nil {
					failed = i
					return err
				}
			}
			return nil
		})
		if failed < 0 {
			c.finish(batch, err)
			return
		}
		w := batch[failed]
		batch = append(batch[:failed:failed], batch[failed+1:]...)
		c.count()
		c.finish([]write{w}, c.db.Update(func(tx *bolt.Tx) error {
			return w.fn(tx.Bucket(bucketKV), tx.Bucket(bucketExp), w.now)
		}))
	}
}

func (c *committer) count() {
	c.mu.Lock()
	c.commits++
	c.mu.Unlock()
}

// drop fails every deferred write in batch before it reaches the disk,
// as a crash between the answer and its commit would (fault builds only).
func (c *committer) drop(batch []write) []write {
	var kept, lost []write
	for _, w := range batch {
		if w.done == nil {
			lost = append(lost, w)
		} else {
			kept = append(kept, w)
		}
	}
	c.finish(lost, errFaultDropped)
	return kept
}

// finish retires the batch's deferred writes, then answers its callers:
// by the time Delete or Claim returns, no older deferred value shadows it.
func (c *committer) finish(batch []write, err error) {
	c.mu.Lock()
	for _, w := range batch {
		if w.done == nil && c.pending[w.key].seq == w.seq {
			delete(c.pending, w.key)
		}
	}
	c.mu.Unlock()
	for _, w := range batch {
		switch {
		case w.done != nil:
			w.done <- err
		case err != nil && c.onLost != nil:
			c.onLost(w.key, err)
		}
	}
}
