package tests

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
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
		t.Fatal("python3 is required (.ci/run installs it)")
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
