package exchange

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

// TestOutcomeDecidesTheRecord: QFPay's answer (or its absence) decides
// what the caller gets and whether the same out_trade_no is sent again
// (retryable), replayed (final) or answered by query (unknown).
func TestOutcomeDecidesTheRecord(t *testing.T) {
	for _, tt := range []struct {
		name     string
		first    reply
		outcome  Outcome
		rule     string // of the caller's refusal, "" for QFPay's answer
		next     Action // for the same out_trade_no afterwards
		payments int    // after the second attempt, when it is sent
	}{
		{"success", ok(`{"respcd":"0000","syssn":"S1"}`), Final, "", Replay, 1},
		{"failure is final", ok(`{"respcd":"1150"}`), Final, "", Replay, 1},
		{"risk is final", ok(`{"respcd":"1294"}`), Final, "", Replay, 1},
		{"pending", ok(`{"respcd":"1143"}`), Unknown, "", Resolve, 1},
		{"signature error", ok(`{"respcd":"1108"}`), Retryable, "", Forward, 2},
		{"congestion", ok(`{"respcd":"1297"}`), Retryable, "", Forward, 2},
		{"429", reply{status: http.StatusTooManyRequests, body: "slow down"}, Retryable, "", Forward, 2},
		{"502 from a proxy", reply{status: http.StatusBadGateway, body: "bad gateway"}, Unknown, "", Resolve, 1},
		{"500 whatever its body says", reply{status: 500, body: `{"respcd":"0000"}`}, Unknown, "", Resolve, 1},
		{"HTML", ok(`<html>maintenance</html>`), Unknown, "", Resolve, 1},
		{"dial failure", reply{err: dialFailed}, Retryable, RuleUnreachable, Forward, 2},
		{"reset after sending", reply{err: connReset}, Unknown, RuleOutcomeUnknown, Resolve, 1},
		{"answer too large", reply{err: fmt.Errorf("reading: %w", ErrAnswerTooLarge)}, Unknown, RuleUpstreamAnswer, Resolve, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQFPay{payments: []reply{tt.first}}
			x, _, _ := newExchange(t, q)
			ctx := context.Background()
			_, res := run(ctx, x, payment(t, x, "A-1", "1500"))
			rule := ""
			if res.Refusal != nil {
				rule = res.Refusal.Rule
			}
			if res.Outcome != tt.outcome || rule != tt.rule {
				t.Fatalf("outcome %v rule %q, want %v %q", res.Outcome, rule, tt.outcome, tt.rule)
			}
			again := payment(t, x, "A-1", "1500")
			d := x.Guard(ctx, again)
			if d.Action != tt.next {
				t.Fatalf("next action %v, want %v", d.Action, tt.next)
			}
			if d.Action == Forward {
				x.Sign(again)
				x.Send(ctx, again)
			}
			if n := q.count(signer.PaymentEndpoint.Path); n != tt.payments {
				t.Fatalf("QFPay saw %d payments, want %d", n, tt.payments)
			}
			if d.Action == Replay && d.Record.Body != tt.first.body {
				t.Fatalf("replayed %q, want QFPay's answer byte for byte", d.Record.Body)
			}
		})
	}
}

// TestGuard: the refusals and exceptions of the out_trade_no guard.
func TestGuard(t *testing.T) {
	ctx := context.Background()
	full := fmt.Errorf("put: %w", store.ErrFull)
	for _, tt := range []struct {
		name    string
		setup   func(x *Exchange, clock *fakeClock) // before the request under test
		otn     string
		amount  string
		action  Action
		rule    string
		order   string
		storeOp string // counted store error
		// retryAfter: the refusal's Retry-After, in seconds
		retryAfter int
	}{
		{name: "new", otn: "G-1", action: Forward, order: "new"},
		{name: "same number, other amount", setup: func(x *Exchange, _ *fakeClock) { claim(t, x, "G-1", "1500") },
			otn: "G-1", amount: "1600", action: Refuse, rule: RuleReused},
		{name: "in progress", setup: func(x *Exchange, _ *fakeClock) { claim(t, x, "G-1", "1500") },
			otn: "G-1", action: Refuse, rule: RuleInProgress, retryAfter: 120},
		{name: "in flight past its bound is resolved by query", setup: func(x *Exchange, c *fakeClock) {
			claim(t, x, "G-1", "1500")
			c.now = c.now.Add(inflightMax + time.Second)
		}, otn: "G-1", action: Resolve, order: "resolved_by_query"},
		{name: "in flight within resolve_pending's wait", setup: func(x *Exchange, c *fakeClock) {
			x.ResolveWait = 30 * time.Second
			claim(t, x, "G-1", "1500")
			c.now = c.now.Add(inflightMax + 10*time.Second)
		}, otn: "G-1", action: Refuse, rule: RuleInProgress, retryAfter: 20},
		{name: "unreadable record", setup: func(x *Exchange, _ *fakeClock) {
			_ = x.Store.Put(ctx, "order:shop:G-1", "garbage", time.Hour)
		}, otn: "G-1", action: Refuse, rule: RuleInProgress},
		{name: "store down refuses", setup: func(x *Exchange, _ *fakeClock) {
			x.Store = failingStore{x.Store, map[string]error{"claim": connReset}}
		}, otn: "G-1", action: Refuse, rule: RuleStore, storeOp: "claim"},
		{name: "store full refuses", setup: func(x *Exchange, _ *fakeClock) {
			x.Store = failingStore{x.Store, map[string]error{"claim": full}}
		}, otn: "G-1", action: Refuse, rule: RuleStore, storeOp: "claim"},
		{name: "store get fails", setup: func(x *Exchange, _ *fakeClock) {
			claim(t, x, "G-1", "1500")
			x.Store = failingStore{x.Store, map[string]error{"get": connReset}}
		}, otn: "G-1", action: Refuse, rule: RuleStore, storeOp: "get"},
		{name: "store down allowed", setup: func(x *Exchange, _ *fakeClock) {
			x.Store = failingStore{x.Store, map[string]error{"claim": connReset}}
			x.AllowUnguarded = true
		}, otn: "G-1", action: Forward, order: "unguarded", storeOp: "claim"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x, clock, ev := newExchange(t, &fakeQFPay{})
			if tt.setup != nil {
				tt.setup(x, clock)
			}
			amount := tt.amount
			if amount == "" {
				amount = "1500"
			}
			tx := payment(t, x, tt.otn, amount)
			d := x.Guard(ctx, tx)
			rule := ""
			if d.Refusal != nil {
				rule = d.Refusal.Rule
			}
			if tt.retryAfter != 0 && d.Refusal.RetryAfter != tt.retryAfter {
				t.Fatalf("Retry-After %d, want %d", d.Refusal.RetryAfter, tt.retryAfter)
			}
			if d.Action != tt.action || rule != tt.rule || tx.Order != tt.order {
				t.Fatalf("got %v %q order %q, want %v %q %q", d.Action, rule, tx.Order, tt.action, tt.rule, tt.order)
			}
			if tx.Guarded != (tt.order == "new" || tt.order == "resolved_by_query") {
				t.Fatalf("guarded %v for order %q", tx.Guarded, tt.order)
			}
			if tt.storeOp != "" && !slices.Equal(ev.store, []string{tt.storeOp}) {
				t.Fatalf("store errors %v, want %s", ev.store, tt.storeOp)
			}
			if d.Refusal != nil && tt.name == "store full refuses" && !contains(d.Refusal.Error, "full") {
				t.Fatalf("a full store is not named: %s", d.Refusal.Error)
			}
		})
	}
}

