package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// hostProbe is one raw request to a payment listener, written byte for
// byte so the Host header, the target's form and the HTTP version are
// exactly the probe's.
type hostProbe struct {
	name      string
	request   string // {port} is the listener's port
	status    int
	forwarded bool
}

// hostOnlyWarning is the qfpay app's error for a listener whose sites
// all have a host.
const hostOnlyWarning = "answers an unmatched Host with an empty 200"

var hostProbes = []hostProbe{
	{"127.0.0.1", "POST /trade/v1/payment HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n", 200, true},
	{"localhost", "POST /trade/v1/payment HTTP/1.1\r\nHost: localhost:{port}\r\n", 200, true},
	{"localhost without port", "POST /trade/v1/payment HTTP/1.1\r\nHost: LOCALHOST\r\n", 200, true},
	{"[::1]", "POST /trade/v1/payment HTTP/1.1\r\nHost: [::1]:{port}\r\n", 200, true},
	{"foreign host", "POST /trade/v1/payment HTTP/1.1\r\nHost: shop.example:{port}\r\n", 421, false},
	{"rebinding name", "POST /trade/v1/payment HTTP/1.1\r\nHost: 127.0.0.1.nip.io:{port}\r\n", 421, false},
	{"absolute-form foreign", "POST http://shop.example/trade/v1/payment HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n", 421, false},
	{"absolute-form loopback", "POST http://localhost:{port}/trade/v1/payment HTTP/1.1\r\nHost: shop.example\r\n", 200, true},
	{"HTTP/1.0 without Host", "POST /trade/v1/payment HTTP/1.0\r\n", 400, false},
	{"foreign host on another path", "GET /nothing HTTP/1.1\r\nHost: shop.example\r\n", 421, false},
}

// probeHosts sends every probe to 127.0.0.1:port and checks each answer
// is qfsign's JSON with the expected status, and that exactly the served
// payments reached QFPay.
func probeHosts(t *testing.T, port int, up *upstream, logs *syncBuffer) {
	t.Helper()
	if strings.Contains(logs.String(), hostOnlyWarning) {
		t.Errorf("the config triggers the host-only warning:\n%s", logs.String())
	}
	for i, p := range hostProbes {
		t.Run(p.name, func(t *testing.T) {
			before := len(up.exchanges())
			form := fmt.Sprintf("txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=HOST-%s-%d", testvault.RandomID(3), i)
			req := strings.ReplaceAll(p.request, "{port}", fmt.Sprint(port)) +
				fmt.Sprintf("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(form), form)
			status, ctype, body := rawExchange(t, port, req)
			if status != p.status || !strings.HasPrefix(ctype, "application/json") || !json.Valid(body) {
				t.Fatalf("%d %q %q, want %d JSON\nlogs:\n%s", status, ctype, body, p.status, tail(logs.String(), 3000))
			}
			if !p.forwarded && !strings.Contains(string(body), `"rule":"host"`) {
				t.Errorf("refusal does not name rule host: %s", body)
			}
			if got := len(up.exchanges()) - before; got != map[bool]int{true: 1}[p.forwarded] {
				t.Errorf("%d requests reached QFPay, forwarded %v", got, p.forwarded)
			}
		})
	}
}

// rawExchange writes req on a new connection and reads one answer.
func rawExchange(t *testing.T, port int, req string) (int, string, []byte) {
	t.Helper()
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// TestHostCaddyfileExample: Caddyfile.example answers every Host with
// its JSON: loopback names are served, others refused (issue 22.1).
func TestHostCaddyfileExample(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	listen, logs := startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey)
	probeHosts(t, portOf(t, listen), up, logs)
	// QFSIGN_HOSTS adds a name; the notification path takes any Host.
	listen, logs = startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey,
		"QFSIGN_HOSTS=pay.internal other.internal")
	for req, want := range map[string]int{
		"GET /healthz/live HTTP/1.1\r\nHost: pay.internal\r\n":      200,
		"GET /healthz/live HTTP/1.1\r\nHost: other.internal:80\r\n": 200,
		"GET /healthz/live HTTP/1.1\r\nHost: shop.example\r\n":      421,
		"POST /qfpay/notify HTTP/1.1\r\nHost: shop.example\r\n":     503, // notify_to unset: JSON 503
	} {
		status, ctype, body := rawExchange(t, portOf(t, listen), req+"Content-Length: 0\r\nConnection: close\r\n\r\n")
		if status != want || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("%q: %d %q %s, want %d\n%s", req, status, ctype, body, want, tail(logs.String(), 2000))
		}
	}
}

