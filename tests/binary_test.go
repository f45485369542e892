package tests

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testio"
	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// builds are the binaries of this test run: the release build, and the
// fault build (-tags qfsign_faults: fault points read from the
// environment). Tags change only our packages, so both share the cache.
var builds = map[string]*build{"": {}, "qfsign_faults": {}}

type build struct {
	once sync.Once
	path string
	err  error
}

// qfsignBinary builds cmd/qfsign once per test run, with the flags the
// test run itself uses, so the build cache is shared.
func qfsignBinary(t *testing.T) string { return binaryWithTags(t, "") }

// faultBinary is cmd/qfsign built with its fault points (store/fault_on.go).
func faultBinary(t *testing.T) string { return binaryWithTags(t, "qfsign_faults") }

func binaryWithTags(t *testing.T, tags string) string {
	t.Helper()
	b := builds[tags]
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "qfsign-bin-")
		if err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(dir, "qfsign")
		out, err := exec.Command("go", "build", "-tags", tags, "-o", b.path, "../cmd/qfsign").CombinedOutput()
		if err != nil {
			b.err = fmt.Errorf("go build -tags %q: %v\n%s", tags, err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func runBinary(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := execBinary(t, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// execBinary is the built binary run from the repository root.
func execBinary(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(qfsignBinary(t), args...)
	cmd.Dir = ".."
	return cmd
}

// waitListening dials addr (host:port, or a unix socket's absolute
// path) until it accepts or the process exits.
func waitListening(t *testing.T, addr string, exited <-chan struct{}) {
	t.Helper()
	network := "tcp"
	if strings.HasPrefix(addr, "/") {
		network = "unix"
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout(network, addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatal("qfsign exited before listening")
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s not listening after 20s", addr)
}

// startExample runs the shipped Caddyfile.example with the built binary
// and returns the listen address and the process output.
func startExample(t *testing.T, env ...string) (string, *syncBuffer) {
	t.Helper()
	return startConfig(t, "Caddyfile.example", env...)
}

// startConfig runs a shipped config file (relative to the repo root) on
// its defaults: env adds to a clean environment.
func startConfig(t *testing.T, config string, env ...string) (string, *syncBuffer) {
	t.Helper()
	listen, logs, _ := startConfigProcess(t, config, env...)
	return listen, logs
}

// startConfigProcess is startConfig, with the process.
func startConfigProcess(t *testing.T, config string, env ...string) (string, *syncBuffer, *os.Process) {
	t.Helper()
	port := freePort(t)
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	env = append(env, fmt.Sprintf("QFSIGN_PORT=%d", port))
	logs, p := startListening(t, config, listen, env...)
	return listen, logs, p
}

// startListening runs config (relative to the repo root, or absolute)
// with env added to a clean environment, until listen accepts.
func startListening(t *testing.T, config, listen string, env ...string) (*syncBuffer, *os.Process) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, qfsignBinary(t), "run", "--config", config)
	cmd.Dir = ".."
	cmd.Env = append(cleanEnv(), env...)
	logs := keepOutput(new(syncBuffer))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	waitListening(t, listen, exited)
	return logs, cmd.Process
}

// cleanEnv is this process's environment without any QFPAY_ or QFSIGN_
// variable, as on a fresh machine, and with a data directory of its own:
// the file store has one owner, and the in-process gateways own this
// process's. A later XDG_DATA_HOME in the command's env wins.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QFPAY_") && !strings.HasPrefix(kv, "QFSIGN_") && !strings.HasPrefix(kv, "XDG_DATA_HOME=") {
			env = append(env, kv)
		}
	}
	data, err := os.MkdirTemp(os.Getenv("XDG_DATA_HOME"), "binary-data-")
	if err != nil {
		panic(err) // the package's temporary directory is gone
	}
	return append(env, "XDG_DATA_HOME="+data)
}

// TestExampleEmbeddedDefaults is `make run` on a fresh machine: no
// environment at all, and a payment gets a pay_url on the embedded double's
// checkout page.
func TestExampleEmbeddedDefaults(t *testing.T) {
	listen, logs := startExample(t)
	resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded",
		strings.NewReader("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=EMB-1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte(`"respcd":"0000"`)) || !bytes.Contains(body, []byte(`"pay_url":"http://127.0.0.1:`)) {
		t.Fatalf("%d %s\nlogs:\n%s", resp.StatusCode, body, logs.String())
	}
	for path, want := range map[string]string{"/other": `"rule":"path"`, "/qfpay/notify": `"rule":"notify_to"`} {
		resp, err := http.Post("http://"+listen+path, "application/json", strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantStatus := map[string]int{"/other": 404, "/qfpay/notify": 503}[path]
		if resp.StatusCode != wantStatus || !strings.Contains(string(b), want) || resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: %d %s %q", path, resp.StatusCode, b, resp.Header.Get("Content-Type"))
		}
	}
}

// TestCaddyfileExampleSignsLikeSeedSample runs the shipped example with
// the built binary against a QFPay double, and checks the signature with
// the seed's own Python sample.
func TestCaddyfileExampleSignsLikeSeedSample(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required for the seed-sample check (make test installs it: scripts/deps.sh)")
	}
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	app := newApplication(t)
	listen, logs := startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey,
		"QFSIGN_NOTIFY_TO="+strings.TrimPrefix(app.URL, "http://"))
	up.double.SetNotifyURL("http://" + listen + "/qfpay/notify")

	form := "txamt=2200&txcurrcd=HKD&pay_type=801107&out_trade_no=EX-1&goods_name=%E6%B8%AC%E8%A9%A6+test"
	resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ex := up.exchanges()
	if resp.StatusCode != 200 || len(ex) != 1 || !bytes.Contains(ex[0].resp, []byte(`"respcd":"0000"`)) {
		t.Fatalf("status %d, exchanges %d; logs:\n%s", resp.StatusCode, len(ex), logs.String())
	}
	py := exec.Command(python, "testdata/seed_sign.py", testKey)
	py.Stdin = bytes.NewReader(ex[0].req.Body)
	out, err := py.Output()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ex[0].req.Header.Get("X-Qf-Sign"), strings.TrimSpace(string(out)); got != want {
		t.Fatalf("X-QF-SIGN %s, seed Python sample %s", got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ds, err := up.double.WaitDeliveries(ctx, 1); err != nil || !ds[0].Acked {
		t.Fatalf("notification through the example: %v %+v", err, ds)
	}
	if bodies, _ := app.received(); len(bodies) != 1 {
		t.Fatalf("application got %d notifications", len(bodies))
	}
	if strings.Contains(logs.String(), testKey) {
		t.Fatal("the key appears in the process output")
	}
}

// TestCaddyCommands: list-modules, adapt and validate work on our build.
func TestCaddyCommands(t *testing.T) {
	out, err := runBinary(t, nil, "list-modules")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, m := range []string{"qfpay", "http.handlers.qfpay_gateway", "http.handlers.qfpay_notify", "http.handlers.qfpay_health"} {
		if !strings.Contains(out, m+"\n") {
			t.Errorf("list-modules lacks %s", m)
		}
	}
	out, err = runBinary(t, nil, "adapt", "--config", "Caddyfile.example")
	if err != nil || !strings.Contains(out, `"client_key":"{env.QFPAY_CLIENT_KEY}"`) {
		t.Errorf("adapt: %v\n%s", err, out)
	}
	out, err = runBinary(t, []string{"QFPAY_CLIENT_KEY=", "QFPAY_APP_CODE=a", "QFPAY_ENV=production"}, "validate", "--config", "Caddyfile.example")
	if err == nil || !strings.Contains(out, "client_key: unresolved or empty") {
		t.Errorf("validate without a key for production must fail: %v\n%s", err, out)
	}
	out, err = runBinary(t, []string{"QFPAY_CLIENT_KEY=k", "QFPAY_APP_CODE=a", "QFPAY_ENV=production"}, "validate", "--config", "Caddyfile.example")
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Errorf("validate: %v\n%s", err, out)
	}
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer = testio.SyncBuffer

// TestExampleSafetyFromEnvironment: Caddyfile.example's QFSIGN_STORE,
// QFSIGN_RATE_LIMIT and QFSIGN_RESOLVE_PENDING take effect.
func TestExampleSafetyFromEnvironment(t *testing.T) {
	listen, logs := startExample(t, "QFSIGN_STORE=redis://"+testredis.Addr(t)+"/0",
		"QFSIGN_RATE_LIMIT=100/s,3/m", "QFSIGN_RESOLVE_PENDING=5s")
	if sec := time.Now().Second(); sec >= 55 {
		time.Sleep(time.Duration(61-sec) * time.Second) // keep the minute window whole
	}
	form := "txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=EXS-" + testvault.RandomID(4)
	var got []string
	for range 4 {
		resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, fmt.Sprintf("%d/%s", resp.StatusCode, resp.Header.Get("X-Qfsign-Replayed")))
	}
	// Replays never reach QFPay, so they do not count against its limit.
	if strings.Join(got, " ") != "200/ 200/true 200/true 200/true" {
		t.Fatalf("double submits: %v\n%s", got, logs.String())
	}
	var limited int
	for i := range 4 {
		resp, err := http.Post("http://"+listen+"/trade/v1/query", "application/x-www-form-urlencoded", strings.NewReader(fmt.Sprintf("out_trade_no=Q%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "" {
			limited++
		}
	}
	if limited != 2 {
		t.Fatalf("%d of 4 queries limited after 1 payment with 3/m, want 2", limited)
	}
}
