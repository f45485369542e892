package tests

import (
	"os"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// The Kubernetes ConfigMap's Caddyfile adapts with qfsign's directives,
// and the result has the probes, the gateway and no admin endpoint.
func TestPodCaddyfileAdapts(t *testing.T) {
	out := adaptCaddyfile(t, podCaddyfile(t), "configmap")
	for _, want := range []string{`"handler":"qfpay_health"`, `"check":"startup"`, `"check":"live"`, `"handler":"qfpay_sign"`,
		`"handler":"qfpay_notify"`, `"method":"kubernetes"`, `"disabled":true`, `"handler":"metrics"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted config lacks %s", want)
		}
	}
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
