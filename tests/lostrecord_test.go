package tests

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestLostRecordIsNotResent: the default file store records QFPay's
// answer without delaying it, so a crash can lose that record. The fault
// build drops every such record (QFSIGN_FAULT_DROP_DEFERRED): the payment
// is answered, its retry finds the order in flight, and after kill -9 and
// a restart on the release build the retry is still not sent. QFPay sees
// the payment once (docs/store.md, "What is on disk when").
func TestLostRecordIsNotResent(t *testing.T) {
	r := newRestartSetup(t)
	r.bin = faultBinary(t)
	r.env = append(r.env, "QFSIGN_FAULT_DROP_DEFERRED=1")
	first, out := r.start(t)
	otn := r.otn("lost")
	if rep := r.pay(t, payForm(otn, 1500)); rep.status != http.StatusOK || rep.field("respcd") != "0000" {
		t.Fatalf("payment: %+v", rep)
	}
	if !out.WaitFor("a record was not written", 10*time.Second) {
		t.Fatalf("no lost-record log line; output:\n%s", tail(out.String(), 2000))
	}
	if rep := r.pay(t, payForm(otn, 1500)); rep.status != http.StatusConflict || rep.field("rule") != "in_progress" ||
		rep.retry == "" || !strings.Contains(rep.field("error"), "due within "+rep.retry+" s") {
		t.Fatalf("retry after the lost record: %+v, want 409 in_progress saying how long (Retry-After)", rep)
	}
	first.kill()

	r.bin, r.env = "", r.env[:len(r.env)-1]
	r.start(t)
	if rep := r.pay(t, payForm(otn, 1500)); rep.status != http.StatusConflict || rep.field("rule") != "in_progress" {
		t.Fatalf("retry after restart: %+v, want 409 in_progress", rep)
	}
	if p := r.double.CountPath("/trade/v1/payment"); p != 1 {
		t.Fatalf("QFPay saw %d payments, want 1", p)
	}
}
