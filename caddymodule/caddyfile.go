package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterGlobalOption("qfpay", parseGlobalOption)
	httpcaddyfile.RegisterHandlerDirective("qfpay_notify", parseNotifyDirective)
	httpcaddyfile.RegisterDirectiveOrder("qfpay_notify", httpcaddyfile.Before, "reverse_proxy")
	httpcaddyfile.RegisterHandlerDirective("qfpay_gateway", parseGateway)
	httpcaddyfile.RegisterDirectiveOrder("qfpay_gateway", httpcaddyfile.Before, "reverse_proxy")
}

// parseGlobalOption sets up the qfpay app:
//
//	qfpay {
//		environment <production|test|sandbox|embedded|base URL>
//		embedded_notify <url>
//		store       [file [<path>] { ... } | memory | redis <address>... { ... }]
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
		case "embedded_notify":
			if !d.NextArg() {
				return d.ArgErr()
			}
			a.EmbeddedNotify = d.Val()
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

func parseNotifyDirective(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	n := new(NotifyHandler)
	err := n.UnmarshalCaddyfile(h.Dispenser)
	return n, err
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
