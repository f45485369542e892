package exchange

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

// fakeClock advances only when waited on.
type fakeClock struct{ now time.Time }

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// reply is one scripted answer of the fake QFPay.
type reply struct {
	status int
	body   string
	err    error
}

func ok(body string) reply { return reply{status: http.StatusOK, body: body} }

var (
	dialFailed = fmt.Errorf("%w: dial tcp: connection refused", ErrNotSent)
	connReset  = errors.New("read: connection reset by peer")
)

// fakeQFPay answers payments and queries from scripts and records what
// it was sent.
type fakeQFPay struct {
	mu       sync.Mutex
	payments []reply
	queries  []reply
	sent     []*Request
}

func (f *fakeQFPay) send(_ context.Context, req *Request) (*Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, req)
	script := &f.payments
	if req.Path == signer.QueryEndpoint.Path {
		script = &f.queries
	}
	if len(*script) == 0 {
		return nil, errors.New("fake QFPay: no scripted answer")
	}
	r := (*script)[0]
	if len(*script) > 1 {
		*script = (*script)[1:]
	}
	if r.err != nil {
		return nil, r.err
	}
	return &Response{Status: r.status, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(r.body)}, nil
}

func (f *fakeQFPay) count(path string) int {
	n := 0
	for _, r := range f.sent {
		if r.Path == path {
			n++
		}
	}
	return n
}

// failingStore fails the named operations.
type failingStore struct {
	store.Store
	fail map[string]error
}

func (s failingStore) Claim(ctx context.Context, k, v string, ttl time.Duration) (bool, error) {
	if err := s.fail["claim"]; err != nil {
		return false, err
	}
	return s.Store.Claim(ctx, k, v, ttl)
}

func (s failingStore) Get(ctx context.Context, k string) (string, bool, error) {
	if err := s.fail["get"]; err != nil {
		return "", false, err
	}
	return s.Store.Get(ctx, k)
}

type countingEvents struct{ store, pending []string }

func (e *countingEvents) StoreError(op string)  { e.store = append(e.store, op) }
func (e *countingEvents) Pending(result string) { e.pending = append(e.pending, result) }

func mustCreds(t testing.TB, key, mchid string) *keys.Credentials {
	t.Helper()
	c, err := keys.NewCredentials("APP", key, mchid, "v-"+key)
	if err != nil {
		t.Fatal(err)
	}
	return &c
}

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// newExchange is a merchant route over a memory store, the fake QFPay
// and a fake clock.
func newExchange(t testing.TB, q *fakeQFPay) (*Exchange, *fakeClock, *countingEvents) {
	clock, ev := &fakeClock{now: epoch}, &countingEvents{}
	creds := mustCreds(t, "key-1", "")
	x := &Exchange{Merchant: "shop", Store: store.NewMemory(0), SignType: signer.MD5, Sender: q.send,
		Credentials: func() (*keys.Credentials, error) { return creds, nil }, Clock: clock, Events: ev}
	x.Init()
	return x, clock, ev
}

// payment is a validated payment for out_trade_no otn.
func payment(t testing.TB, x *Exchange, otn, amount string) *Txn {
	creds, _ := x.Credentials()
	p := signer.Params{}.Set("out_trade_no", otn).Set("txamt", amount).Set("txcurrcd", "HKD").Set("pay_type", "801101")
	return &Txn{Endpoint: signer.PaymentEndpoint, Params: p, Creds: creds}
}

// run is the handler's pipeline without Caddy: guard, sign, send,
// classify, record.
func run(ctx context.Context, x *Exchange, t *Txn) (Decision, *Result) {
	d := x.Guard(ctx, t)
	switch d.Action {
	case Refuse, Replay:
		return d, nil
	case Resolve:
		res := x.AnswerByQuery(ctx, t)
		x.Record(ctx, t, res)
		return d, res
	}
	x.Sign(t)
	res := x.Send(ctx, t)
	x.Classify(ctx, t, res)
	x.Record(ctx, t, res)
	return d, res
}

func rowAnswer(otn, respcd string) string {
	return `{"respcd":"0000","data":[{"out_trade_no":"` + otn + `","respcd":"` + respcd + `","syssn":"S9","txamt":"1500"}]}`
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
