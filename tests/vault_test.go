package tests

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// Keys that only Vault holds; the leak checks look for them.
const (
	vaultKey1 = "LEAKCANARY-vault-one-5d0c"
	vaultKey2 = "LEAKCANARY-vault-two-91ab"
	vaultApp1 = "APPCODE-VAULT-1"
	vaultApp2 = "APPCODE-VAULT-2"
)

// vaultSetup is a Vault holding the merchant's secret and a QFPay double
// that knows both the current and the rotated credentials.
type vaultSetup struct {
	e   *testvault.Env
	up  *upstream
	gw  *gateway
	seq atomic.Int64
	// run makes out_trade_no unique across tests: the order store
	// outlives a config, as it must.
	run string
}

func newVaultSetup(t *testing.T) *vaultSetup {
	t.Helper()
	s := &vaultSetup{e: testvault.Start(t), run: testvault.RandomID(4)}
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey1})
	s.up = newUpstream(t, qfpaytest.Merchant{AppCode: vaultApp1, ClientKey: vaultKey1},
		qfpaytest.Merchant{AppCode: vaultApp2, ClientKey: vaultKey2})
	t.Setenv("QFSIGN_TEST_VAULT_TOKEN", s.e.Admin.Token())
	return s
}

// start runs the gateway; vaultOpts go in the vault block, auth defaults
// to the admin token.
func (s *vaultSetup) start(t *testing.T, vaultOpts, secretOpts string) {
	t.Helper()
	if !strings.Contains(vaultOpts, "auth ") {
		vaultOpts += "\nauth token {env.QFSIGN_TEST_VAULT_TOKEN}"
	}
	merchants := fmt.Sprintf(`vault {
			address %s
			%s
		}
		merchant default {
			vault %s/qfpay/demo {
				%s
			}
		}`, s.e.Addr, vaultOpts, s.e.Mount, secretOpts)
	s.gw = startGateway(t, s.up.URL, merchants, `
	handle /healthz/startup {
		qfpay_health startup
	}
	handle /healthz/ready {
		qfpay_health ready
	}
	handle /healthz/live {
		qfpay_health live
	}
	handle {
		qfpay_gateway default
	}`)
}

// pay posts one payment with a fresh out_trade_no.
func (s *vaultSetup) pay(t *testing.T) (int, string) {
	t.Helper()
	code, res, err := s.tryPay()
	if err != nil {
		t.Fatal(err)
	}
	return code, res
}

// tryPay is pay for load goroutines, which must not call t.Fatal.
func (s *vaultSetup) tryPay() (int, string, error) {
	n := s.seq.Add(1)
	resp, err := s.gw.Client.Post(s.gw.base+"/trade/v1/payment", "application/x-www-form-urlencoded",
		strings.NewReader(fmt.Sprintf("txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=V-%s-%d", s.run, n)))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var v struct {
		Respcd string `json:"respcd"`
		Rule   string `json:"rule"`
	}
	_ = json.Unmarshal(body, &v)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, v.Rule, nil
	}
	return resp.StatusCode, v.Respcd, nil
}

type readiness struct {
	Ready     bool `json:"ok"`
	Merchants map[string]struct {
		Ready     bool   `json:"ready"`
		KID       string `json:"kid"`
		LastError string `json:"last_error"`
	} `json:"merchants"`
}

func (s *vaultSetup) ready(t *testing.T) (int, readiness) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.gw.base+"/healthz/ready", nil)
	resp, body := s.gw.do(t, req)
	var r readiness
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("ready body %q: %v", body, err)
	}
	return resp.StatusCode, r
}

// waitReady polls readiness (the probe a kubelet would run) until want.
func (s *vaultSetup) waitReady(t *testing.T, want bool, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if _, r := s.ready(t); r.Ready == want {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("ready did not become %v within %s", want, within)
		}
		time.Sleep(20 * time.Millisecond) // a probe is a poll by nature
	}
}

