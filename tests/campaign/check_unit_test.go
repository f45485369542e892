//go:build campaign

package campaign

import (
	"crypto/md5"
	"encoding/hex"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// signedRequest is a payment as a correct gateway would send it.
func signedRequest(form url.Values, key string) qfpaytest.Request {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(k + "=" + form.Get(k))
	}
	sum := md5.Sum([]byte(b.String() + key))
	h := http.Header{}
	h.Set("X-QF-APPCODE", appCode)
	h.Set("X-QF-SIGN", strings.ToUpper(hex.EncodeToString(sum[:])))
	h.Set("Content-Type", "application/x-www-form-urlencoded")
	return qfpaytest.Request{Method: http.MethodPost, Path: "/trade/v1/payment", Header: h, Body: []byte(form.Encode())}
}

// notifySign is QFPay's notification signature: MD5(body + key), hex.
func notifySign(body, key string) string {
	sum := md5.Sum([]byte(body + key))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// cleanEvidence is one payment, its notification acknowledged after the
// application said SUCCESS: no invariant is broken.
func cleanEvidence() *evidence {
	form := url.Values{"txamt": {"100"}, "txcurrcd": {"HKD"}, "pay_type": {"801512"}, "out_trade_no": {"CP-0"}}
	body := `{"out_trade_no": "CP-0", "syssn": "S1", "notify_type": "payment"}`
	t0 := time.Now()
	return &evidence{
		ledger:     []qfpaytest.Transaction{{OrderType: "payment", OutTradeNo: "CP-0", Syssn: "S1", Txamt: "100", Respcd: "0000"}},
		requests:   []qfpaytest.Request{signedRequest(form, "K1")},
		arrivals:   []arrival{{Path: "/trade/v1/payment", OTN: "CP-0", Respcd: "0000"}},
		deliveries: []qfpaytest.Delivery{{Syssn: "S1", NotifyType: "payment", Attempt: 1, Body: []byte(body), Sign: notifySign(body, "K1"), Status: 200, Answer: "SUCCESS", Acked: true}},
		exchanges:  []notifyExchange{{Body: body, Start: t0, End: t0.Add(2 * time.Millisecond), Status: 200, Answer: "SUCCESS"}},
		receipts:   []receipt{{Body: body, Verified: "1", Start: t0.Add(time.Millisecond), Status: 200, Answer: "SUCCESS"}},
		calls:      []call{{Path: "/trade/v1/payment", OTN: "CP-0", Params: form, Took: time.Second, Status: 200, Respcd: "0000", Syssn: "S1", Txamt: "100"}},
		keys:       []string{"K1"},
		secrets:    []string{"K1", "TOKEN"},
		outputs:    map[string]string{"gateway 0 output": `{"msg":"transaction","kid":"sha256:ab/v1"}`, "redis/appendonly.aof": "*3"},
		headers:    map[string]int{},
	}
}

// TestCheckerCatches: each invariant fails on evidence that breaks it,
// and nothing fails on clean evidence.
func TestCheckerCatches(t *testing.T) {
	if vs := check(cleanEvidence()); len(vs) != 0 {
		t.Fatalf("clean evidence: %v", vs)
	}
	tests := []struct {
		name   string
		inv    string
		mutate func(e *evidence)
	}{
		{"resent after QFPay took it", invOnce, func(e *evidence) { e.arrivals = append(e.arrivals, arrival{OTN: "CP-0", Held: true, Respcd: "1102"}) }},
		{"charged with an amount nobody sent", invParams, func(e *evidence) { e.ledger[0].Txamt = "999" }},
		{"0000 for an order QFPay never took", invMatches, func(e *evidence) { e.ledger = nil }},
		{"0000 for a pending order", invMatches, func(e *evidence) { e.ledger[0].Respcd = "1143" }},
		{"unsigned", invSigned, func(e *evidence) { e.requests[0].Header.Del("X-Qf-Sign") }},
		{"signed with a key QFPay never issued", invSigned, func(e *evidence) { e.keys = []string{"K2"} }},
		{"a caller header", invHeaders, func(e *evidence) { e.requests[0].Header.Set("Idempotency-Key", "x") }},
		{"acked after the app said FAIL", invAcked, func(e *evidence) { e.receipts[0].Answer = "FAIL" }},
		{"acked without reaching the app", invAcked, func(e *evidence) { e.receipts = nil }},
		{"the app got a forged body", invVerified, func(e *evidence) { e.receipts[0].Body = `{"syssn": "FORGED"}` }},
		{"the app got it unmarked", invVerified, func(e *evidence) { e.receipts[0].Verified = "" }},
		{"redelivered after ack", invRedeliv, func(e *evidence) {
			e.receipts = append(e.receipts, receipt{Body: e.receipts[0].Body, Verified: "1", Start: e.exchanges[0].End.Add(time.Second), Status: 200, Answer: "SUCCESS"})
		}},
		{"never acknowledged", invDelivers, func(e *evidence) { e.deliveries[0].Acked = false }},
		{"refused for its signature to the end", invNotifyKey, func(e *evidence) {
			e.deliveries[0].Acked, e.deliveries[0].Status, e.deliveries[0].Answer = false, 401, `{"field":"X-Qf-Sign","rule":"signature"}`
		}},
		{"no answer", invAnswered, func(e *evidence) { e.calls[0].Err = "EOF" }},
		{"late answer", invAnswered, func(e *evidence) { e.calls[0].Took = answerBound + time.Second }},
		{"key in the output", invKey, func(e *evidence) { e.outputs["gateway 0 output"] += "K1" }},
		{"Vault token in the output", invKey, func(e *evidence) { e.outputs["gateway 0 output"] += "TOKEN" }},
		{"key in a file", invKey, func(e *evidence) { e.outputs["redis/appendonly.aof"] += "K1" }},
		{"1108 to a caller", invRotation, func(e *evidence) { e.calls[0].Respcd = "1108" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := cleanEvidence()
			tt.mutate(e)
			vs := check(e)
			if !slices.ContainsFunc(vs, func(v violation) bool { return v.Invariant == tt.inv }) {
				t.Fatalf("want a %s violation, got %v", tt.inv, vs)
			}
		})
	}
	// A claim left by a killed replica delays a notification by design.
	e := cleanEvidence()
	e.deliveries[0].Acked, e.deliveries[0].Status, e.deliveries[0].Answer = false, 409, `{"rule":"in_progress"}`
	if vs := check(e); len(vs) != 0 {
		t.Fatalf("in-flight claim: %v", vs)
	}
	// A retry QFPay signed before a rotation is refused by design; the
	// delivery signed with the current key decides (here: a claim).
	e = cleanEvidence()
	e.keys = []string{"K0", "K1"}
	e.deliveries[0].Acked, e.deliveries[0].Status, e.deliveries[0].Answer = false, 409, `{"rule":"in_progress"}`
	e.deliveries = append(e.deliveries, qfpaytest.Delivery{Syssn: "S1", NotifyType: "payment", Attempt: 2, Body: e.deliveries[0].Body,
		Sign: notifySign(string(e.deliveries[0].Body), "K0"), Status: 401, Answer: `{"field":"X-Qf-Sign","rule":"signature"}`})
	if vs := check(e); len(vs) != 0 {
		t.Fatalf("old-key retry after a rotation: %v", vs)
	}
	// A killed gateway owes no answer.
	e = cleanEvidence()
	e.calls[0].Err, e.calls[0].Excused = "connection reset", true
	if vs := check(e); len(vs) != 0 {
		t.Fatalf("excused call: %v", vs)
	}
}

func TestFocusedKeepsFaultsAndTheOrder(t *testing.T) {
	ops := []op{
		{Idx: 0, Kind: opPay, Order: 0}, {Idx: 1, Kind: opPay, Order: 1}, {Idx: 2, Kind: faultKill},
		{Idx: 3, Kind: opDouble, Order: 0}, {Idx: 4, Kind: opRefund, Order: 1}, {Idx: 5, Kind: faultVault},
	}
	idx := func(ops []op) (out []int) {
		for _, o := range ops {
			out = append(out, o.Idx)
		}
		return out
	}
	for _, tt := range []struct {
		otn  string
		want []int
	}{
		{"CP-0", []int{0, 2, 3, 5}},
		{"CR-4", []int{1, 2, 4, 5}},
		{"", []int{0, 1, 2, 3, 4, 5}},
	} {
		if got := idx(focused(ops, tt.otn)); !slices.Equal(got, tt.want) {
			t.Errorf("focused(%q) = %v, want %v", tt.otn, got, tt.want)
		}
	}
}

// features counts what 20 schedules of seed 9 on topo generate.
func features(topo topology, s settings) map[string]int {
	n := map[string]int{}
	for stream := range uint64(20) {
		for _, o := range generate(9, stream, topo, s) {
			n[o.Kind]++
			if o.Idem {
				n[featIdem]++
			}
			if o.Kind == faultApp && o.Fault == appFail {
				n[featAppFail]++
			}
		}
	}
	return n
}

func TestGenerateIsDeterministic(t *testing.T) {
	redis := topologies[1]
	a, b := generate(5, 3, redis, settings{}), generate(5, 3, redis, settings{})
	if len(a) != scheduleOps || !slices.Equal(a, b) {
		t.Fatal("the same seed and stream gave different schedules")
	}
	n := features(redis, settings{})
	for _, f := range []string{faultRotate, faultVault, featIdem, featAppFail, faultKill, faultRedis, opBurst, opRefund, opRenotify, opForged} {
		if n[f] == 0 {
			t.Errorf("%s never generated in 20 schedules", f)
		}
	}
	rotating := 0
	for stream := range uint64(20) {
		kinds := map[string]int{}
		for _, o := range generate(9, stream, redis, settings{}) {
			kinds[o.Kind]++
		}
		if kinds[faultRotate] > 1 || (kinds[faultRotate] > 0 && kinds[faultVault] > 0) {
			t.Errorf("schedule %d: %d rotations, %d Vault outages", stream, kinds[faultRotate], kinds[faultVault])
		}
		rotating += kinds[faultRotate]
	}
	if rotating < 5 || rotating > 15 {
		t.Errorf("%d of 20 schedules rotate the key, want about half", rotating)
	}
}

// TestKnownViolationsGate: a withheld known violation keeps its feature
// out of the schedules (on its topology only) and its invariant from
// failing; enabled, both come back.
func TestKnownViolationsGate(t *testing.T) {
	saved := knownViolations
	t.Cleanup(func() { knownViolations = saved })
	knownViolations = []knownViolation{
		{ID: "a", Issue: "test", Feature: featIdem, Invariant: invHeaders, Summary: "synthetic"},
		{ID: "b", Issue: "test", Topology: "memory", Feature: featKill, Summary: "synthetic"},
	}
	byName := func(name string) topology {
		i := slices.IndexFunc(topologies, func(t topology) bool { return t.Name == name })
		if i < 0 {
			t.Fatalf("no topology %q", name)
		}
		return topologies[i]
	}
	memory, redis := byName("memory"), byName("redis-2-replicas")
	withheld, _ := parseKnown("")
	all, _ := parseKnown("all")
	if n := features(redis, settings{known: withheld}); n[featIdem] != 0 || n[faultKill] == 0 {
		t.Errorf("withheld on redis: idem %d (want 0), kill %d (want some)", n[featIdem], n[faultKill])
	}
	if n := features(memory, settings{known: withheld}); n[faultKill] != 0 {
		t.Errorf("withheld on memory: kill %d, want 0", n[faultKill])
	}
	if n := features(memory, settings{known: all}); n[featIdem] == 0 || n[faultKill] == 0 {
		t.Errorf("enabled: idem %d, kill %d, want some of each", n[featIdem], n[faultKill])
	}
	vs := []violation{{Invariant: invHeaders}, {Invariant: invOnce}}
	if got := report(settings{known: withheld}, vs, map[string]bool{}); len(got) != 1 || got[0].Invariant != invOnce {
		t.Errorf("withheld: failing %v, want only once", got)
	}
	if got := report(settings{known: all}, vs, map[string]bool{}); len(got) != 2 {
		t.Errorf("enabled: failing %v, want both", got)
	}
	if _, err := parseKnown("no-such"); err == nil {
		t.Error("an unknown id is accepted")
	}
}
