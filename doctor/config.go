package doctor

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// ConfigChecks reads the adapted JSON config for risks the gateway itself
// accepts: the admin API reachable over TCP, secrets written literally,
// and notification routes that reach no application.
func ConfigChecks(cfgJSON []byte) []Check {
	var cfg struct {
		Admin *struct {
			Disabled bool   `json:"disabled"`
			Listen   string `json:"listen"`
		} `json:"admin"`
		Apps struct {
			QFPay json.RawMessage `json:"qfpay"`
			HTTP  struct {
				Servers map[string]struct {
					Routes []route `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return []Check{{Scope: "config", Name: "json", Status: Fail, Detail: err.Error()}}
	}
	checks := []Check{adminCheck(cfg.Admin == nil || !cfg.Admin.Disabled, adminListen(cfg.Admin))}
	checks = append(checks, literalSecrets(cfg.Apps.QFPay)...)
	names := make([]string, 0, len(cfg.Apps.HTTP.Servers))
	for name := range cfg.Apps.HTTP.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	var warnings []Check
	routes := 0
	for _, name := range names {
		w, n := notifyRoutes(name, cfg.Apps.HTTP.Servers[name].Routes, false)
		warnings, routes = append(warnings, w...), routes+n
	}
	if routes > 0 && len(warnings) == 0 {
		warnings = []Check{{Scope: "config", Name: "notify routes", Status: OK,
			Detail: fmt.Sprintf("%d qfpay_notify handler(s), each followed by a reverse_proxy to the application", routes)}}
	}
	return append(checks, warnings...)
}

func adminListen(a *struct {
	Disabled bool   `json:"disabled"`
	Listen   string `json:"listen"`
}) string {
	if a == nil || a.Listen == "" {
		return caddy.DefaultAdminListen
	}
	return a.Listen
}

// adminCheck: a unix socket is reachable only by who may open the file;
// a TCP port on loopback by every process of the host or pod; anything
// else by the network.
func adminCheck(enabled bool, listen string) Check {
	c := Check{Scope: "config", Name: "admin API"}
	if !enabled {
		c.Status, c.Detail = OK, "off"
		return c
	}
	addr, err := caddy.ParseNetworkAddress(listen)
	switch {
	case err != nil:
		c.Status, c.Detail = Fail, fmt.Sprintf("listen %q: %v", listen, err)
	case addr.IsUnixNetwork():
		c.Status, c.Detail = OK, "on the unix socket "+addr.Host+" (reachable by who may open the file)"
	case isLoopback(addr.Host):
		c.Status, c.Detail = Warn, "on tcp "+listen+": every local process (every container of a pod) can load a config, "+
			"for instance one that prints the Vault token; use `admin off` or a unix socket"
	default:
		c.Status, c.Detail = Fail, "on tcp "+listen+", beyond loopback: anyone who reaches it can replace the config; use `admin off` or a unix socket"
	}
	return c
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// literalSecrets finds secrets written into the config instead of a
// placeholder resolved at start: they show in the file, the admin API
// and every copy of the JSON.
func literalSecrets(raw json.RawMessage) []Check {
	var app struct {
		Merchants map[string]struct {
			ClientKey string `json:"client_key"`
		} `json:"merchants"`
		Store *struct {
			Password string `json:"password"`
		} `json:"store"`
		Vault *struct {
			Auth *struct {
				Token string `json:"token"`
			} `json:"auth"`
		} `json:"vault"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &app) != nil {
		return nil
	}
	var found []string
	for name, m := range app.Merchants {
		if isLiteral(m.ClientKey) {
			found = append(found, "merchant "+name+" client_key")
		}
	}
	if app.Store != nil && isLiteral(app.Store.Password) {
		found = append(found, "store password")
	}
	if app.Vault != nil && app.Vault.Auth != nil && isLiteral(app.Vault.Auth.Token) {
		found = append(found, "vault auth token")
	}
	if len(found) == 0 {
		return []Check{{Scope: "config", Name: "literal secrets", Status: OK, Detail: "none: every secret is a placeholder"}}
	}
	slices.Sort(found)
	return []Check{{Scope: "config", Name: "literal secrets", Status: Warn,
		Detail: strings.Join(found, ", ") + ": written in the config (a Caddyfile {$VAR} is too); use {env.VAR} or {file./path}"}}
}

// isLiteral: set, and not a single placeholder such as {env.X}.
func isLiteral(s string) bool {
	return s != "" && !(strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && strings.Count(s, "{") == 1)
}

// route is the part of a Caddy route the notification check reads.
type route struct {
	Match  []json.RawMessage `json:"match"`
	Handle []handler         `json:"handle"`
}

type handler struct {
	Handler   string     `json:"handler"`
	Merchant  string     `json:"merchant"`
	Routes    []route    `json:"routes"`    // subroute
	Upstreams []upstream `json:"upstreams"` // reverse_proxy
}

type upstream struct {
	Dial string `json:"dial"`
}

// delivers reports whether h passes requests to an application: a
// reverse_proxy does unless every upstream it lists is an empty
// placeholder now ({env.QFSIGN_NOTIFY_TO} unset); a request-time
// placeholder ({http.*}, {vars.*}) is kept, not taken for empty.
func (h handler) delivers() bool {
	if h.Handler == "reverse_proxy" {
		repl := caddy.NewReplacer()
		return len(h.Upstreams) == 0 || slices.ContainsFunc(h.Upstreams, func(u upstream) bool {
			return strings.TrimSpace(repl.ReplaceKnown(u.Dial, "")) != ""
		})
	}
	for _, r := range h.Routes {
		if slices.ContainsFunc(r.Handle, handler.delivers) {
			return true
		}
	}
	return false
}

// notifyRoutes walks routes from the end, knowing whether something
// after them (tail) delivers to an application: a qfpay_notify with
// nothing after it verifies notifications that then reach no one. A
// later route with matchers counts only for its own handlers: it is
// usually another path. It returns the warnings and how many
// qfpay_notify handlers it saw.
func notifyRoutes(server string, routes []route, tail bool) ([]Check, int) {
	var out []Check
	n := 0
	for i := len(routes) - 1; i >= 0; i-- {
		local := tail
		hs := routes[i].Handle
		for j := len(hs) - 1; j >= 0; j-- {
			h := hs[j]
			if h.Handler == "qfpay_notify" {
				n++
				if !local {
					out = append(out, Check{Scope: "config", Name: "notify routes", Status: Warn,
						Detail: "server " + server + ": qfpay_notify " + h.Merchant + " has no reverse_proxy after it, or its upstream is empty (e.g. QFSIGN_NOTIFY_TO unset): verified notifications reach no application"})
				}
			}
			if h.Handler == "subroute" {
				w, k := notifyRoutes(server, h.Routes, local)
				out, n = append(out, w...), n+k
			}
			local = local || h.delivers()
		}
		if len(routes[i].Match) == 0 {
			tail = local
		}
	}
	return out, n
}
