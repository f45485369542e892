package tests

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

func TestPendingResolvedByQuery(t *testing.T) {
	forEachStore(t, func(t *testing.T, store string) {
		s := newGuardSetup(t, store, "resolve_pending 5s 50ms", "")
		otn := s.otn("pending")
		s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Respcd: "1143", FinalAfterQueries: 1, FinalRespcd: "0000"})
		r := s.pay(t, payForm(otn, 1500))
		if r.status != 200 || r.resolved != "query" || r.field("respcd") != "0000" || r.field("syssn") == "" {
			t.Fatalf("resolved: %+v", r)
		}
		if p, q := s.double.CountPath("/trade/v1/payment"), s.double.CountPath("/trade/v1/query"); p != 1 || q != 2 {
			t.Fatalf("QFPay saw %d payments and %d queries, want 1 and 2", p, q)
		}
		if again := s.pay(t, payForm(otn, 1500)); again.replayed != "true" || again.field("respcd") != "0000" {
			t.Fatalf("a final resolution is recorded: %+v", again)
		}
	})
}

// The answer is lost after sending: with resolve_pending the same request
// is answered by a query, within the caller's wait.
func TestLostAnswerResolvedByQuery(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "resolve_pending 5s 50ms\nresponse_timeout 300ms", "")
	otn := s.otn("lost")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Hang: true})
	r := s.pay(t, payForm(otn, 1500))
	if r.status != 200 || r.resolved != "query" || r.field("respcd") != "0000" || r.field("syssn") == "" {
		t.Fatalf("lost answer: %+v", r)
	}
	if p, q := s.double.CountPath("/trade/v1/payment"), s.double.CountPath("/trade/v1/query"); p != 1 || q != 1 {
		t.Fatalf("QFPay saw %d payments and %d queries, want 1 and 1", p, q)
	}
}

// Still pending at the deadline: the caller gets the last pending state;
// a retry queries again and never resends.
func TestPendingPastDeadline(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "resolve_pending 300ms 50ms", "")
	otn := s.otn("forever")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Respcd: "1145"})
	r := s.pay(t, payForm(otn, 1500))
	if r.status != 200 || r.resolved != "query" || r.field("respcd") != "1145" {
		t.Fatalf("at the deadline: %+v", r)
	}
	queries := s.double.CountPath("/trade/v1/query")
	if queries < 2 {
		t.Fatalf("%d queries within 300ms at 50ms intervals", queries)
	}
	retry := s.pay(t, payForm(otn, 1500))
	if retry.resolved != "query" || retry.field("respcd") != "1145" || s.double.CountPath("/trade/v1/query") <= queries {
		t.Fatalf("retry of a pending order: %+v", retry)
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != 1 {
		t.Fatalf("QFPay saw %d payments, want 1", p)
	}
	t.Logf("pending past deadline: 1 payment, %d queries over two caller requests", s.double.CountPath("/trade/v1/query"))
}

// Without resolve_pending the pending answer is passed on, and the
// retry is answered by a query.
func TestPendingWithoutResolveQueriesOnRetry(t *testing.T) {
	s := newGuardSetup(t, storeMemory, "", "")
	otn := s.otn("p")
	s.double.Script(qfpaytest.Outcome{OutTradeNo: otn, Respcd: "1143", FinalRespcd: "0000"})
	if r := s.pay(t, payForm(otn, 1500)); r.field("respcd") != "1143" || r.resolved != "" {
		t.Fatalf("pending passed on: %+v", r)
	}
	if r := s.pay(t, payForm(otn, 1500)); r.field("respcd") != "0000" || r.resolved != "query" {
		t.Fatalf("retry: %+v", r)
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != 1 {
		t.Fatalf("QFPay saw %d payments, want 1", p)
	}
}

func TestStoreDownFailsClosedUnlessAllowed(t *testing.T) {
	dead := fmt.Sprintf("store redis 127.0.0.1:%d", freePort(t))
	for _, tt := range []struct {
		name, opts string
		status     int
		payments   int
	}{
		{name: "refuse (default)", status: http.StatusServiceUnavailable, payments: 0},
		{name: "allow", opts: "on_store_error allow", status: http.StatusOK, payments: 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newGuardSetup(t, dead, tt.opts, "")
			r := s.pay(t, payForm(s.otn("store"), 1500))
			if r.status != tt.status || (tt.status == 503 && r.field("rule") != "store") {
				t.Fatalf("got %+v", r)
			}
			if p := s.double.CountPath("/trade/v1/payment"); p != tt.payments {
				t.Fatalf("QFPay saw %d payments, want %d", p, tt.payments)
			}
		})
	}
}

