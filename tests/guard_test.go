package tests

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// guardSetup is a gateway in front of the QFPay double (no tee: scripted
// hangs and resets need the real connection).
type guardSetup struct {
	double *qfpaytest.Server
	url    string
	gw     *gateway
	run    string // makes out_trade_no unique across tests and runs
}

// storeFile (the default backend; startGateway gives each test its own
// file), storeMemory and storeRedis choose the qfpay app's store.
const (
	storeFile   = ""
	storeMemory = "store memory"
)

func storeRedis(t *testing.T) string {
	return fmt.Sprintf("store redis %s {\n\t\t\tprefix qfsign-test-%s:\n\t\t}", testredis.Addr(t), testvault.RandomID(4))
}

func newGuardSetup(t *testing.T, store, signOpts, merchantOpts string) *guardSetup {
	t.Helper()
	s := &guardSetup{double: qfpaytest.New(qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey}), run: testvault.RandomID(4)}
	srv := httptest.NewServer(s.double)
	t.Cleanup(func() { srv.Close(); s.double.Close() })
	s.url = srv.URL
	s.gw = startGateway(t, srv.URL, store+"\n"+merchantBlock("shop", merchantOpts), fmt.Sprintf(`route /trade/v1/* {
		qfpay_gateway shop {
			%s
		}
	}`, signOpts))
	return s
}

// otn is a test-unique out_trade_no.
func (s *guardSetup) otn(name string) string { return "G-" + s.run + "-" + name }

func payForm(otn string, txamt int) string {
	return fmt.Sprintf("txamt=%d&txcurrcd=HKD&pay_type=801512&out_trade_no=%s", txamt, otn)
}

// reply is an answer as the application sees it.
type reply struct {
	status   int
	body     string
	replayed string
	resolved string
	retry    string // Retry-After
	fields   map[string]any
}

func (s *guardSetup) send(t *testing.T, method, path, form string) reply {
	t.Helper()
	var req *http.Request
	if method == http.MethodGet {
		req, _ = http.NewRequest(method, s.gw.base+path+"?"+form, nil)
	} else {
		req, _ = http.NewRequest(method, s.gw.base+path, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, body := s.gw.do(t, req)
	r := reply{status: resp.StatusCode, body: string(body), replayed: resp.Header.Get("X-Qfsign-Replayed"),
		resolved: resp.Header.Get("X-Qfsign-Resolved"), retry: resp.Header.Get("Retry-After")}
	_ = json.Unmarshal(body, &r.fields)
	return r
}

func (s *guardSetup) pay(t *testing.T, form string) reply {
	return s.send(t, http.MethodPost, "/trade/v1/payment", form)
}

func (r reply) field(k string) string { v, _ := r.fields[k].(string); return v }

func forEachStore(t *testing.T, f func(t *testing.T, store string)) {
	t.Run("file", func(t *testing.T) { f(t, storeFile) })
	t.Run("memory", func(t *testing.T) { f(t, storeMemory) })
	t.Run("redis", func(t *testing.T) { f(t, storeRedis(t)) })
}

func TestDoubleSubmitReplays(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		s := newGuardSetup(t, store, "", "")
		form := payForm(s.otn("double"), 1500)
		first := s.pay(t, form)
		second := s.pay(t, form)
		if first.status != 200 || first.field("respcd") != "0000" || first.replayed != "" {
			t.Fatalf("first: %+v", first)
		}
		if second.status != 200 || second.body != first.body || second.replayed != "true" {
			t.Fatalf("second: %d replayed=%q body equal=%v", second.status, second.replayed, second.body == first.body)
		}
		changed := s.pay(t, payForm(s.otn("double"), 1600))
		if changed.status != http.StatusConflict || changed.field("rule") != "reused" || changed.field("field") != "out_trade_no" {
			t.Fatalf("changed parameters: %+v", changed)
		}
		if n := s.double.CountPath("/trade/v1/payment"); n != 1 {
			t.Fatalf("QFPay received %d payments, want 1", n)
		}
	})
}

