package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// parseGateway reads the qfpay_gateway directive; a matcher before the
// merchant is Caddy's, as for any handler directive.
func parseGateway(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	g := new(Gateway)
	err := g.UnmarshalCaddyfile(h.Dispenser)
	return g, err
}

// UnmarshalCaddyfile implements caddyfile.Unmarshaler:
//
//	qfpay_gateway [<matcher>] <merchant> {
//		max_body                <bytes>
//		max_fields              <n>
//		unknown_fields          <pass|refuse>
//		listener_rate_limit     <n>/s,<n>/m | <per_second> <per_minute> | off
//		verify_response         <off|log|enforce>
//		endpoints               <path...>
//		order_ttl               <duration>
//		on_store_error          <refuse|allow>
//		resolve_pending         <max_wait> [<interval>]
//		not_at_qfpay_after      <duration>
//		strict_escapes
//		mode                    <sign|observe>
//		dial_timeout            <duration>
//		response_header_timeout <duration>
//		forward_proxy_url       <url>
//	}
//
// response_timeout is accepted for response_header_timeout and
// forward_proxy for forward_proxy_url.
func (h *Gateway) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // directive name
	if !d.AllArgs(&h.Merchant) {
		return d.ArgErr()
	}
	for d.NextBlock(0) {
		known, err := h.unmarshalOption(d)
		if err == nil && !known {
			known, err = h.Client.unmarshalOption(d)
		}
		if err != nil {
			return err
		}
		if !known {
			return d.Errf("qfpay_gateway: unknown option %q", d.Val())
		}
	}
	return nil
}

// unmarshalOption parses one option of the client to QFPay.
func (c *Client) unmarshalOption(d *caddyfile.Dispenser) (known bool, err error) {
	switch d.Val() {
	case "dial_timeout":
		c.DialTimeout, err = parseDurationArg(d)
	case "response_header_timeout", "response_timeout":
		c.ResponseHeaderTimeout, err = parseDurationArg(d)
	case "forward_proxy_url", "forward_proxy":
		if !d.AllArgs(&c.ForwardProxyURL) {
			return true, d.ArgErr()
		}
	default:
		return false, nil
	}
	return true, err
}

// unmarshalOption parses one option of the gateway's own.
func (h *Gateway) unmarshalOption(d *caddyfile.Dispenser) (known bool, err error) {
	switch d.Val() {
	case "max_body":
		h.MaxBody, err = parseMaxBody(d)
	case "max_fields":
		h.MaxFields, err = parsePositiveInt(d)
	case "unknown_fields":
		if !d.AllArgs(&h.UnknownFields) {
			return true, d.ArgErr()
		}
		if h.UnknownFields != unknownPass && h.UnknownFields != unknownRefuse {
			err = d.Errf("unknown_fields must be pass or refuse, got %q", h.UnknownFields)
		}
	case "listener_rate_limit":
		h.ListenerRateLimit, err = unmarshalRateLimit(d)
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
	case "not_at_qfpay_after":
		h.NotAtQFPayAfter, err = parseDurationArg(d)
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

// parsePositiveInt reads one positive integer argument of the option.
func parsePositiveInt(d *caddyfile.Dispenser) (int, error) {
	opt := d.Val()
	var raw string
	if !d.AllArgs(&raw) {
		return 0, d.ArgErr()
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		return 0, d.Errf("%s must be a positive number, got %q", opt, raw)
	}
	return n, nil
}
