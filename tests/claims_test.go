package tests

import (
	"bufio"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue is one sample of the admin API's /metrics, 0 when absent.
func metricValue(t *testing.T, series string) float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	return 0
}

// TestMetricsSurviveReload pins docs/operations.md ("Reload and
// shutdown"): the collectors are package-level, registered into each new
// config's registry, so a reload keeps their counts.
func TestMetricsSurviveReload(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "", "")
	series := `qfsign_orders_total{merchant="shop",outcome="new"}`
	before := metricValue(t, series)
	if r := s.pay(t, payForm(s.otn("before"), 1500)); r.field("respcd") != "0000" {
		t.Fatalf("payment: %+v", r)
	}
	counted := metricValue(t, series)
	if counted != before+1 {
		t.Fatalf("%s: %v before a payment, %v after, want one more", series, before, counted)
	}
	s.gw = startGateway(t, s.url, storeMemory+"\n"+merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	if got := metricValue(t, series); got != counted {
		t.Fatalf("%s: %v before the reload, %v after", series, counted, got)
	}
	if r := s.pay(t, payForm(s.otn("after"), 1500)); r.field("respcd") != "0000" {
		t.Fatalf("payment after the reload: %+v", r)
	}
	if got := metricValue(t, series); got != counted+1 {
		t.Fatalf("%s: %v after a payment on the new config, want %v", series, got, counted+1)
	}
}

// TestVaultKeysSurviveReload pins docs/configuration.md ("Keys from
// Vault"): the Vault client, its login and the key caches live in usage
// pools, so a reload neither logs in again nor reads the key again, and
// the new config signs at once.
func TestVaultKeysSurviveReload(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "", "")
	s.waitReady(t, true, 5*time.Second)
	if code, res := s.pay(t); code != http.StatusOK {
		t.Fatalf("payment before the reload: %d %s", code, res)
	}
	before := s.e.Calls("")
	s.start(t, "", "")
	if code, r := s.ready(t); code != http.StatusOK {
		t.Fatalf("not ready right after the reload: %d %+v", code, r)
	}
	if code, res := s.pay(t); code != http.StatusOK {
		t.Fatalf("payment after the reload: %d %s", code, res)
	}
	if n := s.e.Calls("") - before; n != 0 {
		t.Fatalf("the reload made %d Vault calls, want 0", n)
	}
}
