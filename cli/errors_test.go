package cli

import "testing"

// TestSummarise: Caddy's provisioning chain is cut to the innermost
// module's message; an adapter's error loses only Caddy's prefixes.
func TestSummarise(t *testing.T) {
	tests := []struct{ name, chain, want string }{
		{
			"provisioning chain",
			"loading initial config: loading new config: loading http app module: provision http: server srv0: setting up route handlers: route 0: loading handler modules: position 0: loading module 'subroute': provision http.handlers.subroute: setting up subroutes: route 0: loading module 'qfpay_health': provision http.handlers.qfpay_health: qfpay_health: loading qfpay app module: provision qfpay: qfpay: merchant default: app_code: unresolved or empty: set the environment variable QFPAY_APP_CODE",
			"qfpay: merchant default: app_code: unresolved or empty: set the environment variable QFPAY_APP_CODE",
		},
		{
			"adapter error over lines",
			"loading initial config: adapting config using caddyfile: Caddyfile:3 - Error during parsing:\n  wrong argument count",
			"adapting config using caddyfile: Caddyfile:3 - Error during parsing: wrong argument count",
		},
		{"own command", "no key: environment variable NOPE is not set or empty", "no key: environment variable NOPE is not set or empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := summarise(tt.chain); got != tt.want {
				t.Errorf("summarise:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}