// 50 identical requests at once: exactly one reaches QFPay; every other
// caller gets the replay or 409 in_progress, never a second charge.
func TestConcurrentSubmitReachesQFPayOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		s := newGuardSetup(t, store, "", "")
		form := payForm(s.otn("burst"), 1500)
		var wg sync.WaitGroup
		var mu sync.Mutex
		outcomes := map[string]int{}
		start := make(chan struct{})
		for range 50 {
			wg.Go(func() {
				<-start
				resp, err := http.Post(s.gw.base+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
				key := "error"
				if err == nil {
					var v map[string]any
					_ = json.NewDecoder(resp.Body).Decode(&v)
					resp.Body.Close()
					key = fmt.Sprintf("%d %v %v replayed=%s", resp.StatusCode, v["respcd"], v["rule"], resp.Header.Get("X-Qfsign-Replayed"))
				}
				mu.Lock()
				outcomes[key]++
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		t.Logf("50 concurrent: %v", outcomes)
		if n := s.double.CountPath("/trade/v1/payment"); n != 1 {
			t.Fatalf("QFPay received %d payments, want 1", n)
		}
		if outcomes["200 0000 <nil> replayed="] != 1 {
			t.Fatalf("want exactly one original answer: %v", outcomes)
		}
		if outcomes["200 0000 <nil> replayed="]+outcomes["200 0000 <nil> replayed=true"]+outcomes["409 <nil> in_progress replayed="] != 50 {
			t.Fatalf("unexpected outcomes: %v", outcomes)
		}
	})
}

// QFPay took the payment but its answer never came: the retry is
// answered by a query, and the payment is never sent twice.
func TestTimeoutThenRetryQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		s := newGuardSetup(t, store, "response_timeout 300ms", "")
		otn := s.otn("lost")
		s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Hang: true})
		first := s.pay(t, payForm(otn, 1500))
		if first.status != http.StatusBadGateway || first.field("rule") != "outcome_unknown" {
			t.Fatalf("first: %+v", first)
		}
		retry := s.pay(t, payForm(otn, 1500))
		if retry.status != 200 || retry.resolved != "query" || retry.field("respcd") != "0000" || retry.field("out_trade_no") != otn {
			t.Fatalf("retry: %+v", retry)
		}
		again := s.pay(t, payForm(otn, 1500))
		if again.replayed != "true" || again.field("respcd") != "0000" {
			t.Fatalf("after the query resolved it: %+v", again)
		}
		if p, q := s.double.CountPath("/trade/v1/payment"), s.double.CountPath("/trade/v1/query"); p != 1 || q != 1 {
			t.Fatalf("QFPay saw %d payments and %d queries, want 1 and 1", p, q)
		}
	})
}

// A connection that fails before anything was written is no outcome:
// the guard lets the retry go to QFPay.
func TestUnreachableQFPayReleasesTheOrder(t *testing.T) {
	up := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	gw := startGateway(t, up, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	otn := "G-" + testvault.RandomID(4) + "-dial"
	for i := range 2 {
		resp, body := gw.post(t, "/trade/v1/payment", payForm(otn, 1500))
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"rule":"upstream_unreachable"`) {
			t.Fatalf("attempt %d: %d %s, want 502 upstream_unreachable both times (not in_progress)", i, resp.StatusCode, body)
		}
	}
}

// What QFPay answered decides whether a retry may reach it again.
func TestOutcomeDecidesRetry(t *testing.T) {
	tests := []struct {
		name     string
		outcome  qfpaytest.Outcome
		payments int    // reaching QFPay over two identical requests
		second   string // how the second is answered
	}{
		{name: "HTTP 429: not taken, retry goes through", outcome: qfpaytest.Outcome{HTTPStatus: 429}, payments: 2, second: ""},
		{name: "1108 signature: not taken", outcome: qfpaytest.Outcome{Respcd: "1108"}, payments: 2, second: ""},
		{name: "1295 congestion: not taken", outcome: qfpaytest.Outcome{Respcd: "1295"}, payments: 2, second: ""},
		{name: "1102 duplicate: final, replayed", outcome: qfpaytest.Outcome{Respcd: "1102"}, payments: 1, second: "replayed"},
		{name: "1294 risk: final, replayed", outcome: qfpaytest.Outcome{Respcd: "1294"}, payments: 1, second: "replayed"},
		{name: "HTTP 500 with respcd 1100 busy: not taken", outcome: qfpaytest.Outcome{HTTPStatus: 500}, payments: 2, second: ""},
		{name: "1143 pending: queried", outcome: qfpaytest.Outcome{Respcd: "1143", FinalRespcd: "0000"}, payments: 1, second: "query"},
		{name: "reset after sending: unknown, queried", outcome: qfpaytest.Outcome{ResetConn: true}, payments: 1, second: "query"},
	}
	s := newGuardSetup(t, storeMemory, "", "")
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			otn := s.otn(fmt.Sprint("o", i))
			tt.outcome.OutTradeNo = otn
			s.double.Script(tt.outcome)
			before := s.double.CountPath("/trade/v1/payment")
			s.pay(t, payForm(otn, 1500))
			r := s.pay(t, payForm(otn, 1500))
			how := map[bool]string{true: "replayed"}[r.replayed == "true"] + map[bool]string{true: "query"}[r.resolved == "query"]
			if n := s.double.CountPath("/trade/v1/payment") - before; n != tt.payments || how != tt.second {
				t.Fatalf("payments %d, second answered %q (%d %s); want %d, %q", n, how, r.status, r.body, tt.payments, tt.second)
			}
		})
	}
}
