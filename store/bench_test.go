package store

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testredis"
)

// orderAnswer is the size of a done record: QFPay's answer kept for replay.
var orderAnswer = "1|done|0123456789abcdef0123456789abcdef|1764633600|200|application/json|" + strings.Repeat("x", 420)

// BenchmarkPayment is the store's work for one new payment: the rate
// limit, the claim, and the recorded outcome.
func BenchmarkPayment(b *testing.B) {
	for _, tt := range []struct {
		name string
		open func(b *testing.B) Store
	}{
		{"memory", func(*testing.B) Store { return NewMemory(1 << 30) }},
		{"file", func(b *testing.B) Store { return benchFile(b, false) }},
		{"file-nosync", func(b *testing.B) Store { return benchFile(b, true) }},
		{"redis", func(b *testing.B) Store {
			r := NewRedis(RedisOptions{Addrs: []string{testredis.Addr(b)}, Prefix: "qfsign-bench:" + strconv.FormatInt(time.Now().UnixNano(), 36) + ":"})
			b.Cleanup(func() { r.Close() })
			return r
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := tt.open(b)
			ctx := context.Background()
			lim := []Limit{{N: 100, Per: time.Second}} // refusals past 100 cost as much
			b.ResetTimer()
			for i := range b.N {
				key := "order:shop:ORD-" + strconv.Itoa(i)
				if _, err := s.Allow(ctx, "rl:shop", lim...); err != nil {
					b.Fatal(err)
				}
				if ok, err := s.Claim(ctx, key, "1|in-flight|0123456789abcdef0123456789abcdef|1764633600|0||", time.Hour); !ok || err != nil {
					b.Fatal(ok, err)
				}
				if err := s.Put(ctx, key, orderAnswer, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchFile(b *testing.B, noSync bool) *File {
	f := NewFile(FileOptions{Path: b.TempDir() + "/store.db", NoSync: noSync})
	if err := f.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}
