package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalVault parses the qfpay app's vault block:
//
//	vault {
//		address     <url>
//		namespace   <ns>
//		ca_cert     <file>
//		client_cert <file>
//		client_key  <file>
//		auth token [<placeholder>]
//		auth token_file <path>
//		auth approle <role_id> <secret_id_file> [wrapped]
//		auth approle <role_id> env <VAR> [wrapped]
//		auth kubernetes <role> [<token_path>]
//		auth_mount  <mount>
//		refresh     <duration>
//		max_stale   <duration>
//		retry       <min> <max>
//		timeout     <duration>
//	}
func unmarshalVault(d *caddyfile.Dispenser) (*VaultConfig, error) {
	if d.NextArg() {
		return nil, d.ArgErr()
	}
	c := new(VaultConfig)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		var err error
		switch opt {
		case "address", "namespace", "ca_cert", "client_cert", "client_key":
			dst := map[string]*string{"address": &c.Address, "namespace": &c.Namespace,
				"ca_cert": &c.CACert, "client_cert": &c.ClientCert, "client_key": &c.ClientKey}[opt]
			if !d.AllArgs(dst) {
				return nil, d.ArgErr()
			}
		case "auth":
			if c.Auth != nil && c.Auth.Method != "" {
				return nil, d.Err("vault: auth is set twice")
			}
			mount := authMount(c)
			if c.Auth, err = unmarshalVaultAuth(d); err != nil {
				return nil, err
			}
			c.Auth.Mount = mount
		case "auth_mount":
			if c.Auth == nil {
				c.Auth = new(VaultAuth)
			}
			if !d.AllArgs(&c.Auth.Mount) {
				return nil, d.ArgErr()
			}
		case "refresh", "max_stale", "timeout":
			dst := map[string]*caddy.Duration{"refresh": &c.Refresh, "max_stale": &c.MaxStale, "timeout": &c.Timeout}[opt]
			err = parseDurations(d, dst)
		case "retry":
			err = parseDurations(d, &c.RetryMin, &c.RetryMax)
		default:
			return nil, d.Errf("vault: unknown option %q", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func authMount(c *VaultConfig) string {
	if c.Auth == nil {
		return ""
	}
	return c.Auth.Mount
}

func unmarshalVaultAuth(d *caddyfile.Dispenser) (*VaultAuth, error) {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.ArgErr()
	}
	a := &VaultAuth{Method: args[0]}
	args = args[1:]
	n := len(args)
	switch a.Method {
	case "token":
		if n > 1 {
			return nil, d.ArgErr()
		}
		if n == 1 {
			a.Token = args[0]
		}
	case "token_file":
		if n != 1 {
			return nil, d.ArgErr()
		}
		a.TokenFile = args[0]
	case "approle":
		if n > 0 && args[n-1] == "wrapped" {
			a.Wrapped, n = true, n-1
		}
		switch {
		case n == 2 && args[1] != "env":
			a.RoleID, a.SecretIDFile = args[0], args[1]
		case n == 3 && args[1] == "env":
			a.RoleID, a.SecretIDEnv = args[0], args[2]
		default:
			return nil, d.ArgErr()
		}
	case "kubernetes":
		if n < 1 || n > 2 {
			return nil, d.ArgErr()
		}
		a.Role = args[0]
		if n == 2 {
			a.TokenPath = args[1]
		}
	default:
		return nil, d.Errf("vault: auth method must be token, token_file, approle or kubernetes, got %q", a.Method)
	}
	return a, nil
}

// parseDurations reads exactly len(dst) duration arguments.
func parseDurations(d *caddyfile.Dispenser, dst ...*caddy.Duration) error {
	args := d.RemainingArgs()
	if len(args) != len(dst) {
		return d.ArgErr()
	}
	for i, a := range args {
		v, err := caddy.ParseDuration(a)
		if err != nil || v <= 0 {
			return d.Errf("%s: invalid duration %q", d.Val(), a)
		}
		*dst[i] = caddy.Duration(v)
	}
	return nil
}

// unmarshalMerchantVault parses a merchant's secret location:
//
//	vault <mount>/<path> {
//		mount  <mount>
//		kv     <1|2>
//		fields <app_code> <client_key> [<mchid>]
//	}
func unmarshalMerchantVault(d *caddyfile.Dispenser) (*MerchantVault, error) {
	mv := new(MerchantVault)
	if !d.AllArgs(&mv.Path) {
		return nil, d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "mount":
			if !d.AllArgs(&mv.Mount) {
				return nil, d.ArgErr()
			}
		case "kv":
			var v string
			if !d.AllArgs(&v) {
				return nil, d.ArgErr()
			}
			n, err := strconv.Atoi(v)
			if err != nil || (n != 1 && n != 2) {
				return nil, d.Errf("vault kv: must be 1 or 2, got %q", v)
			}
			mv.KVVersion = n
		case "fields":
			args := d.RemainingArgs()
			if len(args) < 2 || len(args) > 3 {
				return nil, d.ArgErr()
			}
			mv.AppCodeField, mv.ClientKeyField = args[0], args[1]
			if len(args) == 3 {
				mv.MchIDField = args[2]
			}
		default:
			return nil, d.Errf("vault: unknown merchant option %q", d.Val())
		}
	}
	return mv, nil
}
