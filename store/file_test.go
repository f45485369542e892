package store

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// openFile opens a file store in a fresh directory with a settable clock.
func openFile(t *testing.T, o FileOptions) (*File, *time.Time) {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "sub", "store.db")
	}
	f := NewFile(o)
	now := time.Now()
	f.now = func() time.Time { return now }
	if err := f.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f, &now
}

func TestFileKeepsRecordsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	if ok, err := f.Claim(ctx, "order:hk:1", "in-flight", time.Hour); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if err := f.Put(ctx, "order:hk:1", "done|answer", time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Get(ctx, "order:hk:1"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get on a closed store: %v, want ErrClosed", err)
	}
	g, _ := openFile(t, FileOptions{Path: f.Path()})
	if v, ok, err := g.Get(ctx, "order:hk:1"); v != "done|answer" || !ok || err != nil {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	if ok, err := g.Claim(ctx, "order:hk:1", "again", time.Hour); ok || err != nil {
		t.Fatalf("claim after reopen: %v %v, want taken", ok, err)
	}
}

func TestFileOneOwner(t *testing.T) {
	f, _ := openFile(t, FileOptions{})
	second := NewFile(FileOptions{Path: f.Path(), LockTimeout: 50 * time.Millisecond})
	err := second.Open()
	if err == nil || !strings.Contains(err.Error(), "locked by another process") {
		t.Fatalf("second owner: %v", err)
	}
	if _, err := second.Claim(context.Background(), "k", "v", time.Minute); !errors.Is(err, ErrClosed) {
		t.Fatalf("claim through the refused store: %v", err)
	}
	// The owner is unaffected.
	if ok, err := f.Claim(context.Background(), "k", "v", time.Minute); !ok || err != nil {
		t.Fatalf("owner claim: %v %v", ok, err)
	}
}

// TestFileSweepsInBatches: expired records go in batches; a record
// rewritten with a later expiry stays, and so does its index entry.
func TestFileSweepsInBatches(t *testing.T) {
	ctx := context.Background()
	f, now := openFile(t, FileOptions{SweepBatch: 10})
	for i := range 25 {
		if err := f.Put(ctx, "short:"+string(rune('a'+i)), "v", time.Second); err != nil {
			t.Fatal(err)
		}
	}
	_ = f.Put(ctx, "kept", "v", time.Second)
	_ = f.Put(ctx, "kept", "v2", time.Hour)
	*now = now.Add(2 * time.Second)
	n, err := f.Sweep()
	if n != 25 || err != nil { // kept moved its index entry when rewritten
		t.Fatalf("Sweep = %d %v, want 25", n, err)
	}
	if v, ok, _ := f.Get(ctx, "kept"); v != "v2" || !ok {
		t.Fatalf("rewritten record lost: %q %v", v, ok)
	}
	keys := 0
	_ = f.db.Load().View(func(tx *bolt.Tx) error {
		keys = tx.Bucket(bucketKV).Stats().KeyN + tx.Bucket(bucketExp).Stats().KeyN
		return nil
	})
	if keys != 2 {
		t.Fatalf("%d keys left in the file, want kept and its index entry", keys)
	}
	*now = now.Add(2 * time.Hour)
	if n, _ := f.Sweep(); n != 1 {
		t.Fatalf("second sweep = %d, want 1", n)
	}
}

// TestFileUnreadableRecordFailsClosed: a record this qfsign cannot read
// is neither free (Claim) nor absent (Get).
func TestFileUnreadableRecordFailsClosed(t *testing.T) {
	ctx := context.Background()
	f, _ := openFile(t, FileOptions{})
	for name, raw := range map[string][]byte{"future version": append([]byte{99}, make([]byte, 20)...), "truncated": {recordV1, 0, 0}} {
		t.Run(name, func(t *testing.T) {
			err := f.db.Load().Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketKV).Put([]byte("order:hk:X"), raw) })
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := f.Claim(ctx, "order:hk:X", "new", time.Hour); ok || err != nil {
				t.Fatalf("Claim over an unreadable record = %v %v, want not claimed", ok, err)
			}
			if _, found, err := f.Get(ctx, "order:hk:X"); found || !errors.Is(err, ErrUnreadable) {
				t.Fatalf("Get = %v %v, want ErrUnreadable", found, err)
			}
		})
	}
}

// TestFileReadsVersion1 opens testdata/v1.db, written by the first
// release of this store (record layout 1, file format 1; records expire
// in 2100): every later qfsign must read it.
func TestFileReadsVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	copyFile(t, "testdata/v1.db", path)
	f, _ := openFile(t, FileOptions{Path: path})
	want := map[string]string{
		"order:hk:V1-DONE": "1|done|0123456789abcdef0123456789abcdef|1764633600|200|application/json|{\"respcd\":\"0000\"}",
		"notify:hk:20200413000300020087033882:payment": "acked",
	}
	for k, v := range want {
		if got, ok, err := f.Get(context.Background(), k); got != v || !ok || err != nil {
			t.Errorf("%s = %q %v %v, want %q", k, got, ok, err, v)
		}
	}
}

func TestFileNewerFormatRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucketIfNotExists(bucketMeta)
		return b.Put(keyFormat, []byte("2"))
	})
	db.Close()
	if err := NewFile(FileOptions{Path: path}).Open(); err == nil || !strings.Contains(err.Error(), "newer than this qfsign") {
		t.Fatalf("open a newer file: %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
}

// TestFileRequestBeforeOpenWaits: Caddy starts apps in no fixed order,
// so a request may come before Open; it waits for Open, not fails.
func TestFileRequestBeforeOpenWaits(t *testing.T) {
	f := NewFile(FileOptions{Path: filepath.Join(t.TempDir(), "store.db")})
	t.Cleanup(func() { f.Close() })
	done := make(chan error, 1)
	go func() {
		ok, err := f.Claim(context.Background(), "early", "v", time.Minute)
		if err == nil && !ok {
			err = errors.New("not claimed")
		}
		done <- err
	}()
	if err := f.Open(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("claim before Open: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Claim(context.Background(), "late", "v", time.Minute); !errors.Is(err, ErrClosed) {
		t.Fatalf("claim after Close: %v", err)
	}
}
