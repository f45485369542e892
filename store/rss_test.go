//go:build rss

package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestStoreRSS fills a store with orders (a claim, then the recorded
// answer, as a payment does) and reports the process's memory at 0, 100k
// and 1M orders, after 10,000 more payments at each point. Run by
// bench/store-rss.sh: `go test -tags rss -run TestStoreRSS -v ./store`.
// The file store fills with sync off: fsync changes time, not memory.
func TestStoreRSS(t *testing.T) {
	ctx := context.Background()
	f := NewFile(FileOptions{Path: filepath.Join(t.TempDir(), "store.db"), NoSync: true})
	if err := f.Open(); err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	held := 0
	for _, target := range []int{0, 100_000, 1_000_000} {
		for ; held < target; held++ {
			pay(ctx, t, f, held)
		}
		for i := range 10_000 {
			pay(ctx, t, f, 2_000_000+target+i)
		}
		fi, _ := os.Stat(f.Path())
		t.Logf("file store, %7d orders held: %s, file %d MiB", target, memory(), fi.Size()>>20)
	}
}

// TestMemoryStoreRSS is the same for the memory store, to 100k orders.
func TestMemoryStoreRSS(t *testing.T) {
	m := NewMemory(1 << 30)
	for i := range 100_000 {
		pay(context.Background(), t, m, i)
		if i == 0 || i == 100_000-1 {
			t.Logf("memory store, %7d orders held: %s", i+1, memory())
		}
	}
}

func pay(ctx context.Context, t *testing.T, s Store, i int) {
	key := "order:shop:ORD-" + strconv.Itoa(i)
	if ok, err := s.Claim(ctx, key, "1|in-flight|0123456789abcdef0123456789abcdef|1764633600|0||", 7*24*time.Hour); !ok || err != nil {
		t.Fatal(ok, err)
	}
	// A value of its own, as QFPay's answer is: the memory store keeps a copy per order.
	if err := s.Put(ctx, key, orderAnswer+strconv.Itoa(i), 7*24*time.Hour); err != nil {
		t.Fatal(err)
	}
}

// memory reads VmRSS, RssAnon and RssFile after a GC that returns free
// heap to the OS. RssFile is the file's pages mapped by bbolt (read
// only, so clean): page cache the kernel drops under memory pressure.
func memory() string {
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	var parts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		if k == "VmRSS" || k == "RssAnon" || k == "RssFile" {
			kb, _ := strconv.Atoi(strings.Fields(v)[0])
			parts = append(parts, fmt.Sprintf("%s %d MiB", k, kb>>10))
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return strings.Join(parts, ", ") + fmt.Sprintf(", Go heap in use %d MiB", ms.HeapInuse>>20)
}
