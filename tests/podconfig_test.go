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
	t.Setenv("QFPAY_VAULT_SECRET", "secret/qfpay/demo")
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(b.String()), map[string]any{"filename": "configmap"})
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	for _, w := range warnings {
		t.Logf("warning: %s", w.Message)
	}
	for _, want := range []string{`"handler":"qfpay_health"`, `"check":"startup"`, `"check":"live"`, `"handler":"qfpay_sign"`,
		`"handler":"qfpay_notify"`, `"method":"kubernetes"`, `"disabled":true`, `"handler":"metrics"`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("adapted config lacks %s", want)
		}
	}
}
