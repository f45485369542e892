package caddymodule

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/qfsign/qfsign/keys"
)

func init() {
	caddy.RegisterModule(HealthHandler{})
	httpcaddyfile.RegisterHandlerDirective("qfpay_health", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		hh := new(HealthHandler)
		return hh, hh.UnmarshalCaddyfile(h.Dispenser)
	})
	httpcaddyfile.RegisterDirectiveOrder("qfpay_health", httpcaddyfile.Before, "reverse_proxy")
}

// Probe kinds, after cloud-sql-proxy's: none of them depends on QFPay
// being reachable, since a QFPay outage must not restart every pod.
const (
	// probeStartup: every merchant's key was loaded at least once.
	probeStartup = "startup"
	// probeReady: every merchant has a usable key now, and the server is
	// not shutting down.
	probeReady = "ready"
	// probeLive: the process answers and no key refresher is stuck.
	probeLive = "live"
)

// HealthHandler answers a Kubernetes probe with 200 or 503 and a JSON
// report per merchant: kid (a fingerprint), key age, last error. It
// never shows key material and does not call the next handler.
type HealthHandler struct {
	// Check is startup, ready (default) or live.
	Check string `json:"check,omitempty"`

	app *App
}

// CaddyModule returns the Caddy module information.
func (HealthHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_health",
		New: func() caddy.Module { return new(HealthHandler) },
	}
}

// Provision finds the qfpay app.
func (h *HealthHandler) Provision(ctx caddy.Context) error {
	if h.Check == "" {
		h.Check = probeReady
	}
	app, err := ctx.App("qfpay")
	if err != nil {
		return fmt.Errorf("qfpay_health: %w", err)
	}
	h.app = app.(*App)
	return nil
}

// Validate checks the probe kind.
func (h *HealthHandler) Validate() error {
	switch h.Check {
	case probeStartup, probeReady, probeLive:
		return nil
	}
	return fmt.Errorf("qfpay_health: check must be startup, ready or live, got %q", h.Check)
}

type healthMerchant struct {
	keys.Status
	AgeSecs float64 `json:"age_seconds"`
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *HealthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	st := h.app.statuses()
	out := struct {
		Check        string                    `json:"check"`
		OK           bool                      `json:"ok"`
		ShuttingDown bool                      `json:"shutting_down,omitempty"`
		Merchants    map[string]healthMerchant `json:"merchants"`
	}{Check: h.Check, OK: true, ShuttingDown: shuttingDown(r), Merchants: make(map[string]healthMerchant, len(st))}
	for name, s := range st {
		out.Merchants[name] = healthMerchant{Status: s, AgeSecs: s.Age.Round(time.Millisecond).Seconds()}
		switch h.Check {
		case probeStartup:
			out.OK = out.OK && s.Loaded
		case probeReady:
			out.OK = out.OK && s.Ready
		case probeLive:
			out.OK = out.OK && s.Alive
		}
	}
	if h.Check == probeReady && out.ShuttingDown {
		out.OK = false
	}
	status := http.StatusOK
	if !out.OK {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}

// shuttingDown: the process is exiting, or the server has scheduled its
// shutdown (shutdown_delay), so load balancers should stop sending.
func shuttingDown(r *http.Request) bool {
	if caddy.Exiting() {
		return true
	}
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return false
	}
	v, _ := repl.Get("http.shutting_down")
	b, _ := v.(bool)
	return b
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler:
//
//	qfpay_health [startup|ready|live]
func (h *HealthHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() {
		h.Check = d.Val()
	}
	if d.NextArg() || d.NextBlock(0) {
		return d.ArgErr()
	}
	switch h.Check {
	case "", probeStartup, probeReady, probeLive:
		return nil
	}
	return d.Errf("qfpay_health: check must be startup, ready or live, got %q", h.Check)
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*HealthHandler)(nil)
	_ caddy.Validator             = (*HealthHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*HealthHandler)(nil)
	_ caddyfile.Unmarshaler       = (*HealthHandler)(nil)
)
