package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1000, 0)
	s := NewMemory(2)
	s.now = func() time.Time { return now }

	if ok, err := s.Claim(ctx, "a", "1", time.Minute); !ok || err != nil {
		t.Fatalf("first claim: %v %v", ok, err)
	}
	if ok, _ := s.Claim(ctx, "a", "2", time.Minute); ok {
		t.Fatal("second claim succeeded")
	}
	if v, ok, _ := s.Get(ctx, "a"); !ok || v != "1" {
		t.Fatalf("Get = %q %v", v, ok)
	}
	if err := s.Put(ctx, "a", "acked", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "b", "1", time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, "c", "1", time.Minute); !errors.Is(err, ErrFull) {
		t.Fatalf("full store accepted: %v", err)
	}
	now = now.Add(2 * time.Second) // b expires
	if ok, err := s.Claim(ctx, "c", "1", time.Minute); !ok || err != nil {
		t.Fatalf("claim after expiry: %v %v", ok, err)
	}
	if v, _, _ := s.Get(ctx, "a"); v != "acked" {
		t.Fatalf("Put lost: %q", v)
	}
	_ = s.Delete(ctx, "a")
	if _, ok, _ := s.Get(ctx, "a"); ok {
		t.Fatal("Delete kept the key")
	}
	now = now.Add(time.Hour)
	if _, ok, _ := s.Get(ctx, "c"); ok {
		t.Fatal("expired key still visible")
	}
}