func TestVaultDownAtStartThenUp(t *testing.T) {
	s := newVaultSetup(t)
	s.e.SetDown(true)
	s.start(t, "retry 50ms 200ms", "")
	code, r := s.ready(t)
	if code != http.StatusServiceUnavailable || r.Ready || r.Merchants["default"].Ready {
		t.Fatalf("ready = %d %+v, want 503 not ready", code, r)
	}
	for range 5 {
		if code, rule := s.pay(t); code != http.StatusServiceUnavailable || rule != "key_unavailable" {
			t.Fatalf("payment with Vault down = %d %s, want 503 key_unavailable", code, rule)
		}
	}
	if n := s.up.double.Count(); n != 0 {
		t.Fatalf("%d requests reached QFPay without a key", n)
	}
	s.e.SetDown(false)
	took := s.waitReady(t, true, 5*time.Second)
	t.Logf("Vault back: ready after %s (retry max 200ms)", took)
	if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
		t.Fatalf("after Vault came back: %d %s", code, respcd)
	}
	if _, r := s.ready(t); !strings.HasSuffix(r.Merchants["default"].KID, "/v1") {
		t.Fatalf("kid = %q, want .../v1", r.Merchants["default"].KID)
	}
}

// Rotation while requests flow: every request succeeds, the new
// credentials take over within one refresh.
func TestVaultRotationUnderLoad(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "refresh 100ms", "")
	s.waitReady(t, true, 5*time.Second)
	var failed, served atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if code, respcd, err := s.tryPay(); err != nil || code != http.StatusOK || respcd != "0000" {
					failed.Add(1)
				}
				served.Add(1)
			}
		}()
	}
	for served.Load() < 50 {
		time.Sleep(5 * time.Millisecond) // let load build before rotating
	}
	rotatedAt := time.Now()
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp2, "client_key": vaultKey2})
	var firstUse time.Duration
	for countAppCode(s.up, vaultApp2) < 50 {
		if firstUse == 0 && countAppCode(s.up, vaultApp2) > 0 {
			firstUse = time.Since(rotatedAt)
		}
		if time.Since(rotatedAt) > 10*time.Second {
			t.Fatal("rotated credentials not in use after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	for range 4 {
		<-done
	}
	t.Logf("served %d, failed %d; new key first used %s after the write (refresh 100ms)", served.Load(), failed.Load(), firstUse.Round(time.Millisecond))
	if failed.Load() != 0 {
		t.Fatalf("%d requests failed around the rotation", failed.Load())
	}
	if countAppCode(s.up, vaultApp1) == 0 {
		t.Fatal("no request used the first key")
	}
}

func countAppCode(u *upstream, app string) int {
	n := 0
	for _, r := range u.double.Requests() {
		if r.Header.Get("X-QF-APPCODE") == app {
			n++
		}
	}
	return n
}

// The shipped examples/vault.Caddyfile, run by the built binary from
// environment variables only; validate passes with Vault unreachable.
func TestVaultExampleRunsFromEnvironment(t *testing.T) {
	s := newVaultSetup(t)
	token := s.e.Admin.Token()
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	if out, err := runBinary(t, []string{"VAULT_ADDR=" + dead, "VAULT_TOKEN=" + token}, "validate", "--config", "examples/vault.Caddyfile"); err != nil {
		t.Fatalf("validate with Vault unreachable: %v\n%s", err, out)
	}
	listen, logs := startConfig(t, "examples/vault.Caddyfile",
		"VAULT_ADDR="+s.e.Addr, "VAULT_TOKEN="+token, "QFPAY_ENV="+s.up.URL,
		"QFPAY_VAULT_SECRET="+s.e.Mount+"/qfpay/demo", "QFPAY_KEY_REFRESH=1s")
	waitReady(t, listen, logs)
	resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded",
		strings.NewReader("txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=EX-1"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("%d %s\n%s", resp.StatusCode, body, logs.String())
	}
	for _, secret := range []string{vaultKey1, token} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("process output contains a secret (%s...)", secret[:6])
		}
	}
}