// Two gateways (caddytest and the built binary) share Redis: the second
// sees the first's order.
func TestTwoGatewaysShareOrders(t *testing.T) {
	store := storeRedis(t)
	s := newGuardSetup(t, store, "", "")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := replicaGatewayConfig(t, s.url, store, "", listen)
	startBinaryConfig(t, cfg, listen, "QFSIGN_TEST_APPCODE="+testAppCode, "QFSIGN_TEST_KEY="+testKey)
	otn := s.otn("shared")
	if r := s.pay(t, payForm(otn, 1500)); r.field("respcd") != "0000" {
		t.Fatalf("replica A: %+v", r)
	}
	b := &guardSetup{gw: &gateway{Tester: s.gw.Tester, base: "http://" + listen}}
	if r := b.pay(t, payForm(otn, 1500)); r.replayed != "true" || r.field("respcd") != "0000" {
		t.Fatalf("replica B, same order: %+v", r)
	}
	if r := b.pay(t, payForm(otn, 999)); r.status != http.StatusConflict || r.field("rule") != "reused" {
		t.Fatalf("replica B, changed order: %+v", r)
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != 1 {
		t.Fatalf("QFPay saw %d payments across replicas, want 1", p)
	}
}

// With Redis the merchant's rate limit holds across replicas.
func TestRateLimitAcrossReplicas(t *testing.T) {
	store := storeRedis(t)
	s := newGuardSetup(t, store, "", "rate_limit 0 3")
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := replicaGatewayConfig(t, s.url, store, "rate_limit 0 3", listen)
	startBinaryConfig(t, cfg, listen, "QFSIGN_TEST_APPCODE="+testAppCode, "QFSIGN_TEST_KEY="+testKey)
	if sec := time.Now().Second(); sec >= 55 {
		time.Sleep(time.Duration(61-sec) * time.Second) // keep the minute window whole
	}
	b := &guardSetup{gw: &gateway{Tester: s.gw.Tester, base: "http://" + listen}}
	var got []int
	for i, g := range []*guardSetup{s, b, s, b} {
		got = append(got, g.send(t, http.MethodPost, "/trade/v1/query", fmt.Sprintf("out_trade_no=RL%d", i)).status)
	}
	if fmt.Sprint(got) != "[200 200 200 429]" || s.double.Count() != 3 {
		t.Fatalf("statuses %v, QFPay saw %d; want [200 200 200 429] and 3", got, s.double.Count())
	}
}

// replicaGatewayConfig is a second gateway replica for the built binary:
// merchant "shop" with merchantOpts, the given store, on listen.
func replicaGatewayConfig(t *testing.T, env, store, merchantOpts, listen string) string {
	return fmt.Sprintf(`{
	admin localhost:%d
	qfpay {
		environment %s
		%s
		%s
	}
}
http://%s {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway shop
	}
}
`, freePort(t), env, store, merchantBlock("shop", merchantOpts), listen)
}

// startBinaryConfig runs the built binary on a Caddyfile until the test ends.
func startBinaryConfig(t *testing.T, cfg, listen string, env ...string) *exec.Cmd {
	t.Helper()
	return startBinaryConfigOutput(t, cfg, listen, keepOutput(new(syncBuffer)), env...)
}

// startBinaryConfigOutput is startBinaryConfig with the process output in out.
func startBinaryConfigOutput(t *testing.T, cfg, listen string, out *syncBuffer, env ...string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := runQfsign(t, path, out, nil, env...)
	waitListening(t, listen, p.exited)
	return p.cmd
}

// qfsignProc is a running binary; exited closes when it has exited.
type qfsignProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
}

// runQfsign starts the built binary on a Caddyfile (behind wrap, e.g.
// prlimit, when given) and kills it when the test ends.
func runQfsign(t *testing.T, path string, out *syncBuffer, wrap []string, env ...string) *qfsignProc {
	t.Helper()
	return runBuilt(t, qfsignBinary(t), path, out, wrap, env...)
}

// runBuilt is runQfsign with the binary bin.
func runBuilt(t *testing.T, bin, path string, out *syncBuffer, wrap []string, env ...string) *qfsignProc {
	t.Helper()
	args := append(wrap, bin, "run", "--config", path, "--adapter", "caddyfile")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(cleanEnv(), env...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &qfsignProc{cmd: cmd, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("qfsign output (tail):\n%s", tail(out.String(), 4000))
		}
	})
	return p
}

// kill is kill -9: no shutdown, no flush; it returns once the process is gone.
func (p *qfsignProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
