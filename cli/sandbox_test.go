package cli

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

// sandboxRun is runSandbox started in a goroutine on a free port.
type sandboxRun struct {
	url    string
	banner string
	cancel context.CancelFunc
	done   chan outcome
}

func startSandbox(t *testing.T, e env, args ...string) *sandboxRun {
	t.Helper()
	if !slices.Contains(args, "--ledger") && !slices.Contains(args, "--throwaway") {
		args = append(args, "--ledger", filepath.Join(t.TempDir(), "ledger.db"))
	}
	fs := parse(t, "sandbox", append([]string{"--listen", "127.0.0.1:0"}, args...)...)
	out, errOut := &syncBuffer{}, &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	r := &sandboxRun{cancel: cancel, done: make(chan outcome, 1)}
	go func() {
		code, err := runSandbox(ctx, fs, stdio{out: out, errOut: errOut, lookupEnv: e.lookup})
		r.done <- outcome{code: code, out: out.String(), errOut: errOut.String(), err: err}
	}()
	t.Cleanup(func() { r.stop(t) })
	re := regexp.MustCompile(`base URL:\s+(http://\S+)`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := re.FindStringSubmatch(out.String()); m != nil && strings.Contains(out.String(), "stop with") {
			r.url, r.banner = m[1], out.String()
			return r
		}
		select {
		case o := <-r.done:
			r.done <- o
			t.Fatalf("sandbox returned early: code %d, err %v", o.code, o.err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatal("sandbox printed no base URL")
	return nil
}

// stop cancels the run and waits for runSandbox to return cleanly.
func (r *sandboxRun) stop(t *testing.T) outcome {
	t.Helper()
	r.cancel()
	select {
	case o := <-r.done:
		r.done <- o
		if o.code != 0 || o.err != nil {
			t.Errorf("sandbox ended with code %d, err %v", o.code, o.err)
		}
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("sandbox did not return after cancel")
		return outcome{}
	}
}

// pay posts a payment signed with appCode and key; it returns respcd.
func pay(t *testing.T, base, appCode, key, outTradeNo string, st signer.SignType) string {
	t.Helper()
	return payAnswer(t, base, appCode, key, outTradeNo, st).Respcd
}

// answer is what the sandbox tests read of a payment answer.
type answer struct {
	Respcd string `json:"respcd"`
	PayURL string `json:"pay_url"`
}

// payAnswer posts an 801101 payment signed with appCode and key.
func payAnswer(t *testing.T, base, appCode, key, outTradeNo string, st signer.SignType) answer {
	t.Helper()
	p := signer.FromMap(map[string]string{
		"txamt": "1500", "txcurrcd": "HKD", "pay_type": "801101", "out_trade_no": outTradeNo,
		"txdtm": time.Now().Format("2006-01-02 15:04:05"),
	})
	req, err := http.NewRequest(http.MethodPost, base+"/trade/v1/payment", strings.NewReader(string(p.Encode())))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-QF-APPCODE", appCode)
	req.Header.Set("X-QF-SIGN", signer.Sign(p, signer.NewSecret(key), st))
	if h := st.Header(); h != "" {
		req.Header.Set("X-QF-SIGNTYPE", h)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body answer
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return body
}

// checkoutPay presses Pay on the checkout page at payURL, as a browser
// would; the sandbox answers with a redirect (no return_url: the page).
func checkoutPay(t *testing.T, payURL string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(payURL, url.Values{"action": {"pay"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("Pay answered %d", resp.StatusCode)
	}
}

func TestSandboxDemoCredentials(t *testing.T) {
	r := startSandbox(t, env{"QFPAY_CLIENT_KEY": "a-real-key-the-sandbox-must-not-pick-up"})
	for _, want := range []string{qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "QFPAY_ENV=" + r.url + " ", "checkout:    " + r.url + "/checkout/<id>"} {
		if !strings.Contains(r.banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, r.banner)
		}
	}
	if got := pay(t, r.url, qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "CLI-SANDBOX-1", signer.MD5); got != "0000" {
		t.Errorf("demo md5 payment: respcd %s, want 0000", got)
	}
	if got := pay(t, r.url, qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "CLI-SANDBOX-2", signer.SHA256); got != "0000" {
		t.Errorf("demo sha256 payment: respcd %s, want 0000", got)
	}
	if got := pay(t, r.url, qfpaytest.DemoAppCode, "a-real-key-the-sandbox-must-not-pick-up", "CLI-SANDBOX-3", signer.MD5); got != "1108" {
		t.Errorf("payment with another key: respcd %s, want 1108", got)
	}
	o := r.stop(t)
	if !strings.Contains(o.errOut, "stopping") {
		t.Errorf("stderr %q", o.errOut)
	}
	if _, err := http.Get(r.url + "/trade/v1/payment"); err == nil {
		t.Error("the sandbox still answers after it returned")
	}
}

func TestSandboxOwnCredentials(t *testing.T) {
	const key = "team-test-key-0123456789abcdef"
	r := startSandbox(t, env{"TEAM_KEY": key}, "--app-code", "TEAMAPP", "--key-env", "TEAM_KEY")
	if strings.Contains(r.banner, key) || strings.Contains(r.banner, qfpaytest.DemoClientKey) {
		t.Errorf("banner shows a key:\n%s", r.banner)
	}
	for _, want := range []string{signer.NewSecret(key).Fingerprint(), `QFPAY_CLIENT_KEY="$TEAM_KEY"`, "TEAMAPP"} {
		if !strings.Contains(r.banner, want) {
			t.Errorf("banner lacks %q:\n%s", want, r.banner)
		}
	}
	if got := pay(t, r.url, "TEAMAPP", key, "CLI-TEAM-1", signer.MD5); got != "0000" {
		t.Errorf("own key: respcd %s, want 0000", got)
	}
	if got := pay(t, r.url, "TEAMAPP", qfpaytest.DemoClientKey, "CLI-TEAM-2", signer.MD5); got != "1108" {
		t.Errorf("demo key against own key: respcd %s, want 1108", got)
	}
}

// TestSandboxNotifyThenVerify: an online payment is notified once its
// checkout page is paid, and the notification verifies with
// verify-notify, over the bytes as received.
func TestSandboxNotifyThenVerify(t *testing.T) {
	type got struct {
		body []byte
		sign string
	}
	ch := make(chan got, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case ch <- got{b, r.Header.Get("X-QF-SIGN")}:
		default:
		}
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	defer app.Close()
	r := startSandbox(t, env{}, "--notify-url", app.URL+"/qfpay/notify")
	a := payAnswer(t, r.url, qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "CLI-NOTIFY-1", signer.MD5)
	if a.Respcd != "0000" || !strings.HasPrefix(a.PayURL, r.url+"/checkout/") {
		t.Fatalf("payment: %+v", a)
	}
	select {
	case n := <-ch:
		t.Fatalf("notified before the customer paid: %s", n.body)
	default:
	}
	checkoutPay(t, a.PayURL)
	var n got
	select {
	case n = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("no notification")
	}
	e := env{"QFPAY_CLIENT_KEY": qfpaytest.DemoClientKey}
	if o := run(t, runVerifyNotify, "verify-notify", e, string(n.body), "--sign", n.sign); o.err != nil || o.out != "ok\n" {
		t.Errorf("verify-notify: out %q, err %v", o.out, o.err)
	}
}

func TestSandboxBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--listen", "127.0.0.1:notaport"},
		{"--notify-url", "ftp://example.com/x"},
		{"--notify-url", "/relative"},
		{"--checkout-url", "localhost:9999"},
		{"--checkout-url", "http://localhost:9999/pay"},
		{"--checkout-url", "http://localhost:9999/?a=1"},
		{"--checkout-url", "http://u:p@localhost:9999"},
		{"--app-code", ""},
		{"--key-env", "QFSIGN_T_UNSET"},
		{"--key", "x"},
		{"--ledger", "x.db", "--throwaway"},
	} {
		fs := parse(t, "sandbox", args...)
		code, err := runSandbox(context.Background(), fs, stdio{out: io.Discard, errOut: io.Discard, lookupEnv: env{}.lookup})
		if err == nil || code == 0 {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestSandboxLedger: with a ledger file the sandbox remembers its orders
// across a restart (a reused out_trade_no is refused, 1102); with
// --throwaway it forgets them.
func TestSandboxLedger(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "sandbox.db")
	tests := []struct {
		name  string
		args  []string
		again string // respcd of the same out_trade_no after a restart
	}{
		{"ledger file", []string{"--ledger", ledger}, "1102"},
		{"throwaway", []string{"--throwaway"}, "0000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for range 2 {
				r := startSandbox(t, env{}, tt.args...)
				got = append(got, pay(t, r.url, qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "CLI-LEDGER-1", signer.MD5))
				if !strings.Contains(r.banner, "ledger:      "+map[bool]string{true: ledger, false: "(memory"}[tt.again == "1102"]) {
					t.Errorf("banner:\n%s", r.banner)
				}
				r.stop(t)
			}
			if got[0] != "0000" || got[1] != tt.again {
				t.Errorf("respcd %v, want 0000 then %s", got, tt.again)
			}
		})
	}
}

// TestSandboxCheckoutURL: pay_url and the banner use --checkout-url, the
// address a browser outside the sandbox's network namespace would use.
func TestSandboxCheckoutURL(t *testing.T) {
	r := startSandbox(t, env{}, "--checkout-url", "http://localhost:19999/")
	if !strings.Contains(r.banner, "checkout:    http://localhost:19999/checkout/<id>") {
		t.Errorf("banner:\n%s", r.banner)
	}
	a := payAnswer(t, r.url, qfpaytest.DemoAppCode, qfpaytest.DemoClientKey, "CLI-CHECKOUT-1", signer.MD5)
	if !strings.HasPrefix(a.PayURL, "http://localhost:19999/checkout/") {
		t.Errorf("pay_url %q", a.PayURL)
	}
}

func TestBrowserBase(t *testing.T) {
	for _, tc := range []struct{ name, addr, want string }{
		{"loopback kept", "127.0.0.1:9999", "http://127.0.0.1:9999"},
		{"any IPv4", "0.0.0.0:9999", "http://127.0.0.1:9999"},
		{"any IPv6", "[::]:9999", "http://127.0.0.1:9999"},
		{"named host kept", "sandbox.local:80", "http://sandbox.local:80"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := browserBase(tc.addr); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
