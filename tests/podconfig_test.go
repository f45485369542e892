package tests

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

// The Kubernetes ConfigMap's Caddyfile adapts with qfsign's directives,
// and the result has the probes, the gateway and no admin endpoint.
func TestPodCaddyfileAdapts(t *testing.T) {
	out := adaptCaddyfile(t, podCaddyfile(t), "configmap")
	for _, want := range []string{`"handler":"qfpay_health"`, `"check":"startup"`, `"check":"live"`, `"handler":"qfpay_gateway"`,
		`"handler":"qfpay_notify"`, `"method":"kubernetes"`, `"disabled":true`, `"handler":"metrics"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted config lacks %s", want)
		}
	}
}

// podWithVault is the pod's Caddyfile logging in to a Vault double with
// Kubernetes auth (the projected token's path and the double's mount
// replaced, nothing else), and QFPay's double; jwtName names the token.
func podWithVault(t *testing.T, jwtName string) (*testvault.Env, *upstream, string) {
	t.Helper()
	e := testvault.Start(t)
	e.Put(t, "qfpay/shop", map[string]any{"app_code": testAppCode, "client_key": testKey})
	mount := e.EnableKubernetes(t, "qfsign", time.Hour, jwtName)
	jwt := writeExact(t, t.TempDir(), "token", e.KubeJWT(t, "qfsign", jwtName))
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	const tokenLine = "auth kubernetes qfsign /var/run/secrets/vault/token"
	cf := podCaddyfile(t)
	if !strings.Contains(cf, tokenLine) {
		t.Fatalf("the pod's Caddyfile has no %q", tokenLine)
	}
	return e, up, strings.Replace(cf, tokenLine, "auth kubernetes qfsign "+jwt+"\n\t\t\tauth_mount "+mount, 1)
}

// podCaddyfile is the Caddyfile in the Kubernetes ConfigMap.
func podCaddyfile(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("../deploy/kubernetes/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "Caddyfile: |")
	if i < 0 {
		t.Fatal("no Caddyfile in the ConfigMap")
	}
	var b strings.Builder
	for _, line := range strings.Split(s[i:], "\n")[1:] {
		if line != "" && !strings.HasPrefix(line, "    ") {
			break
		}
		b.WriteString(strings.TrimPrefix(line, "    ") + "\n")
	}
	return b.String()
}

// adaptCaddyfile adapts src to JSON as `qfsign adapt` would.
func adaptCaddyfile(t *testing.T, src, name string) []byte {
	t.Helper()
	t.Setenv("QFPAY_VAULT_SECRET", "secret/qfpay/demo")
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(src), map[string]any{"filename": name})
	if err != nil {
		t.Fatalf("adapt %s: %v", name, err)
	}
	for _, w := range warnings {
		t.Logf("%s: warning: %s", name, w.Message)
	}
	return out
}

// TestDoctorOnPodConfig: qfsign doctor on the pod's own Caddyfile, with
// Vault's Kubernetes login and QFPay's double: the
// shipped config passes every check.
func TestDoctorOnPodConfig(t *testing.T) {
	e, up, cf := podWithVault(t, "pod-jwt-doctor")
	path := writeTemp(t, t.TempDir(), "Caddyfile", cf)
	code, out := binaryExit(t, nil, []string{"QFPAY_ENV=" + up.URL, "VAULT_ADDR=" + e.Addr,
		"QFPAY_VAULT_SECRET=" + e.Mount + "/qfpay/shop", "QFSIGN_STORE=memory"}, "doctor", "--config", path)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, tail(out, 3000))
	}
	for _, want := range []string{
		"OK    admin API          off",
		"OK    notify routes      1 qfpay_notify",
		"OK    login              " + e.Addr + ", auth kubernetes",
		"vault " + e.Mount + "/qfpay/shop: app_code " + testAppCode + ", key " + signer.NewSecret(testKey).Fingerprint(),
		"OK    signed query       QFPay accepted app_code and signature",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, testKey) {
		t.Error("the key shows")
	}
}
