package caddymodule

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshalStore parses:
//
//	store                                   # file in the data directory
//	store file [<path>] {
//		path <path>
//		sync on|off
//		max_bytes <n>
//	}
//	store memory
//	store redis[s]://<host:port>[/<db>]
//	store redis <host:port>... {
//		username        <placeholder>
//		password        <placeholder>
//		db              <n>
//		master_name     <name>
//		cluster
//		tls
//		tls_ca          <file>
//		tls_server_name <name>
//		prefix          <prefix>
//		timeout         <duration>
//		min_replicas    <n>
//	}
func unmarshalStore(d *caddyfile.Dispenser) (*StoreConfig, error) {
	c := &StoreConfig{Backend: storeFile}
	// No argument is the file store, as an empty environment variable gives.
	if d.NextArg() {
		c.Backend = d.Val()
	}
	var err error
	switch {
	case strings.HasPrefix(c.Backend, "redis://") || strings.HasPrefix(c.Backend, "rediss://"):
		if err := c.fromURL(c.Backend); err != nil {
			return nil, d.Err(err.Error())
		}
		err = argsDone(d)
	case c.Backend == storeFile:
		if d.NextArg() {
			c.Path = d.Val()
		}
		err = argsDone(d)
	case c.Backend == storeMemory:
		err = argsDone(d)
	case c.Backend == storeRedis:
		for d.NextArg() {
			c.Addresses = append(c.Addresses, d.Val())
		}
		if c.Address == "" && len(c.Addresses) > 0 {
			c.Address, c.Addresses = c.Addresses[0], c.Addresses[1:]
		}
		if len(c.Addresses) == 0 {
			c.Addresses = nil // as JSON gives it back
		}
		if c.Address == "" {
			err = d.ArgErr()
		}
	default:
		err = d.Errf("store: backend must be file, memory or redis, got %q", c.Backend)
	}
	if err != nil {
		return nil, err
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch c.Backend {
		case storeFile:
			err = c.unmarshalFileOption(d)
		case storeRedis:
			err = c.unmarshalRedisOption(d)
		default:
			err = d.Errf("store %s takes no options", c.Backend)
		}
		if err != nil {
			return nil, err
		}
	}
	return c, nil
}

func argsDone(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

// fromURL reads redis[s]://host:port[/db], the form an environment
// variable carries; a password belongs in the password option, as a
// placeholder, never in a URL that lands in the JSON config.
func (c *StoreConfig) fromURL(raw string) error {
	u, err := url.Parse(raw)
	if strings.Contains(raw, "@") {
		return fmt.Errorf("store: want redis[s]://host:port[/db] without credentials; put the password in the password option as a placeholder")
	}
	if err != nil || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("store: want redis[s]://host:port[/db] without credentials, got %q", raw)
	}
	c.Backend, c.Address, c.TLS = storeRedis, u.Host, u.Scheme == "rediss"
	if db := strings.Trim(u.Path, "/"); db != "" {
		if c.DB, err = strconv.Atoi(db); err != nil || c.DB < 0 {
			return fmt.Errorf("store: redis db must be a non-negative integer, got %q", db)
		}
	}
	return nil
}

func (c *StoreConfig) unmarshalFileOption(d *caddyfile.Dispenser) error {
	switch opt := d.Val(); opt {
	case "path":
		if !d.AllArgs(&c.Path) {
			return d.ArgErr()
		}
	case "sync":
		var v string
		if !d.AllArgs(&v) || (v != "on" && v != "off") {
			return d.Errf("store file: sync must be on or off")
		}
		c.NoSync = v == "off"
	case "max_bytes":
		var v string
		if !d.AllArgs(&v) {
			return d.ArgErr()
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return d.Errf("store file: max_bytes must be a positive number of bytes, got %q", v)
		}
		c.MaxBytes = n
	default:
		return d.Errf("store file: unknown option %q", opt)
	}
	return nil
}

func (c *StoreConfig) unmarshalRedisOption(d *caddyfile.Dispenser) error {
	var err error
	switch opt := d.Val(); opt {
	case "password", "username", "prefix", "master_name", "tls_ca", "tls_server_name":
		dst := map[string]*string{"password": &c.Password, "username": &c.Username, "prefix": &c.Prefix,
			"master_name": &c.MasterName, "tls_ca": &c.TLSCA, "tls_server_name": &c.TLSServerName}[opt]
		if !d.AllArgs(dst) {
			// Not ArgErr: it would quote the value, and this may be a password.
			return d.Errf("store redis: %s takes exactly one argument", opt)
		}
	case "cluster", "tls":
		if d.NextArg() {
			return d.Errf("store redis: %s takes no argument", opt)
		}
		c.Cluster, c.TLS = c.Cluster || opt == "cluster", c.TLS || opt == "tls"
	case "db", "min_replicas":
		var raw string
		if !d.AllArgs(&raw) {
			return d.ArgErr()
		}
		dst := map[string]*int{"db": &c.DB, "min_replicas": &c.MinReplicas}[opt]
		if *dst, err = strconv.Atoi(raw); err != nil || *dst < 0 {
			return d.Errf("store redis: %s must be a non-negative integer, got %q", opt, raw)
		}
	case "timeout":
		c.Timeout, err = parseDurationArg(d)
	default:
		return d.Errf("store redis: unknown option %q", opt)
	}
	return err
}
