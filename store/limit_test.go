package store

import (
	"math/rand/v2"
	"testing"
	"time"
)

// worstWindow is the most events in any half-open window of length per.
func worstWindow(times []time.Time, per time.Duration) int {
	worst, j := 0, 0
	for i := range times {
		for times[i].Sub(times[j]) >= per {
			j++
		}
		worst = max(worst, i-j+1)
	}
	return worst
}

// TestWindowsExact drives the limiter with random arrivals on a fake
// clock: no window of Per ever holds more than N admissions, and an
// arrival is refused only when N were admitted within the last Per.
func TestWindowsExact(t *testing.T) {
	for _, tt := range []struct {
		name string
		lim  Limit
		gap  time.Duration // mean gap between arrivals
	}{
		{name: "100/s hammered", lim: Limit{N: 100, Per: time.Second}, gap: 2 * time.Millisecond},
		{name: "100/s bursty", lim: Limit{N: 100, Per: time.Second}, gap: 9 * time.Millisecond},
		{name: "400/m", lim: Limit{N: 400, Per: time.Minute}, gap: 100 * time.Millisecond},
		{name: "1/s", lim: Limit{N: 1, Per: time.Second}, gap: 300 * time.Millisecond},
	} {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_700_000_000, 0)
			w := newWindows(func() time.Time { return now })
			rng := rand.New(rand.NewPCG(1, 2))
			var admitted []time.Time
			for range 20_000 {
				now = now.Add(time.Duration(rng.ExpFloat64() * float64(tt.gap)))
				wait := w.allow("m", []Limit{tt.lim})
				if wait == 0 {
					admitted = append(admitted, now)
					continue
				}
				recent := 0
				for i := len(admitted) - 1; i >= 0 && now.Sub(admitted[i]) < tt.lim.Per; i-- {
					recent++
				}
				if recent < tt.lim.N {
					t.Fatalf("refused at %v with %d admitted in the last %v", now, recent, tt.lim.Per)
				}
				if wait > tt.lim.Per {
					t.Fatalf("wait %v longer than the window", wait)
				}
			}
			if got := worstWindow(admitted, tt.lim.Per); got != tt.lim.N {
				t.Fatalf("worst window holds %d, want exactly %d", got, tt.lim.N)
			}
		})
	}
}

// TestWindowsBothLimits: an event refused by one limit counts in none.
func TestWindowsBothLimits(t *testing.T) {
	now := time.Unix(0, 0)
	w := newWindows(func() time.Time { return now })
	perSec, perMin := Limit{N: 2, Per: time.Second}, Limit{N: 3, Per: time.Minute}
	var got []bool
	for range 3 {
		got = append(got, w.allow("m", []Limit{perSec, perMin}) == 0)
	}
	now = now.Add(time.Second)
	got = append(got, w.allow("m", []Limit{perSec, perMin}) == 0, w.allow("m", []Limit{perSec, perMin}) == 0)
	want := []bool{true, true, false, true, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("admissions %v, want %v", got, want)
		}
	}
	if w.allow("other", []Limit{perSec, perMin}) != 0 {
		t.Fatal("keys are independent")
	}
}
