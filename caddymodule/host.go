package caddymodule

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(HostCheck{})
	httpcaddyfile.RegisterHandlerDirective("qfpay_host", func(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
		hc := new(HostCheck)
		return hc, hc.UnmarshalCaddyfile(h.Dispenser)
	})
	// First: a Host the gateway does not serve is answered before any
	// other handler (route, respond, metrics) sees the request.
	httpcaddyfile.RegisterDirectiveOrder("qfpay_host", httpcaddyfile.Before, "tracing")
}

// ruleHost: the request's Host is not a name this listener serves.
const ruleHost = "host"

// HostCheck passes requests whose Host names this machine's loopback
// (localhost, 127.0.0.0/8, ::1) or one of Names, at any port, and answers
// every other one with JSON: 400 without a Host, 421 for another name.
// It belongs on a site whose address has no host (http://:8080): a site
// address with a host makes Caddy answer every other Host with an empty
// 200 that never reaches a handler.
//
// Loopback names are safe to serve: a page in a local browser that
// rebinds its own DNS name to 127.0.0.1 still sends that name as Host,
// and is refused here.
type HostCheck struct {
	// Names are the extra host names (or IP addresses) served, such as a
	// Service's DNS name when applications reach qfsign through it.
	Names []string `json:"names,omitempty"`

	names map[string]bool
}

// CaddyModule returns the Caddy module information.
func (HostCheck) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_host",
		New: func() caddy.Module { return new(HostCheck) },
	}
}

// Provision normalises the names.
func (h *HostCheck) Provision(caddy.Context) error {
	h.names = make(map[string]bool, len(h.Names))
	for _, n := range h.Names {
		n = strings.ToLower(strings.Trim(n, "[]"))
		if n == "" || (strings.ContainsAny(n, ":/ ") && net.ParseIP(n) == nil) {
			return fmt.Errorf("qfpay_host: %q is not a host name (no scheme, port or path)", n)
		}
		h.names[n] = true
	}
	return nil
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *HostCheck) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if rf := h.check(r.Host); rf != nil {
		rf.closeConn = true
		rf.write(w)
		return nil
	}
	return next.ServeHTTP(w, r)
}

// check says why host is not served, or nil. r.Host is the absolute-form
// target's host when there is one (RFC 9112 3.2.2), so both are checked.
func (h *HostCheck) check(host string) *refusal {
	if host == "" {
		return &refusal{Status: http.StatusBadRequest, Field: "Host", Rule: ruleHost,
			Error: "the request has no Host header; use http://127.0.0.1:PORT or http://localhost:PORT"}
	}
	name := hostName(host)
	if isLoopbackName(name) || h.names[name] {
		return nil
	}
	return &refusal{Status: http.StatusMisdirectedRequest, Field: "Host", Rule: ruleHost,
		Error: "this gateway does not serve the host in the request; use http://127.0.0.1:PORT or http://localhost:PORT, or list the name in qfpay_host"}
}

// hostName is host without its port and brackets, in lower case.
func hostName(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.Trim(host, "[]"))
}

// isLoopbackName: localhost (RFC 6761 keeps it on loopback) or a
// loopback address.
func isLoopbackName(name string) bool {
	if name == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(name)
	return err == nil && ip.Unmap().IsLoopback()
}

// UnmarshalCaddyfile reads `qfpay_host [<name>...]`.
func (h *HostCheck) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	h.Names = append(h.Names, d.RemainingArgs()...)
	if d.NextBlock(0) {
		return d.Err("qfpay_host takes no block")
	}
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*HostCheck)(nil)
	_ caddyhttp.MiddlewareHandler = (*HostCheck)(nil)
	_ caddyfile.Unmarshaler       = (*HostCheck)(nil)
)
