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
)

func init() {
	caddy.RegisterModule(ReadyHandler{})
	httpcaddyfile.RegisterHandlerDirective("qfpay_ready", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		r := new(ReadyHandler)
		return r, r.UnmarshalCaddyfile(h.Dispenser)
	})
	httpcaddyfile.RegisterDirectiveOrder("qfpay_ready", httpcaddyfile.Before, "reverse_proxy")
}

// ReadyHandler answers a readiness probe: 200 when every merchant has a
// usable key, 503 otherwise, with each merchant's kid and key age. It
// never shows key material; kids are fingerprints.
type ReadyHandler struct {
	app *App
}

// CaddyModule returns the Caddy module information.
func (ReadyHandler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_ready",
		New: func() caddy.Module { return new(ReadyHandler) },
	}
}

// Provision finds the qfpay app.
func (h *ReadyHandler) Provision(ctx caddy.Context) error {
	app, err := ctx.App("qfpay")
	if err != nil {
		return fmt.Errorf("qfpay_ready: %w", err)
	}
	h.app = app.(*App)
	return nil
}

type readyMerchant struct {
	Ready     bool    `json:"ready"`
	KID       string  `json:"kid,omitempty"`
	AgeSecs   float64 `json:"age_seconds"`
	LastError string  `json:"last_error,omitempty"`
}

// ServeHTTP implements caddyhttp.MiddlewareHandler; it does not call next.
func (h *ReadyHandler) ServeHTTP(w http.ResponseWriter, _ *http.Request, _ caddyhttp.Handler) error {
	ok, st := h.app.Ready()
	out := struct {
		Ready     bool                     `json:"ready"`
		Merchants map[string]readyMerchant `json:"merchants"`
	}{Ready: ok, Merchants: make(map[string]readyMerchant, len(st))}
	for name, s := range st {
		out.Merchants[name] = readyMerchant{Ready: s.Ready, KID: s.KID, AgeSecs: s.Age.Round(time.Millisecond).Seconds(), LastError: s.LastError}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(out)
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler: `qfpay_ready`
// takes no arguments.
func (h *ReadyHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if d.NextArg() || d.NextBlock(0) {
		return d.ArgErr()
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*ReadyHandler)(nil)
	_ caddyhttp.MiddlewareHandler = (*ReadyHandler)(nil)
	_ caddyfile.Unmarshaler       = (*ReadyHandler)(nil)
)
