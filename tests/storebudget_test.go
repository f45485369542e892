package tests

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestStoreBudgetRefusesNewOrders: a loop of new orders fills the file
// store up to max_bytes, then gets 503 store with nothing sent, while an
// order already recorded is still replayed; the gauges the alert reads
// are exported (issue 22.6).
func TestStoreBudgetRefusesNewOrders(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	path := filepath.Join(t.TempDir(), "store.db")
	gw := startGateway(t, up.URL, fmt.Sprintf("store file %s {\n\t\t\tmax_bytes 131072\n\t\t}\n\t\t", path)+merchantBlock("bud", ""), `route /trade/v1/* {
		qfpay_gateway bud
	}
	route /metrics {
		metrics
	}`)
	form := func(i int) string {
		return fmt.Sprintf("txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=BUD-%d&goods_name=%s", i, strings.Repeat("g", 20))
	}
	var refused int
	for i := range 5000 {
		sent := len(up.exchanges())
		resp, body := gw.post(t, "/trade/v1/payment", form(i))
		if resp.StatusCode == 200 {
			continue
		}
		if resp.StatusCode != 503 || !strings.Contains(string(body), `"rule":"store"`) || len(up.exchanges()) != sent {
			t.Fatalf("order %d: %d %s, %d sent", i, resp.StatusCode, body, len(up.exchanges())-sent)
		}
		refused = i
		break
	}
	if refused == 0 {
		t.Fatal("5000 orders of ~2 KiB fit in a 128 KiB budget")
	}
	if resp, body := gw.post(t, "/trade/v1/payment", form(0)); resp.StatusCode != 200 || resp.Header.Get("X-Qfsign-Replayed") != "true" {
		t.Fatalf("a recorded order is no longer replayed: %d %s", resp.StatusCode, body)
	}
	m := scrape(t, gw.base+"/metrics")
	if m["qfsign_store_budget_bytes"] != 131072 {
		t.Errorf("qfsign_store_budget_bytes %v, want 131072", m["qfsign_store_budget_bytes"])
	}
	if used, ok := m["qfsign_store_used_bytes"]; !ok || used < 131072 {
		t.Errorf("qfsign_store_used_bytes %v (present %v), want at least the budget", used, ok)
	}
	t.Logf("refused after %d orders", refused)
}
