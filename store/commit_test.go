package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// holdWriter occupies the file's writer until the returned func is
// called, so the test decides what queues behind one commit.
func holdWriter(t *testing.T, f *File) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	go func() {
		_ = f.db.Load().w.do(func(*bolt.Bucket, *bolt.Bucket, time.Time) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return release
}

// waitQueued yields until n writes are queued behind the held commit.
func waitQueued(f *File, n int) {
	w := f.db.Load().w
	for {
		w.mu.Lock()
		q := len(w.queue)
		w.mu.Unlock()
		if q >= n {
			return
		}
		runtime.Gosched()
	}
}

func commits(f *File) int {
	w := f.db.Load().w
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.commits
}

// TestFileGroupCommit: every claim that arrives while a commit is on the
// disk shares the next one; a lone claim pays exactly one commit.
func TestFileGroupCommit(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	before := commits(f)
	if ok, err := f.Claim(ctx, "order:hk:lone", "in-flight", time.Hour); !ok || err != nil {
		t.Fatalf("lone claim: %v %v", ok, err)
	}
	if n := commits(f) - before; n != 1 {
		t.Fatalf("a lone claim took %d commits, want 1", n)
	}

	release := holdWriter(t, f)
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := f.Claim(ctx, fmt.Sprint("order:hk:", i), "in-flight", time.Hour)
			if !ok || err != nil {
				errs <- fmt.Errorf("claim %d: %v %v", i, ok, err)
			}
		}()
	}
	waitQueued(f, n)
	before = commits(f)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := commits(f) - before; got != 1 {
		t.Fatalf("%d queued claims took %d commits, want 1", n, got)
	}
}

// TestFilePutIsServedBeforeItsCommit: PutDeferred returns while the writer is
// busy, and Get and Claim see the value at once; after the commit the
// disk holds it (a reopen reads it).
func TestFilePutIsServedBeforeItsCommit(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	if ok, err := f.Claim(ctx, "order:hk:1", "in-flight", time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	release := holdWriter(t, f)
	if err := f.PutDeferred(ctx, "order:hk:1", "done|answer", time.Hour); err != nil {
		t.Fatal(err) // returned although the writer is held: it does not wait
	}
	if v, ok, err := f.Get(ctx, "order:hk:1"); v != "done|answer" || !ok || err != nil {
		t.Fatalf("Get before the commit: %q %v %v", v, ok, err)
	}
	release()
	if ok, err := f.Claim(ctx, "order:hk:1", "again", time.Hour); ok || err != nil {
		t.Fatalf("Claim after Put: %v %v, want taken", ok, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	g, _ := openFile(t, FileOptions{Path: f.Path()})
	if v, ok, err := g.Get(ctx, "order:hk:1"); v != "done|answer" || !ok || err != nil {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
}

// TestFileCloseCommitsDeferredPuts: a graceful stop writes what PutDeferred
// queued; nothing is lost but to a crash.
func TestFileCloseCommitsDeferredPuts(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	release := holdWriter(t, f)
	for i := range 20 {
		if err := f.PutDeferred(ctx, fmt.Sprint("order:hk:", i), "done", time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error)
	go func() { closed <- f.Close() }()
	release()
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	g, _ := openFile(t, FileOptions{Path: f.Path()})
	for i := range 20 {
		if _, ok, err := g.Get(ctx, fmt.Sprint("order:hk:", i)); !ok || err != nil {
			t.Fatalf("put %d after a graceful close: %v %v", i, ok, err)
		}
	}
}

// TestFileLostPutLeavesTheClaim: a PutDeferred whose commit fails is reported to
// OnLost, and reads fall back to the claim (in flight), never to "free".
func TestFileLostPutLeavesTheClaim(t *testing.T) {
	ctx := context.Background()
	lost := make(chan string, 1)
	f, _ := openFile(t, FileOptions{OnLost: func(key string, err error) {
		if !errors.Is(err, errFaultDropped) {
			t.Errorf("OnLost error: %v", err)
		}
		lost <- key
	}})
	if ok, err := f.Claim(ctx, "order:hk:1", "in-flight", time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	faultDropDeferred = true
	t.Cleanup(func() { faultDropDeferred = false })
	release := holdWriter(t, f)
	if err := f.PutDeferred(ctx, "order:hk:1", "done|answer", time.Hour); err != nil {
		t.Fatal(err)
	}
	release()
	if key := <-lost; key != "order:hk:1" {
		t.Fatalf("OnLost told of %q", key)
	}
	if v, ok, err := f.Get(ctx, "order:hk:1"); v != "in-flight" || !ok || err != nil {
		t.Fatalf("after the lost put: %q %v %v, want the claim", v, ok, err)
	}
}

// TestFileFailedWriteIsAlone: a write that fails in a shared commit is
// retried alone with its own error; the others in its batch commit.
func TestFileFailedWriteIsAlone(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	release := holdWriter(t, f)
	results := make(chan error, 3)
	for _, key := range []string{"order:hk:a", "", "order:hk:b"} { // bbolt refuses an empty key
		go func() {
			_, err := f.Claim(ctx, key, "in-flight", time.Hour)
			results <- err
		}()
	}
	waitQueued(f, 3)
	release()
	failed := 0
	for range 3 {
		if err := <-results; err != nil {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d claims failed, want only the empty key's", failed)
	}
	for _, key := range []string{"order:hk:a", "order:hk:b"} {
		if _, ok, err := f.Get(ctx, key); !ok || err != nil {
			t.Fatalf("%s: %v %v", key, ok, err)
		}
	}
}

// TestFileDeferredRidesTheNextClaim: a deferred write waits for the next
// claim and shares its commit (one commit per payment, not two), and is
// committed on its own after flushAfter when no claim comes.
func TestFileDeferredRidesTheNextClaim(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	w := f.db.Load().w
	w.mu.Lock()
	w.after = time.Hour
	w.mu.Unlock()
	before := commits(f)
	if err := f.PutDeferred(ctx, "order:hk:1", "done|answer", time.Hour); err != nil {
		t.Fatal(err)
	}
	if ok, err := f.Claim(ctx, "order:hk:2", "in-flight", time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if n := commits(f) - before; n != 1 {
		t.Fatalf("a deferred write and a claim took %d commits, want 1", n)
	}
	if _, ok := w.lookup("order:hk:1"); ok {
		t.Fatal("the deferred write is still pending after the claim's commit")
	}

	w.mu.Lock()
	w.after = time.Millisecond
	w.mu.Unlock()
	if err := f.PutDeferred(ctx, "order:hk:3", "done|answer", time.Hour); err != nil {
		t.Fatal(err)
	}
	for { // no claim comes: the flush timer commits it
		if _, ok := w.lookup("order:hk:3"); !ok {
			break
		}
		runtime.Gosched()
	}
	if n := commits(f) - before; n != 2 {
		t.Fatalf("%d commits, want 2", n)
	}
}

// TestBudgetKeepsDeferredWrites: the byte budget wraps the file store;
// a record put through it is still deferred, not a commit of its own.
func TestBudgetKeepsDeferredWrites(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	b := &Budget{Store: f, Max: 1 << 30, Used: f.UsedBytes}
	release := holdWriter(t, f)
	if err := PutDeferred(ctx, b, "order:hk:1", "done|answer", time.Hour); err != nil {
		t.Fatal(err) // returned although the writer is held: deferred
	}
	release()
}
