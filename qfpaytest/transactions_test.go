package qfpaytest

import (
	"net/http"
	"testing"
)

func TestTransactionsAndHolds(t *testing.T) {
	s := newTestServer()
	ts := live(t, s)
	s.Script(Outcome{OutTradeNo: "PEND", Respcd: "1143"})
	paid := payLive(t, ts, payParams("P1", "800201"), merchant)
	call(t, ts, pathPayment, payParams("PEND", "800201"), merchant)
	if resp := call(t, ts, pathRefund, refundParams(paid, "R1", "1000"), merchant); resp["respcd"] != "0000" {
		t.Fatalf("refund: %v", resp)
	}
	got := s.Transactions()
	want := []struct{ typ, out, amt, respcd, orig string }{
		{"payment", "P1", "2200", "0000", ""},
		{"payment", "PEND", "2200", "1143", ""},
		{"refund", "R1", "1000", "0000", paid},
	}
	if len(got) != len(want) {
		t.Fatalf("%d transactions: %+v", len(got), got)
	}
	for i, w := range want {
		g := got[i]
		if g.OrderType != w.typ || g.OutTradeNo != w.out || g.Txamt != w.amt || g.Respcd != w.respcd || g.OrigSyssn != w.orig || g.AppCode != merchant.AppCode {
			t.Errorf("transaction %d: %+v, want %+v", i, g, w)
		}
	}
	if got[0].Cancel != cancelPartial {
		t.Errorf("refunded payment's cancel flag %q", got[0].Cancel)
	}
	for out, want := range map[string]bool{"P1": true, "R1": true, "NEVER": false} {
		if s.Holds(merchant.AppCode, out) != want || s.Holds("OTHER", out) {
			t.Errorf("Holds(%s) != %v", out, want)
		}
	}
}

func TestVerifyRequestAndParams(t *testing.T) {
	s := newTestServer()
	ts := live(t, s)
	payLive(t, ts, payParams("V1", "800201"), merchant)
	req := clientRequest(t, ts.URL, http.MethodGet, pathClose, cancelParams("syssn", "x"), merchant)
	do(t, ts, req)
	reqs := s.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if err := VerifyRequest(r, merchant.ClientKey); err != nil {
			t.Errorf("%s %s: %v", r.Method, r.Path, err)
		}
		if err := VerifyRequest(r, "OTHERKEY"); err == nil {
			t.Errorf("%s %s verifies under another key", r.Method, r.Path)
		}
	}
	if p := Params(reqs[0]); p["out_trade_no"] != "V1" || p["txamt"] != "2200" {
		t.Errorf("payment params %v", p)
	}
	if p := Params(reqs[1]); p["syssn"] != "x" {
		t.Errorf("close params %v", p)
	}
	reqs[0].Body = []byte("a=1&a=2")
	if Params(reqs[0]) != nil || VerifyRequest(reqs[0], merchant.ClientKey) == nil {
		t.Error("a repeated parameter parses")
	}
}
