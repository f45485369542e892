package tests

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
)

// payURLLine is what a client prints on success: the pay_url alone, here
// the embedded double's checkout page.
var payURLLine = regexp.MustCompile(`^http://127\.0\.0\.1:\d+/checkout/[A-Z2-7]+\n$`)

// TestClientExamples runs every client of examples/clients against the
// shipped Caddyfile.example: a new order gets a pay_url, a double submit
// is replayed, a reused out_trade_no is refused, and neither a QFPay
// business error nor an empty answer is mistaken for success. A missing
// interpreter fails the test: CI must install it.
func TestClientExamples(t *testing.T) {
	listen, logs := startExample(t)
	clients := []struct {
		name  string
		tools []string // each must be on PATH
		apt   string   // what to install, named in the failure
		argv  []string
	}{
		{"curl", []string{"bash", "curl"}, "curl", []string{"bash", "curl.sh"}},
		{"python", []string{"python3"}, "python3", []string{"python3", "client.py"}},
		{"node", []string{"node"}, "nodejs (20)", []string{"node", "client.mjs"}},
		{"php", []string{"php"}, "php-cli php-curl", []string{"php", "client.php"}},
		{"java", []string{"java"}, "openjdk-17-jdk-headless", []string{"java", "Client.java"}},
	}
	for _, c := range clients {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			for _, tool := range c.tools {
				if _, err := exec.LookPath(tool); err != nil {
					t.Fatalf("%s is not installed; CI must install it (apt-get install %s)", tool, c.apt)
				}
			}
			run := func(env ...string) (stdout, stderr string, exit int) {
				t.Helper()
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Dir = "../examples/clients"
				cmd.Env = append(cleanEnv(), env...)
				var o, e bytes.Buffer
				cmd.Stdout, cmd.Stderr = &o, &e
				err := cmd.Run()
				var exitErr *exec.ExitError
				if err != nil && !errors.As(err, &exitErr) {
					t.Fatalf("%v: %v", c.argv, err)
				}
				return o.String(), e.String(), cmd.ProcessState.ExitCode()
			}
			gateway := "QFSIGN_URL=http://" + listen
			order := "QFSIGN_OUT_TRADE_NO=CL-" + c.name + "-" + testvault.RandomID(4)

			first, stderr, exit := run(gateway, order)
			if exit != 0 || !payURLLine.MatchString(first) {
				t.Fatalf("new order: exit %d, stdout %q, stderr %q\ngateway logs:\n%s", exit, first, stderr, logs.String())
			}
			// The double submit gets the recorded answer: same pay_url, and the
			// client reports X-Qfsign-Replayed.
			again, stderr, exit := run(gateway, order)
			if exit != 0 || again != first || !strings.Contains(stderr, "X-Qfsign-Replayed") {
				t.Errorf("double submit: exit %d, stdout %q (first %q), stderr %q", exit, again, first, stderr)
			}
			out, stderr, exit := run(gateway, order, "QFSIGN_TXAMT=1501")
			if exit == 0 || out != "" || !strings.Contains(stderr, "409") || !strings.Contains(stderr, `"rule":"reused"`) {
				t.Errorf("reused out_trade_no: exit %d, stdout %q, stderr %q", exit, out, stderr)
			}
			// localhost is served like 127.0.0.1 (qfpay_host): the recorded answer.
			_, port, _ := strings.Cut(listen, ":")
			out, stderr, exit = run("QFSIGN_URL=http://localhost:"+port, order)
			if exit != 0 || out != first || !strings.Contains(stderr, "X-Qfsign-Replayed") {
				t.Errorf("localhost: exit %d, stdout %q, stderr %q", exit, out, stderr)
			}

			// Against a stand-in for the gateway: what the client sends on the
			// wire, and a QFPay business error (HTTP 200, respcd 1297).
			type sent struct {
				method, path string
				header       http.Header
				form         url.Values
			}
			// A channel, not a shared variable: the socket is no happens-before edge for -race.
			received := make(chan sent, 1)
			stub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				form, _ := url.ParseQuery(string(body))
				select {
				case received <- sent{r.Method, r.URL.Path, r.Header.Clone(), form}:
				default:
				}
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"respcd":"1297","respmsg":"busy","pay_url":"https://should.not/print"}`)
			}))
			defer stub.Close()
			out, stderr, exit = run("QFSIGN_URL="+stub.URL, "QFSIGN_OUT_TRADE_NO=CL-STUB-1")
			if exit == 0 || out != "" || !strings.Contains(stderr, `"respcd":"1297"`) {
				t.Errorf("respcd 1297: exit %d, stdout %q, stderr %q", exit, out, stderr)
			}
			var got sent
			select {
			case got = <-received:
			default:
				t.Fatal("the client sent nothing to the stub")
			}
			want := url.Values{"txamt": {"1500"}, "txcurrcd": {"HKD"}, "pay_type": {"801101"}, "out_trade_no": {"CL-STUB-1"},
				"goods_name": {"測試 test"}, "return_url": {"https://shop.example/done"}}
			if got.method != http.MethodPost || got.path != "/trade/v1/payment" ||
				!strings.HasPrefix(got.header.Get("Content-Type"), "application/x-www-form-urlencoded") {
				t.Errorf("request: %s %s, Content-Type %q", got.method, got.path, got.header.Get("Content-Type"))
			}
			if got.form.Encode() != want.Encode() {
				t.Errorf("form sent:\n%s\nwant\n%s", got.form.Encode(), want.Encode())
			}
			// The point of the sidecar: the application signs nothing.
			for name := range got.header {
				if strings.HasPrefix(strings.ToLower(name), "x-qf") {
					t.Errorf("the client sent %s", name)
				}
			}
		})
	}
}
