package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// Vault down mid-run: the cached key keeps signing until max_stale, then
// 503 and nothing forwarded; Vault back, signing resumes.
func TestVaultDownMidRunUntilMaxStale(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "refresh 50ms\nmax_stale 1s\nretry 50ms 100ms", "")
	s.waitReady(t, true, 5*time.Second)
	s.e.SetDown(true)
	downAt := time.Now()
	served := 0
	for {
		code, res := s.pay(t)
		if code == http.StatusOK && res == "0000" {
			served++
			continue
		}
		if code != http.StatusServiceUnavailable || res != "key_unavailable" {
			t.Fatalf("while stale: %d %s, want 503 key_unavailable", code, res)
		}
		break
	}
	staleAfter := time.Since(downAt)
	t.Logf("Vault down: %d payments served from the cached key for %s, then 503", served, staleAfter.Round(time.Millisecond))
	if served == 0 || staleAfter < 900*time.Millisecond {
		t.Fatalf("served %d over %s: the cached key must serve until max_stale (1s)", served, staleAfter)
	}
	before := s.up.double.Count()
	for range 5 {
		if code, _ := s.pay(t); code != http.StatusServiceUnavailable {
			t.Fatalf("stale key: %d, want 503", code)
		}
	}
	if n := s.up.double.Count() - before; n != 0 {
		t.Fatalf("%d requests forwarded with a stale key", n)
	}
	s.e.SetDown(false)
	t.Logf("Vault back: ready after %s", s.waitReady(t, true, 5*time.Second).Round(time.Millisecond))
	if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
		t.Fatalf("after recovery: %d %s", code, respcd)
	}
}

// Every auth method and both KV versions, through the real Caddy.
func TestVaultAuthMethods(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, s *vaultSetup, dir string) (vaultOpts, secretOpts string)
	}{
		{name: "token kv2", setup: func(*testing.T, *vaultSetup, string) (string, string) { return "", "" }},
		{name: "token kv1", setup: func(t *testing.T, s *vaultSetup, _ string) (string, string) {
			m := s.e.KVv1(t)
			s.e.PutV1(t, m, s.e.Mount+"/qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey1})
			return "", "kv 1\nmount " + m
		}},
		{name: "token_file", setup: func(t *testing.T, s *vaultSetup, dir string) (string, string) {
			p := writeTemp(t, dir, "token", s.e.Token(t, time.Hour, true))
			return "auth token_file " + p, ""
		}},
		{name: "approle", setup: func(t *testing.T, s *vaultSetup, dir string) (string, string) {
			ar := s.e.EnableAppRole(t, time.Hour, 2*time.Hour)
			return fmt.Sprintf("auth approle %s %s\nauth_mount %s", ar.RoleID, writeTemp(t, dir, "sid", ar.SecretID), ar.Mount), ""
		}},
		{name: "approle wrapped", setup: func(t *testing.T, s *vaultSetup, dir string) (string, string) {
			ar := s.e.EnableAppRole(t, time.Hour, 2*time.Hour)
			return fmt.Sprintf("auth approle %s %s wrapped\nauth_mount %s", ar.RoleID, writeTemp(t, dir, "sid", s.e.WrapSecretID(t, ar)), ar.Mount), ""
		}},
		{name: "kubernetes", setup: func(t *testing.T, s *vaultSetup, dir string) (string, string) {
			mount := s.e.EnableKubernetes(t, "qfsign", time.Hour, "pod-jwt-1")
			return fmt.Sprintf("auth kubernetes qfsign %s\nauth_mount %s", writeExact(t, dir, "jwt", s.e.KubeJWT(t, "qfsign", "pod-jwt-1")), mount), ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newVaultSetup(t)
			vo, so := tt.setup(t, s, t.TempDir())
			s.start(t, vo, so)
			s.waitReady(t, true, 5*time.Second)
			if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
				t.Fatalf("payment: %d %s", code, respcd)
			}
		})
	}
}

// A revoked token, then an expired one: each time Vault Agent's sink has
// a new token, and the next refresh logs in again and sees a rotation.
func TestVaultTokenRevokedThenExpired(t *testing.T) {
	s := newVaultSetup(t)
	dir := t.TempDir()
	tok := s.e.Token(t, time.Hour, true)
	sink := writeTemp(t, dir, "token", tok)
	s.start(t, "refresh 50ms\nretry 20ms 50ms\nauth token_file "+sink, "")
	s.waitReady(t, true, 5*time.Second)
	// Step 1 expires the token step 0 put in the sink. The gateway keeps
	// renewing it, so on a real Vault only an explicit max TTL ends it.
	for i, step := range []struct {
		kill func(string)
		next func() string
	}{
		{func(tok string) { s.e.Revoke(t, tok) }, func() string { return s.e.ExpiringToken(t, 5*time.Second) }},
		{func(tok string) { s.e.ExpireToken(t, tok) }, func() string { return s.e.Token(t, time.Hour, true) }},
	} {
		next := step.next()
		step.kill(tok)
		writeTemp(t, dir, "token", next)
		tok = next
		app, key := vaultApp2, vaultKey2
		if i == 1 {
			app, key = vaultApp1, vaultKey1
		}
		version := s.e.Put(t, "qfpay/demo", map[string]any{"app_code": app, "client_key": key})
		deadline := time.Now().Add(5 * time.Second)
		for !strings.HasSuffix(s.kid(t), fmt.Sprintf("/v%d", version)) {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: version %d not loaded; kid %s", i, version, s.kid(t))
			}
			time.Sleep(20 * time.Millisecond)
		}
		if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
			t.Fatalf("step %d: payment %d %s", i, code, respcd)
		}
	}
	if n := s.e.Calls("GET /v1/auth/token/lookup-self"); n < 3 {
		t.Fatalf("lookup-self calls = %d, want a login per token (3)", n)
	}
}

