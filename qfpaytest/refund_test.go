package qfpaytest

import (
	"net/url"
	"strings"
	"testing"
)

func refundParams(syssn, outTradeNo, txamt string) url.Values {
	return url.Values{
		"syssn": {syssn}, "out_trade_no": {outTradeNo}, "txamt": {txamt}, "txdtm": {"2025-11-17 18:30:00"},
	}
}

// without returns p minus the named field.
func without(p url.Values, name string) url.Values {
	p.Del(name)
	return p
}

// withField returns p with the named field set to value.
func withField(p url.Values, name, value string) url.Values {
	p.Set(name, value)
	return p
}

func TestRefund(t *testing.T) {
	other := Merchant{AppCode: "APP2", ClientKey: "KEY2"}
	s := newTestServer(merchant, other)
	ts := live(t, s)
	paid := payLive(t, ts, payParams("P1", "800201"), merchant)
	foreign := payLive(t, ts, payParams("F1", "800201"), other)
	s.Script(Outcome{OutTradeNo: "PEND", Respcd: "1143"})
	pending, _ := call(t, ts, pathPayment, payParams("PEND", "800201"), merchant)["syssn"].(string)
	reversed := payLive(t, ts, payParams("GONE", "800201"), merchant)
	if resp := call(t, ts, pathReversal, cancelParams("syssn", reversed), merchant); resp["respcd"] != "0000" {
		t.Fatalf("reversal: %v", resp)
	}
	steps := []struct {
		name       string
		params     url.Values
		respcd     string
		paidCancel string // P1's cancel flag afterwards
	}{
		{"partial refund", refundParams(paid, "R1", "1000"), "0000", "5"},
		{"over the remaining amount", refundParams(paid, "R2", "1201"), "1272", "5"},
		{"reuses the payment's out_trade_no", refundParams(paid, "P1", "100"), "1102", "5"},
		{"reuses a refund's out_trade_no", refundParams(paid, "R1", "100"), "1102", "5"},
		{"unknown syssn", refundParams("20251117000000000000000999", "R3", "100"), "1268", "5"},
		{"other merchant's payment", refundParams(foreign, "R4", "100"), "1268", "5"},
		{"pending payment", refundParams(pending, "R5", "100"), "1261", "5"},
		{"reversed payment", refundParams(reversed, "R6", "100"), "1263", "5"},
		{"missing txamt", without(refundParams(paid, "R7", "1"), "txamt"), "1101", "5"},
		{"decimal txamt", refundParams(paid, "R8", "1.00"), "1101", "5"},
		{"bad txdtm", withField(refundParams(paid, "R9", "1"), "txdtm", "2025-11-17T18:30:00"), "1101", "5"},
		{"the rest", refundParams(paid, "R10", "1200"), "0000", "3"},
		{"nothing left", refundParams(paid, "R11", "1"), "1272", "3"},
	}
	for _, st := range steps {
		resp := call(t, ts, pathRefund, st.params, merchant)
		if resp["respcd"] != st.respcd {
			t.Fatalf("%s: respcd %v (%v), want %s", st.name, resp["respcd"], resp["resperr"], st.respcd)
		}
		if row := queryRow(t, ts, "syssn", paid); row["cancel"] != st.paidCancel || row["respcd"] != "0000" {
			t.Fatalf("%s: payment row %v, want cancel %s", st.name, row, st.paidCancel)
		}
	}
}

func TestRefundRecorded(t *testing.T) {
	rcv := newReceiver(t, answer{200, "SUCCESS"})
	s := notifyServer(t)
	ts := live(t, s)
	paid := payLive(t, ts, payParams("P1", "801512"), merchant)
	s.SetNotifyURL(rcv.URL) // after the payment: only the refund is notified
	params := refundParams(paid, "R1", "700")
	params.Set("udid", "till-2")
	resp := call(t, ts, pathRefund, params, merchant)
	refund, _ := resp["syssn"].(string)
	want := map[string]any{
		"respcd": "0000", "resperr": "success", "orig_syssn": paid, "out_trade_no": "R1",
		"txamt": "700", "txcurrcd": "HKD", "pay_type": "801512", "txdtm": "2025-11-17 18:30:00",
		"sysdtm": "2025-11-17 18:00:05", "udid": "till-2",
	}
	for k, v := range want {
		if resp[k] != v {
			t.Errorf("answer %s = %v, want %v", k, resp[k], v)
		}
	}
	if _, ok := resp["pay_url"]; ok || len(refund) != 26 || refund == paid {
		t.Fatalf("answer %v", resp)
	}
	for _, id := range []struct{ name, value string }{{"syssn", refund}, {"out_trade_no", "R1"}} {
		row := queryRow(t, ts, id.name, id.value)
		if row["syssn"] != refund || row["order_type"] != "refund" || row["origssn"] != paid ||
			row["txamt"] != "700" || row["respcd"] != "0000" || row["cancel"] != "0" {
			t.Errorf("refund row by %s = %v", id.name, row)
		}
	}
	if row := queryRow(t, ts, "syssn", paid); row["order_type"] != "payment" || row["cancel"] != "5" || row["origssn"] != nil {
		t.Errorf("payment row = %v", row)
	}
	if resp := call(t, ts, pathRefund, refundParams(refund, "R2", "100"), merchant); resp["respcd"] != "1136" {
		t.Errorf("refund of a refund: %v", resp)
	}
	ds, err := s.WaitDeliveries(waitCtx(t), 1)
	waitIdle(t, s)
	if err != nil || len(ds) != 1 || ds[0].Syssn != refund || ds[0].NotifyType != "refund" ||
		!strings.Contains(string(ds[0].Body), `"out_trade_no": "R1"`) {
		t.Fatalf("deliveries %+v, %v", ds, err)
	}
}
