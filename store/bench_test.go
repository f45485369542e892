package store

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
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
			defer reportCPU(b, cpuTime())
			for i := range b.N {
				key := "order:shop:ORD-" + strconv.Itoa(i)
				if _, err := s.Allow(ctx, "rl:shop", lim...); err != nil {
					b.Fatal(err)
				}
				if ok, err := s.Claim(ctx, key, "1|in-flight|0123456789abcdef0123456789abcdef|1764633600|0||", time.Hour); !ok || err != nil {
					b.Fatal(ok, err)
				}
				if err := PutDeferred(ctx, s, key, orderAnswer, time.Hour); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPaymentParallel is BenchmarkPayment from 16 callers at once,
// as a busy gateway runs it: bbolt has one writer at a time.
func BenchmarkPaymentParallel(b *testing.B) {
	f := benchFile(b, false)
	ctx := context.Background()
	var n atomic.Int64
	b.SetParallelism(8) // 16 goroutines on 2 cores
	b.ResetTimer()
	defer reportCPU(b, cpuTime())
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			key := "order:shop:ORD-" + strconv.FormatInt(n.Add(1), 10)
			if ok, err := f.Claim(ctx, key, "1|in-flight|0123456789abcdef0123456789abcdef|1764633600|0||", time.Hour); !ok || err != nil {
				b.Fatal(ok, err)
			}
			if err := f.PutDeferred(ctx, key, orderAnswer, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// cpuTime is this process's user and system CPU so far: the store's
// cost apart from waiting on fsync or the network (a Redis server's own
// CPU is not counted).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

func benchFile(b *testing.B, noSync bool) *File {
	f := NewFile(FileOptions{Path: b.TempDir() + "/store.db", NoSync: noSync})
	if err := f.Open(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	return f
}