func (s *vaultSetup) kid(t *testing.T) string {
	_, r := s.ready(t)
	return r.Merchants["default"].KID
}

// At steady state requests never call Vault.
func TestVaultNoCallsPerRequest(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "refresh 1h", "")
	s.waitReady(t, true, 5*time.Second)
	before := s.e.Calls("")
	for range 200 {
		if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
			t.Fatalf("payment: %d %s", code, respcd)
		}
	}
	if n := s.e.Calls("") - before; n != 0 {
		t.Fatalf("%d Vault calls for 200 payments, want 0", n)
	}
}

// QFPay answers 1108 because the key was rotated after the last refresh:
// refetch once, sign again, resend once. A second 1108 soon after (the
// key changed again at QFPay but not in Vault) is passed on, not resent,
// and costs Vault nothing: refetches are spaced by 5s.
func TestVault1108SelfHeal(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "refresh 1h", "")
	s.waitReady(t, true, 5*time.Second)
	s.up.double.AddMerchant(qfpaytest.Merchant{AppCode: vaultApp1, ClientKey: vaultKey2})
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey2})
	before, reads := s.up.double.Count(), s.e.CallsPrefix("GET /v1/"+s.e.Mount+"/data/")
	if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
		t.Fatalf("rotated key: %d %s, want 0000 after one resend", code, respcd)
	}
	if n := s.up.double.Count() - before; n != 2 {
		t.Fatalf("rotated key: %d requests to QFPay, want 2 (1108 then the resend)", n)
	}
	if lines := s.gw.waitLogLines(t, `"msg":"transaction"`, `"resent_1108":true`, `/v2"`); len(lines) != 1 {
		t.Fatalf("transaction lines with the resend = %d, want 1", len(lines))
	}
	s.up.double.AddMerchant(qfpaytest.Merchant{AppCode: vaultApp1, ClientKey: "a-key-vault-never-had"})
	before = s.up.double.Count()
	if code, respcd := s.pay(t); code != http.StatusOK || respcd != "1108" {
		t.Fatalf("key not rotated in Vault: %d %s, want QFPay's 1108 passed on", code, respcd)
	}
	if n := s.up.double.Count() - before; n != 1 {
		t.Fatalf("no new key: %d requests to QFPay, want 1 (no resend)", n)
	}
	if n := s.e.CallsPrefix("GET /v1/"+s.e.Mount+"/data/") - reads; n != 1 {
		t.Fatalf("Vault reads for two 1108s = %d, want 1", n)
	}
	scanForVaultSecrets(t, s)
}

// scanForVaultSecrets checks logs and the admin config for both keys and
// the Vault token.
func scanForVaultSecrets(t *testing.T, s *vaultSetup) {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/config/", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for name, h := range map[string][]byte{"logs": s.gw.logs(t), "admin config": cfg} {
		for _, needle := range []string{vaultKey1, vaultKey2, s.e.Admin.Token()} {
			if bytes.Contains(h, []byte(needle)) {
				t.Errorf("%s contain a secret (%s...)", name, needle[:6])
			}
		}
	}
	if !bytes.Contains(s.gw.logs(t), []byte(`"level":"debug"`)) {
		t.Error("no debug lines: the scan did not cover the debug log")
	}
}

func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	return writeExact(t, dir, name, content+"\n")
}

// writeExact writes content as is: a projected service account token has
// no trailing newline, and the Kubernetes login sends the file verbatim.
func writeExact(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// QFPay starts refusing the old key while eight callers pay at once: the
// 1108s that arrive together share one Vault read, every caller re-signs
// with the rotated key, and no payment fails.
func TestVault1108RotationAtConcurrency8(t *testing.T) {
	s := newVaultSetup(t)
	s.start(t, "refresh 1h", "")
	s.waitReady(t, true, 5*time.Second)
	const workers, each = 8, 10
	var failed atomic.Int64
	var fails sync.Map
	reads := s.e.CallsPrefix("GET /v1/" + s.e.Mount + "/data/")
	progress := make(chan struct{}, workers*each)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if code, respcd, err := s.tryPay(); err != nil || code != http.StatusOK || respcd != "0000" {
					failed.Add(1)
					fails.Store(fmt.Sprint(code, respcd, err), true)
				}
				progress <- struct{}{}
			}
		})
	}
	for range workers * each / 4 {
		<-progress
	}
	// Vault first, then QFPay: from here every request signed with the
	// old key gets 1108.
	s.e.Put(t, "qfpay/demo", map[string]any{"app_code": vaultApp1, "client_key": vaultKey2})
	s.up.double.AddMerchant(qfpaytest.Merchant{AppCode: vaultApp1, ClientKey: vaultKey2})
	wg.Wait()
	refused := 0
	for _, ex := range s.up.exchanges() {
		if strings.Contains(string(ex.resp), `"respcd":"1108"`) {
			refused++
		}
	}
	if failed.Load() != 0 {
		var why []string
		fails.Range(func(k, _ any) bool { why = append(why, k.(string)); return true })
		t.Fatalf("%d of %d payments failed across the rotation: %v", failed.Load(), workers*each, why)
	}
	if refused == 0 {
		t.Fatal("no request was refused with 1108: the rotation was not exercised")
	}
	n := s.e.CallsPrefix("GET /v1/"+s.e.Mount+"/data/") - reads
	t.Logf("%d payments, %d answered 1108 and were re-signed, %d Vault reads", workers*each, refused, n)
	if n != 1 {
		t.Fatalf("%d Vault reads for the 1108s of one rotation, want 1", n)
	}
}
