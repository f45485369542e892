package tests

import (
	"net/http"
	"strings"
	"testing"
)

// TestNotificationAckFollowsQFPayRule: only 2xx with the body SUCCESS
// acknowledges. Every other answer an integration gives leaves QFPay
// without SUCCESS (so it retries), releases the claim, and the retry is
// forwarded again; once the application says SUCCESS, QFPay gets it and
// later retries are not forwarded.
func TestNotificationAckFollowsQFPayRule(t *testing.T) {
	app := newApplication(t)
	gw := notifyGateway(t, loadNotifyVector(t), app)
	tests := []struct {
		name   string
		syssn  string
		status int
		answer string
		hangUp bool
	}{
		// A ThinkPHP controller answers 200 FAIL when its own check fails.
		{name: "ThinkPHP 200 FAIL", syssn: "20200413000300020087100001", status: 200, answer: "FAIL"},
		// A Magento module answers 200 "sign error".
		{name: "Magento 200 sign error", syssn: "20200413000300020087100002", status: 200, answer: "sign error"},
		// Odoo's pos_qfpay controller returns nothing (empty 200) on a bad signature.
		{name: "Odoo empty 200", syssn: "20200413000300020087100003", status: 200, answer: ""},
		// QFPay's PHP notify sample echoes lower-case "success": not QFPay's SUCCESS.
		{name: "QFPay PHP sample lower-case success", syssn: "20200413000300020087100004", status: 200, answer: "success"},
		{name: "403 from a WAF", syssn: "20200413000300020087100005", status: 403, answer: "SUCCESS"},
		{name: "500 crash", syssn: "20200413000300020087100006", status: 500, answer: ""},
		{name: "no answer", syssn: "20200413000300020087100007", hangUp: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := withSyssn(loadNotifyVector(t), tt.syssn)
			before, _ := app.received()
			app.status.Store(int32(tt.status))
			app.answer.Store(tt.answer)
			app.hangUp.Store(tt.hangUp)
			resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
			if resp.StatusCode != http.StatusBadGateway || strings.Contains(string(body), "SUCCESS") {
				t.Fatalf("QFPay got %d %q, want 502 without SUCCESS", resp.StatusCode, body)
			}
			// QFPay's retry is forwarded again; now the application takes it.
			app.status.Store(http.StatusOK)
			app.answer.Store(" SUCCESS\n")
			app.hangUp.Store(false)
			resp, body = gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
			if resp.StatusCode != 200 || string(body) != "SUCCESS" {
				t.Fatalf("retry: QFPay got %d %q", resp.StatusCode, body)
			}
			// A later retry is acknowledged from the record, not forwarded.
			if resp, body = gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); string(body) != "SUCCESS" {
				t.Fatalf("duplicate: QFPay got %d %q", resp.StatusCode, body)
			}
			after, _ := app.received()
			if got := len(after) - len(before); got != 2 {
				t.Fatalf("application got %d deliveries, want 2 (refused, then the retry)", got)
			}
		})
	}
}

// TestNotificationAckStatus2xx: ack status_2xx keeps the earlier rule for
// applications written for qfsign: any 2xx acknowledges, others do not.
func TestNotificationAckStatus2xx(t *testing.T) {
	app := newApplication(t)
	v := withSyssn(loadNotifyVector(t), "20200413000300020087200001")
	gw := notifyGatewayWith(t, v, app.URL, "", "ack status_2xx")
	app.answer.Store("FAIL")
	app.status.Store(http.StatusInternalServerError)
	if resp, _ := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("500 answered %d", resp.StatusCode)
	}
	app.status.Store(http.StatusNoContent)
	if resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("204 under status_2xx: QFPay got %d %q", resp.StatusCode, body)
	}
}

// TestNotificationSignatureForwarding: X-QF-SIGN and X-QF-SIGNTYPE reach
// the application unchanged by default (with the exact body), and not at
// all under strip_signature; X-Qfsign-* are the gateway's either way.
func TestNotificationSignatureForwarding(t *testing.T) {
	for _, tt := range []struct {
		name, options, syssn string
		forwarded            bool
	}{
		{"default", "", "20200413000300020087300001", true},
		{"strip_signature", "strip_signature", "20200413000300020087300002", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := newApplication(t)
			v := withSyssn(loadNotifyVector(t), tt.syssn)
			gw := notifyGatewayWith(t, v, app.URL, "", tt.options)
			resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "X-QF-SIGNTYPE", "MD5",
				"Content-Type", "application/json", "X-Qfsign-Verified", "forged")
			if resp.StatusCode != 200 || string(body) != "SUCCESS" {
				t.Fatalf("QFPay got %d %q", resp.StatusCode, body)
			}
			bodies, hdrs := app.received()
			if len(bodies) != 1 || bodies[0] != v.Body {
				t.Fatalf("application got %d bodies, body unchanged: %v", len(bodies), len(bodies) == 1 && bodies[0] == v.Body)
			}
			h := hdrs[0]
			if got := h.Get("X-Qf-Sign") == v.MD5 && h.Get("X-Qf-Signtype") == "MD5"; got != tt.forwarded {
				t.Errorf("X-QF-SIGN %q, X-QF-SIGNTYPE %q; want forwarded = %v", h.Get("X-Qf-Sign"), h.Get("X-Qf-Signtype"), tt.forwarded)
			}
			if !tt.forwarded && (len(h.Values("X-Qf-Sign")) != 0 || len(h.Values("X-Qf-Signtype")) != 0) {
				t.Errorf("stripped headers still present: %v", h)
			}
			if h.Get("X-Qfsign-Verified") != "1" || h.Get("X-Qfsign-Merchant") != "hk" {
				t.Errorf("gateway headers: %v", h)
			}
		})
	}
}

// TestNotificationMchID: a merchant without a configured mchid takes a
// verified notification naming one (an agent's sub-merchant) and logs the
// mchid; a configured mchid that differs is still refused.
func TestNotificationMchID(t *testing.T) {
	app := newApplication(t)
	v := withSyssn(loadNotifyVector(t), "20200413000300020087400001")
	gw := notifyGatewayWith(t, v, app.URL, "", "")
	if resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5); resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("no mchid configured: QFPay got %d %q", resp.StatusCode, body)
	}
	if bodies, _ := app.received(); len(bodies) != 1 {
		t.Fatalf("application got %d", len(bodies))
	}
	if lines := gw.waitLogLines(t, `"msg":"notification"`, `"mchid":"ZaMVg12345"`, `"outcome":"forwarded"`); len(lines) != 1 {
		t.Fatalf("log lines with the mchid: %v", lines)
	}

	other := withSyssn(loadNotifyVector(t), "20200413000300020087400002")
	gw = notifyGatewayWith(t, other, app.URL, "mchid ZaMVg99999", "")
	resp, body := gw.post(t, "/qfpay/notify", other.Body, "X-QF-SIGN", other.MD5)
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"rule":"mismatch"`) {
		t.Fatalf("other mchid configured: QFPay got %d %s", resp.StatusCode, body)
	}
	if bodies, _ := app.received(); len(bodies) != 1 {
		t.Fatalf("mismatching notification forwarded: application got %d", len(bodies))
	}
}
