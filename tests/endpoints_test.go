package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every trade endpoint through the gateway: valid calls reach the QFPay
// double (which verifies the signature on its own code path), invalid
// ones are refused with the field and rule and reach nothing.
func TestTradeEndpoints(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "", "")
	pay := s.pay(t, payForm(s.otn("orig"), 1500))
	cpm := s.pay(t, payForm(s.otn("orig2"), 800))
	third := s.pay(t, payForm(s.otn("orig3"), 700))
	if pay.field("respcd") != "0000" || cpm.field("respcd") != "0000" || third.field("respcd") != "0000" {
		t.Fatalf("payments: %+v %+v %+v", pay, cpm, third)
	}
	syssn, syssn2 := pay.field("syssn"), cpm.field("syssn")
	tests := []struct {
		name, method, path, form string
		status                   int
		want                     string // respcd, or field/rule of a refusal
	}{
		{"query", "POST", "/trade/v1/query", "out_trade_no=" + s.otn("orig"), 200, "0000"},
		{"query bad page_size", "POST", "/trade/v1/query", "page_size=500", 400, "page_size/range"},
		{"refund", "POST", "/trade/v1/refund", fmt.Sprintf("syssn=%s&out_trade_no=%s&txamt=500", syssn, s.otn("refund")), 200, "0000"},
		{"refund reusing the payment's out_trade_no", "POST", "/trade/v1/refund", fmt.Sprintf("syssn=%s&out_trade_no=%s&txamt=500", syssn, s.otn("orig")), 409, "out_trade_no/reused"},
		{"refund zero", "POST", "/trade/v1/refund", fmt.Sprintf("syssn=%s&out_trade_no=%s&txamt=0", syssn, s.otn("r0")), 400, "txamt/positive"},
		{"refund without syssn", "POST", "/trade/v1/refund", "out_trade_no=" + s.otn("r1") + "&txamt=5", 400, "syssn/required"},
		{"reversal", "POST", "/trade/v1/reversal", fmt.Sprintf("syssn=%s&txamt=800", syssn2), 200, "0000"},
		{"reversal without ids", "POST", "/trade/v1/reversal", "txamt=800", 400, "syssn/required"},
		{"close by GET query string", "GET", "/trade/v1/close", fmt.Sprintf("out_trade_no=%s&txamt=700", s.otn("orig3")), 200, "0000"},
		{"close without txamt", "GET", "/trade/v1/close", "out_trade_no=" + s.otn("orig"), 400, "txamt/required"},
		{"close by POST", "POST", "/trade/v1/close", "out_trade_no=x&txamt=1", 405, "/method"},
		{"add_note", "POST", "/trade/v1/add_note", fmt.Sprintf("syssn=%s&note=gift+wrap", syssn), 200, "0000"},
		{"add_note with caller code", "POST", "/trade/v1/add_note", fmt.Sprintf("syssn=%s&note=x&code=OTHER", syssn), 400, "code/forbidden"},
		{"add_note too long", "POST", "/trade/v1/add_note", fmt.Sprintf("syssn=%s&note=%s", syssn, strings.Repeat("x", 201)), 400, "note/max_length"},
		{"unknown path", "POST", "/trade/v1/unknown", "a=b", 404, "/path"},
		{"payment by GET", "GET", "/trade/v1/payment", "txamt=1", 405, "/method"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.double.Count()
			r := s.send(t, tt.method, tt.path, tt.form)
			got := r.field("respcd")
			if r.status != 200 {
				got = r.field("field") + "/" + r.field("rule")
			}
			if r.status != tt.status || got != tt.want {
				t.Fatalf("got %d %q, want %d %q: %s", r.status, got, tt.status, tt.want, r.body)
			}
			reached := s.double.Count() - before
			if wantReach := map[bool]int{true: 1, false: 0}[tt.status == 200]; reached != wantReach {
				t.Fatalf("%d requests reached QFPay, want %d", reached, wantReach)
			}
		})
	}
}

// The allow-list narrows what a route signs.
func TestEndpointAllowList(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "endpoints /trade/v1/payment /trade/v1/query", "")
	if r := s.send(t, "POST", "/trade/v1/refund", "syssn=1&out_trade_no=x&txamt=1"); r.status != 404 || r.field("rule") != "path" {
		t.Fatalf("refund outside the allow-list: %+v", r)
	}
	if r := s.pay(t, payForm(s.otn("allowed"), 1500)); r.field("respcd") != "0000" {
		t.Fatalf("payment inside the allow-list: %+v", r)
	}
	if n := s.double.Count(); n != 1 {
		t.Fatalf("QFPay saw %d requests, want 1", n)
	}
}

// Rate limit: the excess is answered locally with 429 and Retry-After;
// with Redis the limit holds across replicas.
func TestRateLimit(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		s := newGuardSetup(t, store, "", "rate_limit 0 5")
		// A minute window boundary inside the test would reset the count.
		if sec := time.Now().Second(); sec >= 55 {
			time.Sleep(time.Duration(61-sec) * time.Second)
		}
		var limited []reply
		for i := range 8 {
			r := s.send(t, "POST", "/trade/v1/query", "out_trade_no="+s.otn(fmt.Sprint(i)))
			if r.status == http.StatusTooManyRequests {
				limited = append(limited, r)
			}
		}
		if len(limited) != 3 || limited[0].field("rule") != "rate_limit" {
			t.Fatalf("limited %d of 8 with 5/min: %+v", len(limited), limited)
		}
		if n := s.double.Count(); n != 5 {
			t.Fatalf("QFPay saw %d requests, want 5", n)
		}
	})
}
