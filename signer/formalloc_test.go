package signer

import (
	"strings"
	"testing"
)

// TestParseFormAllocatesPerKeptField: 64 KiB of "&" keeps no field, so
// it must cost about the string copy of the body, not a slice sized by
// the separators (it was about 2 MB).
func TestParseFormAllocatesPerKeptField(t *testing.T) {
	body := []byte(strings.Repeat("&", 64<<10))
	res := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseForm(body, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	// Twice the body: room for the copy (and -race), far from 2 MB.
	if got, max := res.AllocedBytesPerOp(), 2*int64(len(body)); got > max {
		t.Fatalf("ParseForm of %d separators allocated %d bytes per call, want at most %d", len(body), got, max)
	}
}

// BenchmarkParseFormSeparators is the same input, for bench/ comparisons.
func BenchmarkParseFormSeparators(b *testing.B) {
	body := []byte(strings.Repeat("&", 64<<10))
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseForm(body, nil)
	}
}
