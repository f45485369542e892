package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestBudget: past Max a new key is refused with ErrBudget (an ErrFull);
// a key already present still answers "not claimed", so the caller
// replays it.
func TestBudget(t *testing.T) {
	ctx := context.Background()
	used := int64(0)
	b := &Budget{Store: NewMemory(0), Max: 100, Used: func(context.Context) (int64, error) { return used, nil }}
	if ok, err := b.Claim(ctx, "a", "1", time.Minute); !ok || err != nil {
		t.Fatalf("under budget: %v %v", ok, err)
	}
	used, b.at = 100, time.Time{} // measured again at once
	if ok, err := b.Claim(ctx, "b", "1", time.Minute); ok || !errors.Is(err, ErrBudget) || !errors.Is(err, ErrFull) {
		t.Fatalf("new key at the budget: %v %v", ok, err)
	}
	if ok, err := b.Claim(ctx, "a", "1", time.Minute); ok || err != nil {
		t.Fatalf("existing key at the budget: %v %v", ok, err)
	}
}

// TestFileUsedBytes: a file store's used bytes grow with its records.
func TestFileUsedBytes(t *testing.T) {
	ctx := context.Background()
	f := NewFile(FileOptions{Path: filepath.Join(t.TempDir(), "s.db"), NoSync: true})
	if err := f.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	empty, err := f.UsedBytes(ctx)
	if err != nil || empty <= 0 {
		t.Fatalf("empty: %d %v", empty, err)
	}
	big := string(make([]byte, 2048))
	for i := range 200 {
		if _, err := f.Claim(ctx, fmt.Sprint("k", i), big, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	full, _ := f.UsedBytes(ctx)
	if full < empty+200*2048 {
		t.Fatalf("200 records of 2 KiB: %d bytes used, empty %d", full, empty)
	}
}
