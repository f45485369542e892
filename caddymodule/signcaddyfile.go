package caddymodule

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalOption parses one qfpay_sign option; qfpay_gateway shares it.
func (h *SignHandler) unmarshalOption(d *caddyfile.Dispenser) (known bool, err error) {
	switch d.Val() {
	case "max_body":
		h.MaxBody, err = parseMaxBody(d)
	case "verify_response":
		err = parseVerifyMode(d, &h.VerifyResponse)
	case "endpoints":
		if h.Endpoints = d.RemainingArgs(); len(h.Endpoints) == 0 {
			err = d.ArgErr()
		}
	case "order_ttl":
		h.OrderTTL, err = parseDurationArg(d)
	case "on_store_error":
		if !d.AllArgs(&h.OnStoreError) {
			return true, d.ArgErr()
		}
		if h.OnStoreError != storeErrorRefuse && h.OnStoreError != storeErrorAllow {
			err = d.Errf("on_store_error must be refuse or allow, got %q", h.OnStoreError)
		}
	case "resolve_pending":
		h.ResolvePending, err = parseResolvePending(d)
	case "mode":
		if !d.AllArgs(&h.Mode) {
			return true, d.ArgErr()
		}
		if h.Mode != modeSign && h.Mode != modeObserve {
			err = d.Errf("mode must be sign or observe, got %q", h.Mode)
		}
	case "strict_escapes":
		if d.NextArg() {
			return true, d.ArgErr()
		}
		h.StrictEscapes = true
	default:
		return false, nil
	}
	return true, err
}

// parseResolvePending reads `resolve_pending <max_wait> [<interval>]`;
// no argument or "off" (as an empty environment variable gives) is off.
func parseResolvePending(d *caddyfile.Dispenser) (*ResolvePending, error) {
	args := d.RemainingArgs()
	if len(args) == 0 || (len(args) == 1 && args[0] == "off") {
		return nil, nil
	}
	if len(args) > 2 {
		return nil, d.ArgErr()
	}
	rp := new(ResolvePending)
	for i, dst := range []*caddy.Duration{&rp.MaxWait, &rp.Interval}[:len(args)] {
		v, err := caddy.ParseDuration(args[i])
		if err != nil || v <= 0 {
			return nil, d.Errf("resolve_pending: want a positive duration, got %q", args[i])
		}
		*dst = caddy.Duration(v)
	}
	return rp, nil
}