// TestHostVaultExample: examples/vault.Caddyfile likewise.
func TestHostVaultExample(t *testing.T) {
	s := newVaultSetup(t)
	listen, logs := startConfig(t, "examples/vault.Caddyfile",
		"VAULT_ADDR="+s.e.Addr, "VAULT_TOKEN="+s.e.Admin.Token(), "QFPAY_ENV="+s.up.URL,
		"QFPAY_VAULT_SECRET="+s.e.Mount+"/qfpay/demo")
	waitReady(t, listen, logs)
	probeHosts(t, portOf(t, listen), s.up, logs)
}

// TestHostPodConfig: the Kubernetes ConfigMap's payment listener likewise
// (its ports moved to free ones, Vault's login to the double's).
func TestHostPodConfig(t *testing.T) {
	e, up, cf := podWithVault(t, "pod-jwt-host")
	ports := []int{freePort(t), freePort(t), freePort(t)}
	for i, old := range []string{"http://:8080 {", "http://:8081 {", "http://:8082 {"} {
		if !strings.Contains(cf, old) {
			t.Fatalf("the pod's Caddyfile has no %q", old)
		}
		cf = strings.Replace(cf, old, fmt.Sprintf("http://:%d {", ports[i]), 1)
	}
	path := writeTemp(t, t.TempDir(), "Caddyfile", cf)
	listen := fmt.Sprintf("127.0.0.1:%d", ports[0])
	logs, _ := startListening(t, path, listen, "QFPAY_ENV="+up.URL, "VAULT_ADDR="+e.Addr,
		"QFPAY_VAULT_SECRET="+e.Mount+"/qfpay/shop", "QFSIGN_STORE=memory")
	waitReady(t, fmt.Sprintf("127.0.0.1:%d", ports[2]), logs)
	probeHosts(t, ports[0], up, logs)
}

// waitReady polls /healthz/ready at addr (probing is polling) for 10s.
func waitReady(t *testing.T, addr string, logs *syncBuffer) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready after 10s:\n%s", tail(logs.String(), 3000))
		}
		time.Sleep(50 * time.Millisecond) // probing is polling
	}
}

// portOf is the port of a host:port address.
func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if _, err := fmt.Sscan(p, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestHostOnlySiteLogsError: a site address with a host leaves other
// Hosts to Caddy's empty 200, which qfsign cannot answer; the qfpay app
// says so at start (probeHosts checks the shipped configs do not).
func TestHostOnlySiteLogsError(t *testing.T) {
	port := freePort(t)
	cf := fmt.Sprintf(`{
	admin off
	qfpay {
		environment embedded
		store memory
		merchant default {
			app_code {env.QFPAY_APP_CODE}
			client_key {env.QFPAY_CLIENT_KEY}
		}
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	qfpay_gateway default
}
`, port)
	path := writeTemp(t, t.TempDir(), "Caddyfile", cf)
	logs, _ := startListening(t, path, fmt.Sprintf("127.0.0.1:%d", port))
	waitLog(t, logs, hostOnlyWarning)
	status, _, body := rawExchange(t, port, "GET /trade/v1/query HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	if status != 200 || len(body) != 0 {
		t.Fatalf("Caddy's answer to an unmatched host changed: %d %q; revisit warnHostOnlyServers", status, body)
	}
}

// waitLog waits up to 10s for s in a process's output and returns the
// output so far.
func waitLog(t *testing.T, logs *syncBuffer, s string) string {
	t.Helper()
	if !logs.WaitFor(s, 10*time.Second) {
		t.Fatalf("no %q in the output:\n%s", s, tail(logs.String(), 3000))
	}
	return logs.String()
}
