package caddymodule

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A declared Content-Length buys no allocation: a client announcing 60 KiB
// and sending 10 bytes costs about the first, capped, buffer (the
// request's own allocations are measured apart and subtracted).
func TestReadBodyGrowsAsRead(t *testing.T) {
	allocs := func(read bool) int64 {
		return testing.Benchmark(func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("txamt=1500"))
				r.ContentLength = 60 << 10
				if read {
					_, _ = readBody(r, defaultMaxBody) // refused or not: the cost is the point
				}
			}
		}).AllocedBytesPerOp()
	}
	// Half the declared length: well above the capped first buffer (even
	// under -race), well below an allocation sized by Content-Length.
	got := allocs(true) - allocs(false)
	t.Logf("readBody: %d bytes for a 10-byte body declared as 60 KiB", got)
	if got > 30<<10 {
		t.Fatalf("readBody allocated %d bytes for a 10-byte body declared as 60 KiB", got)
	}
}

func TestReadBodyLimits(t *testing.T) {
	for _, tc := range []struct {
		name     string
		body     string
		declared int64 // -1: unknown (chunked)
		wantRule string
		drained  bool // the whole body was read before refusing
	}{
		{"fits", "a=b", 3, "", true},
		{"fits, unknown length", "a=b", -1, "", true},
		{"declared too large", strings.Repeat("x", 100), 100, ruleBodyTooLarge, true},
		{"too large, unknown length", strings.Repeat("x", 100), -1, ruleBodyTooLarge, true},
		{"declared beyond the drain bound", "x", maxDrain + 1, ruleBodyTooLarge, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.NewReader(tc.body)
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(src))
			r.ContentLength = tc.declared
			body, rf := readBody(r, 10)
			switch {
			case tc.wantRule == "" && (rf != nil || string(body) != tc.body):
				t.Fatalf("got %q, %+v", body, rf)
			case tc.wantRule != "" && (rf == nil || rf.Rule != tc.wantRule || !rf.closeConn):
				t.Fatalf("refusal %+v, want %s closing the connection", rf, tc.wantRule)
			}
			if drained := src.Len() == 0; drained != tc.drained {
				t.Fatalf("drained %v, want %v", drained, tc.drained)
			}
		})
	}
}
