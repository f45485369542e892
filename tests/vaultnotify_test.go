package tests

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestNotificationAfterKeyRotation: QFPay signs notifications with the
// rotated key at once, before the gateway's next refresh. A signature
// mismatch makes the gateway fetch the key again (once: a forged
// notification right after gets no second Vault read) and the genuine
// notification is forwarded and acknowledged. Found by the fault
// campaign (notify-stale-key).
func TestNotificationAfterKeyRotation(t *testing.T) {
	s, app, notify, body := startVaultNotify(t)
	if resp, b := notify(body("20261201000000000000001"), vaultKey1); resp.StatusCode != 200 || string(b) != "SUCCESS" {
		t.Fatalf("before rotation: %d %q", resp.StatusCode, b)
	}
	reads := func() int { return s.e.CallsPrefix("GET /v1/" + s.e.Mount + "/data/") }
	before := reads()
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey2})
	if resp, b := notify(body("20261201000000000000002"), vaultKey2); resp.StatusCode != 200 || string(b) != "SUCCESS" {
		t.Fatalf("signed with the rotated key: QFPay got %d %q, want SUCCESS", resp.StatusCode, b)
	}
	if resp, _ := notify(body("20261201000000000000003"), "LEAKCANARY-forged-key"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged: %d, want 401", resp.StatusCode)
	}
	if got := reads() - before; got != 1 {
		t.Errorf("Vault reads after the rotation: %d, want 1 (the mismatch's refetch; a forgery right after costs none)", got)
	}
	if got, _ := app.received(); len(got) != 2 {
		t.Errorf("the application got %d notifications, want 2", len(got))
	}
}

// TestForgedNotificationDoesNotHoldBack1108: anyone can send a forged
// notification, and each makes the gateway re-read the key; that must
// not spend the 1108 self-heal's own allowance. A forgery just before a
// rotation, then a payment: it is signed again with the rotated key, not
// answered 1108. Found by the fault campaign.
func TestForgedNotificationDoesNotHoldBack1108(t *testing.T) {
	s, _, notify, body := startVaultNotify(t)
	if resp, _ := notify(body("20261201000000000000011"), "LEAKCANARY-forged-key"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("forged: %d, want 401", resp.StatusCode)
	}
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey2})
	s.up.double.AddMerchant(qfpaytest.Merchant{AppCode: vaultApp1, ClientKey: vaultKey2})
	if code, respcd, err := s.tryPay(); err != nil || code != http.StatusOK || respcd != "0000" {
		t.Fatalf("payment after a forgery and a rotation: %d %s %v, want 0000", code, respcd, err)
	}
}

// startVaultNotify runs a gateway for a Vault merchant (refresh 1h, so
// only on-demand fetches see a rotation) with payments and
// notifications; notify posts a body signed with a key.
func startVaultNotify(t *testing.T) (*vaultSetup, *application, func(body, key string) (*http.Response, []byte), func(syssn string) string) {
	t.Helper()
	s := newVaultSetup(t)
	app := newApplication(t)
	merchants := fmt.Sprintf(`vault {
			address %s
			refresh 1h
			auth token {env.QFSIGN_TEST_VAULT_TOKEN}
		}
		merchant default {
			vault %s/qfpay/demo
		}`, s.e.Addr, s.e.Mount)
	s.gw = startGateway(t, s.up.URL, merchants, `route /qfpay/notify {
		qfpay_notify default
		reverse_proxy `+strings.TrimPrefix(app.URL, "http://")+`
	}
	route /trade/v1/* {
		qfpay_gateway default
	}`)
	// Keys load after the server starts: a notification before that is
	// 503 key_unavailable, not the answer these tests are about.
	if len(s.gw.waitLogLines(t, "key loaded")) == 0 {
		t.Fatal("the merchant's key was not loaded within 5 s")
	}
	notify := func(body, key string) (*http.Response, []byte) {
		return s.gw.post(t, "/qfpay/notify", body, "X-QF-SIGN", md5Upper(body+key), "Content-Type", "application/json")
	}
	body := func(syssn string) string {
		return `{"status":"1","notify_type":"payment","pay_type":"801101","syssn":"` + syssn +
			`","out_trade_no":"ROT-` + s.run + `","txamt":"1500","txcurrcd":"HKD","respcd":"0000"}`
	}
	return s, app, notify, body
}
