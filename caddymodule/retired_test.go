package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestRetiredModulesRefused pins docs/configuration.md: qfpay_sign and the
// qfpay transport are retired, so a config that still names them fails to
// load instead of running something else.
func TestRetiredModulesRefused(t *testing.T) {
	if _, err := caddy.GetModule("http.handlers.qfpay_gateway"); err != nil {
		t.Fatalf("the current handler: %v", err)
	}
	for _, id := range []string{"http.handlers.qfpay_sign", "http.reverse_proxy.transport.qfpay"} {
		if _, err := caddy.GetModule(id); err == nil {
			t.Errorf("%s is still registered", id)
		}
	}
	cfg := "{\n\tadmin off\n\tqfpay {\n\t\tenvironment embedded\n\t\tmerchant m {\n\t\t}\n\t}\n}\n" +
		"http://127.0.0.1:1 {\n\troute {\n\t\tqfpay_sign m\n\t}\n}\n"
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cfg), nil)
	if err == nil || !strings.Contains(err.Error(), "unrecognized directive: qfpay_sign") {
		t.Fatalf("a Caddyfile naming qfpay_sign: %v", err)
	}
}
