package caddymodule

import (
	"encoding/json"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("qfpay", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("qfpay_sign", parseSignDirective)
	httpcaddyfile.RegisterDirectiveOrder("qfpay_sign", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterHandlerDirective("qfpay_notify", parseNotifyDirective)
	httpcaddyfile.RegisterDirectiveOrder("qfpay_notify", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterDirective("qfpay_gateway", parseGatewayDirective)
	httpcaddyfile.RegisterDirectiveOrder("qfpay_gateway", httpcaddyfile.Before, "reverse_proxy")
}

// parseGlobalOption sets up the qfpay app:
//
//	qfpay {
//		environment <production|test|sandbox|embedded|base URL>
//		store       <memory|redis <host:port> { ... }>
//		vault { ... }
//		merchant <name> {
//			vault      <mount>/<path> { ... }
//			app_code   <code>
//			client_key <placeholder>
//			mchid      <id>
//			sign_type  <md5|sha256>
//			pay_types  <code...>
//			timezone   <IANA zone>
//			rate_limit <per_second> <per_minute> | <n>/s,<n>/m | off
//		}
//	}
func parseGlobalOption(d *caddyfile.Dispenser, existing any) (any, error) {
	app := new(App)
	if existing != nil {
		return nil, d.Err("qfpay: the global option may appear only once")
	}
	if err := app.UnmarshalCaddyfile(d); err != nil {
		return nil, err
	}
	return httpcaddyfile.App{Name: "qfpay", Value: caddyconfig.JSON(app, nil)}, nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler.
func (a *App) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // option name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		switch d.Val() {
		case "environment":
			if !d.NextArg() {
				return d.ArgErr()
			}
			a.Environment = d.Val()
			if d.NextArg() {
				return d.ArgErr()
			}
		case "merchant":
			if err := a.unmarshalMerchant(d); err != nil {
				return err
			}
		case "vault":
			if a.Vault != nil {
				return d.Err("qfpay: vault is set twice")
			}
			var err error
			if a.Vault, err = unmarshalVault(d); err != nil {
				return err
			}
		case "store":
			if a.Store != nil {
				return d.Err("qfpay: store is set twice")
			}
			var err error
			if a.Store, err = unmarshalStore(d); err != nil {
				return err
			}
		default:
			return d.Errf("qfpay: unknown option %q", d.Val())
		}
	}
	return nil
}

func (a *App) unmarshalMerchant(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	name := d.Val()
	if _, dup := a.Merchants[name]; dup {
		return d.Errf("qfpay: merchant %q is defined twice", name)
	}
	m := new(Merchant)
	for d.NextBlock(1) {
		opt := d.Val()
		switch opt {
		case "pay_types":
			if m.PayTypes = d.RemainingArgs(); len(m.PayTypes) == 0 {
				return d.ArgErr()
			}
			continue
		case "vault":
			var err error
			if m.Vault, err = unmarshalMerchantVault(d); err != nil {
				return err
			}
			continue
		case "rate_limit":
			var err error
			if m.RateLimit, err = unmarshalRateLimit(d); err != nil {
				return err
			}
			continue
		}
		dst := map[string]*string{
			"app_code": &m.AppCode, "client_key": &m.ClientKey, "mchid": &m.MchID,
			"sign_type": &m.SignType, "timezone": &m.Timezone,
		}[opt]
		if dst == nil {
			return d.Errf("qfpay: merchant %s: unknown option %q", name, opt)
		}
		if !d.AllArgs(dst) {
			// Not ArgErr: it would quote the value, and this may be a key.
			return d.Errf("qfpay: merchant %s: %s takes exactly one argument", name, opt)
		}
	}
	if a.Merchants == nil {
		a.Merchants = make(map[string]*Merchant)
	}
	a.Merchants[name] = m
	return nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler:
//
//	qfpay_sign <merchant> {
//		max_body        <bytes>
//		verify_response <off|log|enforce>
//		endpoints       <path...>
//		order_ttl       <duration>
//		on_store_error  <refuse|allow>
//		resolve_pending <max_wait> [<interval>]
//		strict_escapes
//		mode            <sign|observe>
//	}
func (h *SignHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if !d.AllArgs(&h.Merchant) {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		known, err := h.unmarshalOption(d)
		if err != nil {
			return err
		}
		if !known {
			return d.Errf("qfpay_sign: unknown option %q", d.Val())
		}
	}
	return nil
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler:
//
//	qfpay_notify <merchant> {
//		max_body <bytes>
//		ack      <success_body|status_2xx>
//		strip_signature
//	}
func (h *NotifyHandler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if !d.AllArgs(&h.Merchant) {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		var err error
		switch d.Val() {
		case "max_body":
			h.MaxBody, err = parseMaxBody(d)
		case "ack":
			if !d.AllArgs(&h.Ack) {
				return d.ArgErr()
			}
			if h.Ack != ackSuccessBody && h.Ack != ackStatus2xx {
				err = d.Errf("ack must be success_body or status_2xx, got %q", h.Ack)
			}
		case "strip_signature":
			if d.NextArg() {
				return d.ArgErr()
			}
			h.StripSignature = true
		default:
			return d.Errf("qfpay_notify: unknown option %q", d.Val())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func parseSignDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(SignHandler)
	err := s.UnmarshalCaddyfile(h.Dispenser)
	return s, err
}

func parseNotifyDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	n := new(NotifyHandler)
	err := n.UnmarshalCaddyfile(h.Dispenser)
	return n, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler:
//
//	transport qfpay {
//		dial_timeout     <duration>
//		response_timeout <duration>
//	}
func (t *Transport) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // transport name
	if d.NextArg() {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		known, err := t.unmarshalOption(d)
		if err != nil {
			return err
		}
		if !known {
			return d.Errf("qfpay transport: unknown option %q", d.Val())
		}
	}
	return nil
}

// unmarshalOption parses one transport option; qfpay_gateway shares it.
func (t *Transport) unmarshalOption(d *caddyfile.Dispenser) (known bool, err error) {
	switch d.Val() {
	case "dial_timeout":
		t.DialTimeout, err = parseDurationArg(d)
	case "response_timeout":
		t.ResponseHeaderTimeout, err = parseDurationArg(d)
	default:
		return false, nil
	}
	return true, err
}

// parseGatewayDirective expands `qfpay_gateway <merchant>` into
// qfpay_sign followed by reverse_proxy to the app's pinned upstream,
// the way php_fastcgi expands:
//
//	qfpay_gateway [<matcher>] <merchant> {
//		<every qfpay_sign option>
//		dial_timeout     <duration>
//		response_timeout <duration>
//	}
func parseGatewayDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	sign, tr, err := unmarshalGateway(h.Dispenser)
	if err != nil {
		return nil, err
	}
	proxy := reverseproxy.Handler{
		TransportRaw: caddyconfig.JSONModuleObject(tr, "protocol", "qfpay", nil),
		Upstreams:    reverseproxy.UpstreamPool{{Dial: "{qfpay.upstream}"}},
	}
	routes := caddyhttp.RouteList{{HandlersRaw: []json.RawMessage{
		caddyconfig.JSONModuleObject(sign, "handler", "qfpay_sign", nil),
		caddyconfig.JSONModuleObject(proxy, "handler", "reverse_proxy", nil),
	}}}
	sub := caddyhttp.Subroute{Routes: routes}
	if matcherSet != nil {
		return []httpcaddyfile.ConfigValue{{Class: "route", Value: caddyhttp.Route{
			MatcherSetsRaw: []caddy.ModuleMap{matcherSet},
			HandlersRaw:    []json.RawMessage{caddyconfig.JSONModuleObject(sub, "handler", "subroute", nil)},
		}}}, nil
	}
	return []httpcaddyfile.ConfigValue{{Class: "route", Value: sub}}, nil
}

func unmarshalGateway(d *caddyfile.Dispenser) (*SignHandler, *Transport, error) {
	sign, tr := new(SignHandler), new(Transport)
	d.Next() // directive name
	if !d.AllArgs(&sign.Merchant) {
		return nil, nil, d.ArgErr()
	}
	for d.NextBlock(0) {
		known, err := sign.unmarshalOption(d)
		if err != nil {
			return nil, nil, err
		}
		if known {
			continue
		}
		known, err = tr.unmarshalOption(d)
		if err != nil {
			return nil, nil, err
		}
		if !known {
			return nil, nil, d.Errf("qfpay_gateway: unknown option %q", d.Val())
		}
	}
	return sign, tr, nil
}

func parseVerifyMode(d *caddyfile.Dispenser, dst *string) error {
	if !d.AllArgs(dst) {
		return d.ArgErr()
	}
	switch *dst {
	case verifyOff, verifyLog, verifyEnforce:
		return nil
	}
	return d.Errf("verify_response must be off, log or enforce, got %q", *dst)
}

func parseMaxBody(d *caddyfile.Dispenser) (int64, error) {
	var raw string
	if !d.AllArgs(&raw) {
		return 0, d.ArgErr()
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n <= 0 {
		return 0, d.Errf("max_body must be a positive number of bytes, got %q", raw)
	}
	return n, nil
}

func parseDurationArg(d *caddyfile.Dispenser) (caddy.Duration, error) {
	opt := d.Val()
	var raw string
	if !d.AllArgs(&raw) {
		return 0, d.ArgErr()
	}
	dur, err := caddy.ParseDuration(raw)
	if err != nil || dur <= 0 {
		return 0, d.Errf("%s: want a positive duration, got %q", opt, raw)
	}
	return caddy.Duration(dur), nil
}
