package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
)

// The shipped configs bound every server: headers within 10s, the whole
// request within 30s (a stalled body is cut then), idle connections closed.
func TestShippedConfigsBoundConnections(t *testing.T) {
	example, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"Caddyfile.example": string(example), "configmap": podCaddyfile(t)} {
		var cfg struct {
			Apps struct {
				HTTP struct {
					Servers map[string]struct {
						ReadHeader time.Duration `json:"read_header_timeout"`
						Read       time.Duration `json:"read_timeout"`
						Idle       time.Duration `json:"idle_timeout"`
					} `json:"servers"`
				} `json:"http"`
			} `json:"apps"`
		}
		if err := json.Unmarshal(adaptCaddyfile(t, src, name), &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Apps.HTTP.Servers) == 0 {
			t.Fatalf("%s: no servers", name)
		}
		for srv, s := range cfg.Apps.HTTP.Servers {
			if s.ReadHeader <= 0 || s.ReadHeader > 10*time.Second || s.Read <= 0 || s.Read > 30*time.Second || s.Idle <= 0 {
				t.Errorf("%s server %s: read_header %s, read_body %s, idle %s", name, srv, s.ReadHeader, s.Read, s.Idle)
			}
		}
	}
}

// startBounded runs a gateway whose servers cut a request after 1s.
func startBounded(t *testing.T, upstream string) *gateway {
	t.Helper()
	port := freePort(t)
	return startGatewayRaw(t, fmt.Sprintf(`{
	admin localhost:%d
	servers {
		timeouts {
			read_header 1s
			read_body 1s
		}
	}
	qfpay {
		environment %s
		%s
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway shop
	}
}
`, adminPort, upstream, merchantBlock("shop", ""), port))
}

// A client that sends headers and a few body bytes, then stalls, is cut
// by read_body (1s here; 10s in the shipped configs), and nothing is
// forwarded.
func TestStalledBodyIsCut(t *testing.T) {
	up := newDroppingUpstream(t)
	gw := startBounded(t, up.URL)
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /trade/v1/payment HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\ntxamt=15")
	// The client's own deadline only guards the test; the server must
	// close first.
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = io.Copy(io.Discard, conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("the server held a stalled request for 20s")
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("closed after %s, before read_body (1s): not the timeout", took)
	}
	if n := up.count(); n != 0 {
		t.Fatalf("%d requests forwarded", n)
	}
}

// A client that writes a whole 2 MiB body before reading (Python's
// urllib) reads the 413 JSON instead of a connection reset: the gateway
// drains a bounded amount before answering.
func TestTooLargeReachesWriteFirstClient(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is required (make test installs it: scripts/deps.sh)")
	}
	up := newDroppingUpstream(t)
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	const script = `
import sys, urllib.request, urllib.error
body = (b"out_trade_no=" + sys.argv[2].encode() + b"&txamt=1&") + b"a" * (2 << 20)
req = urllib.request.Request(sys.argv[1], data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
try:
    urllib.request.urlopen(req, timeout=20)
    print("200")
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
except Exception as e:
    print("error", repr(e))
`
	for i := range 5 {
		out, _ := exec.Command(python, "-c", script, gw.base+"/trade/v1/payment", fmt.Sprintf("BIG-%s-%d", testvault.RandomID(4), i)).CombinedOutput()
		first, _, _ := bufio.NewReader(strings.NewReader(string(out))).ReadLine()
		if !strings.HasPrefix(string(first), "413 ") || !strings.Contains(string(out), `"rule":"max_body"`) {
			t.Fatalf("attempt %d: %s", i, out)
		}
	}
	if n := up.count(); n != 0 {
		t.Fatalf("%d requests forwarded", n)
	}
}

// TestShippedConfigsBoundNotifyAnswer: the shipped configs wait a bounded
// time for the application's answer to a notification (QFPay retries an
// unanswered one), so a hung application holds no connection for long.
func TestShippedConfigsBoundNotifyAnswer(t *testing.T) {
	example, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	for name, src := range map[string]string{"Caddyfile.example": string(example), "configmap": podCaddyfile(t)} {
		out := string(adaptCaddyfile(t, src, name))
		i := strings.Index(out, `"handler":"qfpay_notify"`)
		j := strings.Index(out[max(i, 0):], `"handler":"reverse_proxy"`)
		if i < 0 || j < 0 {
			t.Fatalf("%s: no qfpay_notify followed by reverse_proxy", name)
		}
		proxy := out[i+j:]
		for _, want := range []string{`"dial_timeout":5000000000`, `"response_header_timeout":10000000000`, `"read_timeout":10000000000`} {
			if !strings.Contains(proxy[:min(len(proxy), 600)], want) {
				t.Errorf("%s: the notification proxy lacks %s: %.600s", name, want, proxy)
			}
		}
	}
}

// TestNotificationAnswerBounded: an application that never answers is
// cut at the proxy's response_header_timeout; QFPay hears no SUCCESS,
// and its retry is forwarded and acknowledged once the application
// answers.
func TestNotificationAnswerBounded(t *testing.T) {
	v := withSyssn(loadNotifyVector(t), "20200413000300020087200001")
	release := make(chan struct{})
	var calls atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			select { // hold the first answer until the gateway gives up
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	t.Cleanup(func() { close(release); app.Close() })
	os.Setenv("QFSIGN_TEST_NOTIFY_KEY", v.ClientKey)
	t.Cleanup(func() { os.Unsetenv("QFSIGN_TEST_NOTIFY_KEY") })
	gw := startGateway(t, "embedded", `merchant hk {
			app_code {env.QFSIGN_TEST_APPCODE}
			client_key {env.QFSIGN_TEST_NOTIFY_KEY}
			mchid ZaMVg12345
		}`, `route /qfpay/notify {
		qfpay_notify hk
		reverse_proxy `+strings.TrimPrefix(app.URL, "http://")+` {
			transport http {
				response_header_timeout 1s
			}
		}
	}`)
	resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
	if resp.StatusCode == http.StatusOK || strings.Contains(string(body), "SUCCESS") {
		t.Fatalf("hung application: QFPay got %d %q, want no SUCCESS", resp.StatusCode, body)
	}
	resp, body = gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusOK || string(body) != "SUCCESS" || calls.Load() != 2 {
		t.Fatalf("retry: QFPay got %d %q after %d deliveries", resp.StatusCode, body, calls.Load())
	}
}
