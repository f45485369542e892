package exchange

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/qfsign/qfsign/signer"
)

// TestResolvePending: a pending or lost answer is resolved by querying
// QFPay every interval until final or the wait is spent; never resent.
func TestResolvePending(t *testing.T) {
	pending, final := rowAnswer("P-1", "1143"), rowAnswer("P-1", "0000")
	for _, tt := range []struct {
		name     string
		wait     time.Duration
		payment  reply
		queries  []reply
		respcd   string // the caller's answer
		resolved bool
		outcome  Outcome
		nQueries int
		events   []string
		waited   time.Duration
	}{
		{"pending, final on the second query", 20 * time.Second, ok(`{"respcd":"1143","pay_url":"https://x"}`),
			[]reply{ok(pending), ok(final)}, "0000", true, Final, 2, []string{"final"}, 3 * time.Second},
		{"still pending at the deadline", 7 * time.Second, ok(`{"respcd":"1143"}`),
			[]reply{ok(pending)}, "1143", true, Unknown, 3, []string{"still_pending"}, 6 * time.Second},
		{"lost answer, final by query", 20 * time.Second, reply{err: connReset},
			[]reply{ok(final)}, "0000", true, Final, 1, []string{"final"}, 0},
		{"query fails: the pending answer stands", time.Second, ok(`{"respcd":"1143"}`),
			[]reply{{status: http500, body: "down"}}, "1143", false, Unknown, 1, []string{"error"}, 0},
		{"no row yet", time.Second, ok(`{"respcd":"1143"}`),
			[]reply{ok(`{"respcd":"0000","data":[]}`)}, "1143", false, Unknown, 1, []string{"error"}, 0},
		{"never sent: nothing to resolve", 20 * time.Second, reply{err: dialFailed},
			nil, "", false, Retryable, 0, nil, 0},
		{"resolve_pending off", 0, ok(`{"respcd":"1143"}`), []reply{ok(final)}, "1143", false, Unknown, 0, nil, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQFPay{payments: []reply{tt.payment}, queries: tt.queries}
			x, clock, ev := newExchange(t, q)
			x.ResolveWait = tt.wait
			tx := payment(t, x, "P-1", "1500")
			_, res := run(context.Background(), x, tx)
			if res.Answer.Respcd != tt.respcd || res.Resolved != tt.resolved || res.Outcome != tt.outcome {
				t.Fatalf("respcd %q resolved %v outcome %v, want %q %v %v", res.Answer.Respcd, res.Resolved, res.Outcome, tt.respcd, tt.resolved, tt.outcome)
			}
			if tx.Queries != tt.nQueries || q.count(signer.QueryEndpoint.Path) != tt.nQueries || q.count(signer.PaymentEndpoint.Path) != 1 {
				t.Fatalf("queries %d (QFPay saw %d), payments %d", tx.Queries, q.count(signer.QueryEndpoint.Path), q.count(signer.PaymentEndpoint.Path))
			}
			if !slices.Equal(ev.pending, tt.events) || clock.now.Sub(epoch) != tt.waited {
				t.Fatalf("events %v waited %v, want %v %v", ev.pending, clock.now.Sub(epoch), tt.events, tt.waited)
			}
			if tt.name == "pending, final on the second query" && !contains(string(res.Body), `"pay_url":"https://x"`) {
				t.Fatalf("the payment answer was not kept: %s", res.Body)
			}
		})
	}
}

const http500 = 500

