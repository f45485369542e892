package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// arrivals is the QFPay double behind a recorder of arrival times.
type arrivals struct {
	mu    sync.Mutex
	times []time.Time
}

func (a *arrivals) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.times = append(a.times, time.Now())
		a.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// worst is the most arrivals in any half-open window of length per.
func (a *arrivals) worst(per time.Duration) (worst, total int) {
	a.mu.Lock()
	times := append([]time.Time(nil), a.times...)
	a.mu.Unlock()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	j := 0
	for i := range times {
		for times[i].Sub(times[j]) >= per {
			j++
		}
		worst = max(worst, i-j+1)
	}
	return worst, len(times)
}

// TestRateLimitWorstWindow hammers one merchant limited to 10/s from 8
// clients for 2.5s and measures, at the QFPay double, the most requests
// that arrived within any 1-second window.
func TestRateLimitWorstWindow(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		const limit = 10
		double := qfpaytest.New(qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
		var seen arrivals
		srv := httptest.NewServer(seen.wrap(double))
		t.Cleanup(func() { srv.Close(); double.Close() })
		gw := startGateway(t, srv.URL, store+"\n"+merchantBlock("shop", fmt.Sprintf("rate_limit %d/s", limit)), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
		s := &guardSetup{double: double, url: srv.URL, gw: gw, run: testvault.RandomID(4)}
		deadline := time.Now().Add(2500 * time.Millisecond)
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		for c := range 8 {
			wg.Go(func() {
				for i := 0; time.Now().Before(deadline); i++ {
					r := s.send(t, http.MethodPost, "/trade/v1/query", fmt.Sprintf("out_trade_no=RL-%d-%d", c, i))
					mu.Lock()
					statuses[r.status]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		worst, total := seen.worst(time.Second)
		if worst > limit || total < 2*limit || statuses[http.StatusOK] != total || statuses[http.StatusTooManyRequests] == 0 {
			t.Fatalf("worst 1s window %d (limit %d), %d reached QFPay, statuses %v", worst, limit, total, statuses)
		}
		t.Logf("limit %d/s: worst 1-second window at QFPay %d; %d reached QFPay in 2.5s, %d refused with 429", limit, worst, total, statuses[http.StatusTooManyRequests])
	})
}

// TestRateLimitCountsApplicationRequests pins what the rate limit counts
// (docs/configuration.md, "Rate limit"): one admission per application
// request the gateway sends. With 2 a minute, a pending payment resolved
// by resolve_pending's queries, its replay and a second payment all pass,
// while QFPay sees four calls; a third payment is refused locally.
func TestRateLimitCountsApplicationRequests(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "resolve_pending 5s 50ms", "rate_limit 0 2")
	first := s.otn("pending")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: first, Respcd: "1143", FinalAfterQueries: 1, FinalRespcd: "0000"})
	if r := s.pay(t, payForm(first, 1500)); r.status != http.StatusOK || r.resolved != "query" || r.field("respcd") != "0000" {
		t.Fatalf("pending payment resolved by query: %+v", r)
	}
	if r := s.pay(t, payForm(first, 1500)); r.status != http.StatusOK || r.replayed != "true" {
		t.Fatalf("the replay is not counted: %+v", r)
	}
	if r := s.pay(t, payForm(s.otn("second"), 1500)); r.status != http.StatusOK || r.field("respcd") != "0000" {
		t.Fatalf("the second payment is the second admission: %+v", r)
	}
	if r := s.pay(t, payForm(s.otn("third"), 1500)); r.status != http.StatusTooManyRequests || r.field("rule") != "rate_limit" {
		t.Fatalf("the third payment is over 2/min: %+v", r)
	}
	if p, q := s.double.CountPath("/trade/v1/payment"), s.double.CountPath("/trade/v1/query"); p != 2 || q != 2 {
		t.Fatalf("QFPay saw %d payments and %d queries, want 2 and 2 (4 calls under a limit of 2)", p, q)
	}
}
