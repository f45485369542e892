package tests

import (
	"net/http"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestNotAtQFPayIsTerminal: a payment whose answer is lost and that QFPay
// never recorded is answered, on retry, 502 outcome_unknown with
// Retry-After until not_at_qfpay_after from its record, then 404
// not_at_qfpay; QFPay sees the payment once, then only queries.
func TestNotAtQFPayIsTerminal(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "not_at_qfpay_after 1s", "")
	otn := s.otn("never-charged")
	// QFPay refuses it without recording it, and the answer is lost.
	s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Respcd: "1108", ResetConn: true})
	form := payForm(otn, 1500)
	if rep := s.pay(t, form); rep.status != http.StatusBadGateway || rep.field("rule") != "outcome_unknown" {
		t.Fatalf("the lost answer: %+v", rep)
	}
	rep := s.pay(t, form)
	if rep.status != http.StatusBadGateway || rep.field("rule") != "outcome_unknown" || rep.retry != "1" {
		t.Fatalf("a retry within the grace period: %+v, want 502 outcome_unknown with Retry-After 1", rep)
	}
	deadline := time.Now().Add(10 * time.Second)
	for rep.status != http.StatusNotFound {
		if time.Now().After(deadline) || rep.field("rule") != "outcome_unknown" {
			t.Fatalf("no 404 not_at_qfpay within 10s: %+v", rep)
		}
		time.Sleep(200 * time.Millisecond) // the grace period is wall-clock time
		rep = s.pay(t, form)
	}
	if rep.field("rule") != "not_at_qfpay" || rep.field("field") != "out_trade_no" {
		t.Fatalf("after the grace period: %+v", rep)
	}
	if n := s.double.CountPath("/trade/v1/payment"); n != 1 {
		t.Fatalf("QFPay saw %d payments, want 1", n)
	}
}
