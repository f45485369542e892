package qfpaytest

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// TestPersistentLedger: a double restarted on its ledger file listens on
// the same address, still serves the old checkout page, answers queries
// and refunds for old orders, and numbers new syssns after the old ones.
func TestPersistentLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	first, err := StartPersistent(path, "", merchant)
	if err != nil {
		t.Fatal(err)
	}
	first.SetCheckoutURL(first.URL)
	_, paid := send(t, first.Server, signed(t, pathPayment, payParams("P-1", "800101"), merchant))
	_, online := send(t, first.Server, signed(t, pathPayment, payParams("P-2", "801101"), merchant))
	payURL, _ := online["pay_url"].(string)
	if paid["respcd"] != "0000" || !strings.HasPrefix(payURL, first.URL+"/checkout/") {
		t.Fatalf("payments: %v %v", paid, online)
	}
	if _, err := StartPersistent(path, ""); !errors.Is(err, ErrLedgerLocked) {
		t.Fatalf("a second owner: %v", err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	again, err := StartPersistent(path, "", merchant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = again.Close() })
	again.SetCheckoutURL(again.URL)
	if again.URL != first.URL {
		t.Fatalf("address %s after restart, was %s", again.URL, first.URL)
	}
	resp, err := http.PostForm(payURL, url.Values{"action": {actionPay}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, q := send(t, again.Server, signed(t, pathQuery, url.Values{"out_trade_no": {"P-1,P-2"}}, merchant))
	rows, _ := q["data"].([]any)
	if len(rows) != 2 || rows[0].(map[string]any)["respcd"] != "0000" || rows[1].(map[string]any)["respcd"] != "0000" {
		t.Fatalf("query after restart (P-2 paid on its old page): %v", q)
	}
	_, dup := send(t, again.Server, signed(t, pathPayment, payParams("P-1", "800101"), merchant))
	_, next := send(t, again.Server, signed(t, pathPayment, payParams("P-3", "800101"), merchant))
	if dup["respcd"] != "1102" || next["syssn"].(string) <= online["syssn"].(string) {
		t.Fatalf("after restart: reused out_trade_no %v; new syssn %v after %v", dup["respcd"], next["syssn"], online["syssn"])
	}
}