func claim(t *testing.T, x *Exchange, otn, amount string) {
	t.Helper()
	if d := x.Guard(context.Background(), payment(t, x, otn, amount)); d.Action != Forward {
		t.Fatalf("setup claim: %+v", d)
	}
}

// TestNoGuardForQueries: only endpoints with a unique out_trade_no are
// guarded; a query never touches the store.
func TestNoGuardForQueries(t *testing.T) {
	x, _, _ := newExchange(t, &fakeQFPay{})
	x.Store = failingStore{x.Store, map[string]error{"claim": connReset, "get": connReset}}
	creds, _ := x.Credentials()
	tx := &Txn{Endpoint: signer.QueryEndpoint, Params: signer.Params{}.Set("out_trade_no", "Q"), Creds: creds}
	if d := x.Guard(context.Background(), tx); d.Action != Forward || tx.Guarded || tx.Order != "" {
		t.Fatalf("%+v guarded %v order %q", d, tx.Guarded, tx.Order)
	}
}

// TestReleaseFreesTheNumber: a claim given up before sending (rate
// limit) lets the same out_trade_no through again.
func TestReleaseFreesTheNumber(t *testing.T) {
	x, _, _ := newExchange(t, &fakeQFPay{})
	ctx := context.Background()
	tx := payment(t, x, "R-1", "1500")
	x.Guard(ctx, tx)
	x.Release(ctx, tx)
	if d := x.Guard(ctx, payment(t, x, "R-1", "1500")); d.Action != Forward {
		t.Fatalf("after release: %+v", d)
	}
}

// TestResignAfter1108: a 1108 is signed again and sent once more only
// with a rotated key of the same mchid.
func TestResignAfter1108(t *testing.T) {
	for _, tt := range []struct {
		name     string
		refetch  func(old *keys.Credentials) (*keys.Credentials, error)
		payments int
		resent   bool
	}{
		{"rotated key", func(*keys.Credentials) (*keys.Credentials, error) { return mustCreds(t, "key-2", ""), nil }, 2, true},
		{"same key", func(old *keys.Credentials) (*keys.Credentials, error) { return old, nil }, 1, false},
		{"other mchid", func(*keys.Credentials) (*keys.Credentials, error) { return mustCreds(t, "key-2", "M2"), nil }, 1, false},
		{"fetch fails", func(*keys.Credentials) (*keys.Credentials, error) { return nil, keys.ErrNoKey }, 1, false},
		{"static key", nil, 1, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQFPay{payments: []reply{ok(`{"respcd":"1108"}`), ok(`{"respcd":"0000"}`)}}
			x, _, _ := newExchange(t, q)
			old, _ := x.Credentials()
			if tt.refetch != nil {
				x.Refetch = func(kid string) (*keys.Credentials, error) {
					if kid != old.KID() {
						t.Errorf("refetch for kid %q, want the one that failed", kid)
					}
					return tt.refetch(old)
				}
			}
			tx := payment(t, x, "S-1", "1500")
			_, res := run(context.Background(), x, tx)
			if len(q.sent) != tt.payments || tx.Resent != tt.resent {
				t.Fatalf("sent %d, resent %v; want %d %v", len(q.sent), tx.Resent, tt.payments, tt.resent)
			}
			if !tt.resent {
				if res.Answer.Respcd != "1108" {
					t.Fatalf("the 1108 was not passed on: %+v", res.Answer)
				}
				return
			}
			if q.sent[0].Sig == q.sent[1].Sig || tx.KID == old.KID() || res.Answer.Respcd != "0000" {
				t.Fatalf("resent with the old signature or kid")
			}
			p, _ := signer.ParseForm(q.sent[1].Body, nil)
			if !signer.Verify(p, mustCreds(t, "key-2", "").Key, signer.MD5, q.sent[1].Sig) {
				t.Fatal("the second request is not signed with the rotated key")
			}
		})
	}
}
