package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/qfpaytest"
)

// exchange is one request the upstream saw and the exact bytes it answered.
type exchange struct {
	req  qfpaytest.Request
	resp []byte
}

// upstream is the qfpaytest double behind a tee that keeps every answer
// byte for byte, so tests can prove the caller got QFPay's JSON unchanged.
type upstream struct {
	*httptest.Server
	double *qfpaytest.Server
	mu     sync.Mutex
	seen   []exchange
}

func newUpstream(t *testing.T, merchants ...qfpaytest.Merchant) *upstream {
	t.Helper()
	u := &upstream{double: qfpaytest.New(merchants...)}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		before := u.double.Count()
		rec := httptest.NewRecorder()
		u.double.ServeHTTP(rec, r)
		reqs := u.double.Requests()
		u.mu.Lock()
		u.seen = append(u.seen, exchange{req: reqs[before], resp: rec.Body.Bytes()})
		u.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() { u.Close(); u.double.Close() })
	return u
}

func (u *upstream) exchanges() []exchange {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]exchange(nil), u.seen...)
}

// gateway is a real Caddy configured through its admin API.
type gateway struct {
	*caddytest.Tester
	base    string // http://127.0.0.1:port
	logFile string
}

// freePort asks the kernel for a loopback port nobody uses right now.
func freePort(t *testing.T) int { return testredis.FreePort(t) }

// merchantBlock is a Caddyfile merchant for the test credentials.
func merchantBlock(name, extra string) string {
	return fmt.Sprintf(`merchant %s {
			app_code {env.QFSIGN_TEST_APPCODE}
			client_key {env.QFSIGN_TEST_KEY}
			%s
		}`, name, extra)
}

// startGateway loads a Caddyfile whose qfpay app points at env and whose
// site block holds routes; every log line goes to a file at DEBUG.
// Without a store line the store is a file of the test's own (the
// default backend; tests reuse out_trade_no values between them).
func startGateway(t *testing.T, env, merchants, routes string) *gateway {
	t.Helper()
	if !strings.Contains(merchants, "store ") {
		merchants = fmt.Sprintf("store file %s\n\t\t%s", filepath.Join(t.TempDir(), "store.db"), merchants)
	}
	port := freePort(t)
	logFile := gatewayLogFile(t.Name())
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	log {
		output file %s
		format json
		level DEBUG
	}
	qfpay {
		environment %s
		%s
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	%s
}
`, adminPort, logFile, env, merchants, port, routes)
	tc := caddytest.NewTester(t)
	tc.InitServer(cfg, "caddyfile")
	return &gateway{Tester: tc, base: fmt.Sprintf("http://127.0.0.1:%d", port), logFile: logFile}
}

// startGatewayRaw loads a complete Caddyfile; base is its first http:// site.
func startGatewayRaw(t *testing.T, cfg string) *gateway {
	t.Helper()
	tc := caddytest.NewTester(t)
	tc.InitServer(cfg, "caddyfile")
	i := strings.Index(cfg, "\nhttp://")
	host := strings.TrimSpace(strings.TrimSuffix(strings.SplitN(cfg[i+len("\nhttp://"):], "\n", 2)[0], "{"))
	return &gateway{Tester: tc, base: "http://" + host}
}

// post sends a form as a legacy application would.
func (g *gateway) post(t *testing.T, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, g.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return g.do(t, req)
}

func (g *gateway) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := g.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// logs returns everything Caddy logged so far.
func (g *gateway) logs(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(g.logFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// logLines returns the log lines containing every one of subs.
func (g *gateway) logLines(t *testing.T, subs ...string) []string {
	var out []string
	for _, line := range bytes.Split(g.logs(t), []byte("\n")) {
		ok := len(line) > 0
		for _, s := range subs {
			ok = ok && bytes.Contains(line, []byte(s))
		}
		if ok {
			out = append(out, string(line))
		}
	}
	return out
}

// waitLogLines polls the log until a line with every sub appears: the
// handler logs after the response is on the wire, so a client can be faster.
func (g *gateway) waitLogLines(t *testing.T, subs ...string) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if lines := g.logLines(t, subs...); len(lines) > 0 || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(10 * time.Millisecond)
	}
}
