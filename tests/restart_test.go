package tests

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// restartSetup is the built binary with the default store (no store
// line: a file in its data directory), in front of the QFPay double and
// an application for notifications.
type restartSetup struct {
	*guardSetup
	app    *application
	notify notifyVector
	data   string // XDG_DATA_HOME, kept across restarts
	env    []string
	bin    string // the binary start runs; default the release build
}

func newRestartSetup(t *testing.T) *restartSetup {
	t.Helper()
	v := loadNotifyVector(t)
	r := &restartSetup{app: newApplication(t), notify: v, data: t.TempDir()}
	r.guardSetup = &guardSetup{double: qfpaytest.New(qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey}), run: testvault.RandomID(4)}
	srv := httptest.NewServer(r.double)
	t.Cleanup(func() { srv.Close(); r.double.Close() })
	r.url = srv.URL
	r.env = []string{"XDG_DATA_HOME=" + r.data, "QFSIGN_TEST_APPCODE=" + testAppCode, "QFSIGN_TEST_KEY=" + testKey,
		"QFSIGN_TEST_NOTIFY_KEY=" + v.ClientKey}
	return r
}

// config is the gateway on listen; the store is the default.
func (r *restartSetup) config(t *testing.T, listen string) string {
	t.Helper()
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	qfpay {
		environment %s
		%s
		merchant hk {
			app_code {env.QFSIGN_TEST_APPCODE}
			client_key {env.QFSIGN_TEST_NOTIFY_KEY}
			mchid ZaMVg12345
		}
	}
}
http://%s {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway shop
	}
	route /qfpay/notify {
		qfpay_notify hk
		reverse_proxy %s
	}
}
`, freePort(t), r.url, merchantBlock("shop", ""), listen, strings.TrimPrefix(r.app.URL, "http://"))
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs the binary and points the setup's client at it.
func (r *restartSetup) start(t *testing.T, wrap ...string) (*qfsignProc, *syncBuffer) {
	t.Helper()
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	out := keepOutput(new(syncBuffer))
	bin := r.bin
	if bin == "" {
		bin = qfsignBinary(t)
	}
	p := runBuilt(t, bin, r.config(t, listen), out, wrap, r.env...)
	waitListening(t, listen, p.exited)
	r.gw = &gateway{Tester: caddytest.NewTester(t), base: "http://" + listen}
	return p, out
}

func (r *restartSetup) deliver(t *testing.T) {
	t.Helper()
	resp, body := r.gw.post(t, "/qfpay/notify", r.notify.Body, "X-QF-SIGN", r.notify.MD5)
	if resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("notification: %d %s", resp.StatusCode, body)
	}
}

// TestRestartAfterKill: payments answered, a pending one, an acknowledged
// notification; kill -9; the restarted binary on the same data directory
// replays, refuses a changed order, resolves the pending one by query and
// acknowledges the notification again, and QFPay sees each payment once.
func TestRestartAfterKill(t *testing.T) {
	r := newRestartSetup(t)
	first, _ := r.start(t)
	answers := map[string]string{}
	for i := range 5 {
		otn := r.otn(fmt.Sprint("paid-", i))
		rep := r.pay(t, payForm(otn, 1500+i))
		if rep.status != 200 || rep.field("respcd") != "0000" {
			t.Fatalf("payment %d: %+v", i, rep)
		}
		answers[otn] = rep.body
	}
	pending := r.otn("pending")
	r.double.Script(qfpaytest.Outcome{OutTradeNo: pending, Respcd: "1143", FinalRespcd: "0000"})
	if rep := r.pay(t, payForm(pending, 700)); rep.field("respcd") != "1143" {
		t.Fatalf("pending payment: %+v", rep)
	}
	r.deliver(t)
	first.kill()

	r.start(t)
	for otn, body := range answers {
		if rep := r.pay(t, payForm(otn, 1500+int(otn[len(otn)-1]-'0'))); rep.replayed != "true" || rep.body != body {
			t.Fatalf("%s after restart: %+v", otn, rep)
		}
	}
	if rep := r.pay(t, payForm(r.otn("paid-0"), 1)); rep.status != http.StatusConflict || rep.field("rule") != "reused" {
		t.Fatalf("changed order after restart: %+v", rep)
	}
	if rep := r.pay(t, payForm(pending, 700)); rep.resolved != "query" || rep.field("respcd") != "0000" {
		t.Fatalf("pending order after restart: %+v", rep)
	}
	r.deliver(t)
	if p := r.double.CountPath("/trade/v1/payment"); p != 6 {
		t.Fatalf("QFPay saw %d payments, want 6 (each once)", p)
	}
	if bodies, _ := r.app.received(); len(bodies) != 1 {
		t.Fatalf("the application received the notification %d times, want 1", len(bodies))
	}
}

// TestSecondOwnerRefused: a second qfsign on the same data directory
// fails to start with a clear error and leaves the first one working;
// caddy validate works next to it.
func TestSecondOwnerRefused(t *testing.T) {
	r := newRestartSetup(t)
	r.start(t)
	running := r.gw
	cfg := r.config(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	// caddy validate provisions without opening the file: it works next
	// to the running owner.
	if out, err := runBinary(t, r.env, "validate", "--config", cfg, "--adapter", "caddyfile"); err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate next to a running instance: %v\n%s", err, tail(out, 2000))
	}
	out := keepOutput(new(syncBuffer))
	p := runQfsign(t, cfg, out, nil, r.env...)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("a second instance on the same file is still running\n%s", tail(out.String(), 2000))
	}
	if p.cmd.ProcessState.ExitCode() == 0 || !strings.Contains(out.String(), "locked by another process") {
		t.Fatalf("second instance: exit %d\n%s", p.cmd.ProcessState.ExitCode(), tail(out.String(), 2000))
	}
	r.gw = running
	if rep := r.pay(t, payForm(r.otn("after"), 1500)); rep.status != 200 || rep.field("respcd") != "0000" {
		t.Fatalf("first instance after the refused second: %+v", rep)
	}
}

// TestDiskFullRefuses: with the file size capped (RLIMIT_FSIZE, as a
// full disk), a write that does not fit fails: that payment is answered
// 503 store and does not reach QFPay. (A smaller write may still fit
// afterwards, as on a full disk.)
func TestDiskFullRefuses(t *testing.T) {
	r := newRestartSetup(t)
	r.start(t, "prlimit", "--fsize=65536", "--")
	answered, refused := 0, 0
	for i := 0; i < 1000 && refused < 20; i++ {
		rep := r.pay(t, payForm(r.otn(fmt.Sprint("fill-", i)), 1500))
		switch {
		case rep.status == http.StatusServiceUnavailable && rep.field("rule") == "store":
			refused++
		case rep.status == http.StatusOK && rep.field("respcd") == "0000":
			answered++
		default:
			t.Fatalf("payment %d: %+v", i, rep)
		}
	}
	if answered == 0 || refused < 20 {
		t.Fatalf("%d payments answered, %d refused; want some of each", answered, refused)
	}
	if p := r.double.CountPath("/trade/v1/payment"); p != answered {
		t.Fatalf("QFPay saw %d payments, %d were answered", p, answered)
	}
	t.Logf("a 64 KiB store file: %d payments answered, then %d refused with 503 store", answered, refused)
}

// TestFileStoreAcrossReloads: a reload keeps the file open (one owner,
// the usage pool); a config without it closes it, and a later config
// opens it again with every record in place.
func TestFileStoreAcrossReloads(t *testing.T) {
	file := "store file " + filepath.Join(t.TempDir(), "store.db")
	s := newGuardSetup(t, file, "", "")
	form := payForm(s.otn("reload"), 1500)
	first := s.pay(t, form)
	for _, store := range []string{file, storeMemory, file} {
		s.gw = startGateway(t, s.url, store+"\n"+merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
		rep := s.pay(t, form)
		if store == storeMemory {
			continue // another store: the order is unknown there
		}
		if rep.replayed != "true" || rep.body != first.body {
			t.Fatalf("after reloading to %q: %+v", store, rep)
		}
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != 2 {
		t.Fatalf("QFPay saw %d payments, want 2 (the file's order once, the memory store's once)", p)
	}
}
