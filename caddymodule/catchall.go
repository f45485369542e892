package caddymodule

import (
	"slices"
	"sort"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// warnHostOnlyServers logs an error for every plain-HTTP server that runs
// a qfsign handler and whose routes all match on Host: Caddy answers a
// request whose Host matches none of its sites (localhost when the site
// is 127.0.0.1, an absolute-form target, HTTP/1.0 without Host) with an
// empty 200 that no handler sees, and an application checking only the
// status would book a payment that never happened. A server with TLS
// refuses unknown names at the handshake instead. Logged, not fatal:
// configurations written before this check keep starting.
func (a *App) warnHostOnlyServers(ctx caddy.Context) {
	v, err := ctx.AppIfConfigured("http")
	if err != nil {
		return
	}
	httpApp, ok := v.(*caddyhttp.App)
	if !ok {
		return
	}
	names := make([]string, 0, len(httpApp.Servers))
	for name := range httpApp.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		srv := httpApp.Servers[name]
		if len(srv.TLSConnPolicies) > 0 || !routesRunQfsign(srv.Routes) || hasCatchAll(srv.Routes) {
			continue
		}
		a.logger.Error("a listener with qfsign handlers answers an unmatched Host with an empty 200: "+
			"write its site address without a host (http://:8080, with bind 127.0.0.1) and add qfpay_host",
			zap.String("server", name), zap.Strings("listen", srv.Listen))
	}
}

// hasCatchAll: some top-level route matches whatever the Host (a site
// without a host, or a route of its own with no host matcher).
func hasCatchAll(routes caddyhttp.RouteList) bool {
	for _, r := range routes {
		if !hostRestricted(r.MatcherSets) {
			return true
		}
	}
	return false
}

// hostRestricted: every matcher set of a route names hosts.
func hostRestricted(sets caddyhttp.MatcherSets) bool {
	if len(sets) == 0 {
		return false
	}
	for _, set := range sets {
		if !slices.ContainsFunc(set, func(m any) bool { _, ok := m.(*caddyhttp.MatchHost); return ok }) {
			return false
		}
	}
	return true
}

// routesRunQfsign: a qfsign handler is among routes, at any depth.
func routesRunQfsign(routes caddyhttp.RouteList) bool {
	for _, r := range routes {
		for _, h := range r.Handlers {
			switch h := h.(type) {
			case *Gateway, *NotifyHandler, *HealthHandler, *HostCheck:
				return true
			case *caddyhttp.Subroute:
				if routesRunQfsign(h.Routes) {
					return true
				}
			}
		}
	}
	return false
}
