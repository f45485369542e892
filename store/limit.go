package store

import (
	"strconv"
	"sync"
	"time"
)

// Limit is one rate limit: at most N events in any window of length Per.
type Limit struct {
	N   int
	Per time.Duration
}

// windows is an exact sliding-window limiter in process memory: per key
// and limit, the times of the last N admitted events. An event is
// admitted only when every limit has room, so over any window of length
// Per at most N are admitted (a fixed window lets 2N through across its
// edge; GCRA with a burst lets N plus the refill). Refused events are
// not recorded. Redis runs the same algorithm in one script.
type windows struct {
	mu   sync.Mutex
	now  func() time.Time
	logs map[string]*ring
	next time.Time // next drop of idle keys
}

// ring holds the admission times of the last len(t) events, oldest at i.
type ring struct {
	t    []int64
	i    int
	last int64
}

func newWindows(now func() time.Time) *windows {
	return &windows{now: now, logs: make(map[string]*ring)}
}

// allow admits an event under every limit and returns 0, or returns how
// long until the earliest limit has room again.
func (w *windows) allow(key string, limits []Limit) time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now().UnixNano()
	w.dropIdle(now)
	rings := make([]*ring, len(limits))
	var wait int64
	for i, l := range limits {
		if l.N <= 0 || l.Per <= 0 {
			continue // no limit
		}
		k := key + ":" + strconv.FormatInt(int64(l.Per), 10) + ":" + strconv.Itoa(l.N)
		r := w.logs[k]
		if r == nil {
			r = &ring{t: make([]int64, l.N)}
			for j := range r.t {
				r.t[j] = -1 << 62
			}
			w.logs[k] = r
		}
		rings[i] = r
		// The oldest of the last N must have left the window.
		if free := r.t[r.i] + int64(l.Per); free > now {
			wait = max(wait, free-now)
		}
	}
	if wait > 0 {
		return time.Duration(wait)
	}
	for i, r := range rings {
		if r == nil {
			continue
		}
		r.t[r.i] = now
		r.i = (r.i + 1) % len(r.t)
		r.last = now + int64(limits[i].Per)
	}
	return 0
}

// dropIdle forgets keys whose windows are empty, once a minute; keys
// are per merchant and limit, so there are few.
func (w *windows) dropIdle(now int64) {
	if now < w.next.UnixNano() {
		return
	}
	for k, r := range w.logs {
		if r.last <= now {
			delete(w.logs, k)
		}
	}
	w.next = time.Unix(0, now).Add(time.Minute)
}