// TestAnswerByQuery: a retry of an unknown order is answered from
// QFPay's record; while QFPay has none, "ask again" with Retry-After until
// NotAtQFPayAfter from the claim, then 404 not_at_qfpay (counted); when
// QFPay cannot be asked, outcome_unknown. Never resent.
func TestAnswerByQuery(t *testing.T) {
	ctx := context.Background()
	noRow := ok(`{"respcd":"0000","data":[]}`)
	q := &fakeQFPay{payments: []reply{{err: connReset}}, queries: []reply{noRow}}
	x, clock, ev := newExchange(t, q)
	run(ctx, x, payment(t, x, "U-1", "1500"))

	d, res := run(ctx, x, payment(t, x, "U-1", "1500"))
	if d.Action != Resolve || res.Refusal.Rule != RuleOutcomeUnknown || res.Refusal.RetryAfter != 600 || res.Outcome != Keep || res.Class() != "upstream_error" {
		t.Fatalf("no row yet: %v %+v %+v", d.Action, res, res.Refusal)
	}
	clock.now = clock.now.Add(x.NotAtQFPayAfter)
	q.queries = []reply{noRow}
	d, res = run(ctx, x, payment(t, x, "U-1", "1500"))
	if d.Action != Resolve || res.Refusal != notAtQFPay || res.Refusal.Status != 404 || res.Outcome != Keep || !slices.Contains(ev.pending, RuleNotAtQFPay) {
		t.Fatalf("no row after the grace period: %v %+v events %v", d.Action, res, ev.pending)
	}
	q.queries = []reply{{status: http500, body: "{}"}}
	if _, res = run(ctx, x, payment(t, x, "U-1", "1500")); res.Refusal != noRecord {
		t.Fatalf("QFPay cannot be asked: %+v", res)
	}
	q.queries = []reply{ok(rowAnswer("U-1", "0000"))}
	d, res = run(ctx, x, payment(t, x, "U-1", "1500"))
	if d.Action != Resolve || !res.Resolved || res.Answer.Respcd != "0000" || res.Outcome != Final {
		t.Fatalf("row: %v %+v", d.Action, res)
	}
	if d := x.Guard(ctx, payment(t, x, "U-1", "1500")); d.Action != Replay || !contains(d.Record.Body, `"syssn":"S9"`) {
		t.Fatalf("after the final row: %+v", d)
	}
	if n := q.count(signer.PaymentEndpoint.Path); n != 1 {
		t.Fatalf("QFPay saw %d payments", n)
	}
}

// TestVerifyResponse: log counts a mismatch and passes the answer on;
// enforce refuses it and keeps the order unknown.
func TestVerifyResponse(t *testing.T) {
	for _, tt := range []struct {
		name    string
		enforce bool
		rule    string
		outcome Outcome
	}{
		{"log", false, "", Final},
		{"enforce", true, RuleResponseSignature, Unknown},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQFPay{payments: []reply{ok(`{"respcd":"0000"}`)}}
			x, _, _ := newExchange(t, q)
			checked := 0
			x.Verify = func(r *Response) bool { checked++; return r.Status != 200 }
			x.Enforce = tt.enforce
			_, res := run(context.Background(), x, payment(t, x, "V-1", "1500"))
			rule := ""
			if res.Refusal != nil {
				rule = res.Refusal.Rule
			}
			if checked != 1 || rule != tt.rule || res.Outcome != tt.outcome {
				t.Fatalf("checked %d rule %q outcome %v", checked, rule, res.Outcome)
			}
		})
	}
}

// TestQueryRequest: the query is signed for the merchant, with its mchid.
func TestQueryRequest(t *testing.T) {
	creds := mustCreds(t, "key-1", "M1")
	req := QueryRequest(creds, signer.SHA256, "O-1")
	p, _ := signer.ParseForm(req.Body, nil)
	if v, _ := p.Get("mchid"); v != "M1" || req.SignType != "SHA256" || !signer.Verify(p, creds.Key, signer.SHA256, req.Sig) {
		t.Fatalf("%+v", req)
	}
}

// TestNotAtQFPayNotAcrossAMonth: QFPay's query searches one calendar
// month, so an order claimed at 23:55 on the last day (Hong Kong time)
// and still without a row after the grace period is not declared never
// charged in the next month: it stays 502 outcome_unknown, never 404.
func TestNotAtQFPayNotAcrossAMonth(t *testing.T) {
	ctx := context.Background()
	noRow := ok(`{"respcd":"0000","data":[]}`)
	q := &fakeQFPay{payments: []reply{{err: connReset}}, queries: []reply{noRow}}
	x, clock, _ := newExchange(t, q)
	clock.now = time.Date(2026, 11, 30, 23, 55, 0, 0, qfpayZone)
	run(ctx, x, payment(t, x, "U-2", "1500"))
	clock.now = clock.now.Add(x.NotAtQFPayAfter + time.Minute)
	if _, res := run(ctx, x, payment(t, x, "U-2", "1500")); res.Refusal != noRecord {
		t.Fatalf("no row in the next month: %+v, want outcome_unknown", res.Refusal)
	}
	if n := q.count(signer.PaymentEndpoint.Path); n != 1 {
		t.Fatalf("QFPay saw %d payments", n)
	}
}
