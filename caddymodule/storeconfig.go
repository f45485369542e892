package caddymodule

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/qfsign/qfsign/store"
)

// StoreConfig chooses where shared state lives.
type StoreConfig struct {
	// Backend is memory (default: one replica, bounded, kept across
	// reloads) or redis (shared by every replica).
	Backend string `json:"backend,omitempty"`
	// Address of the Redis server, host:port. Required for redis.
	Address string `json:"address,omitempty"`
	// Password for Redis; use a placeholder such as {env.REDIS_PASSWORD}.
	Password string `json:"password,omitempty"`
	// DB is the Redis database number. Default 0.
	DB int `json:"db,omitempty"`
	// Prefix namespaces Redis keys. Default "qfsign:".
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds each Redis command. Default 1s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// stores keeps stores (and their connections) across config reloads:
// acknowledged notifications must stay acknowledged when the config changes.
var stores = caddy.NewUsagePool()

type pooledStore struct{ store.Store }

func (p pooledStore) Destruct() error {
	if c, ok := p.Store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// provision returns the shared store and its pool key; a nil config is memory.
func (c *StoreConfig) provision() (store.Store, string, error) {
	backend := "memory"
	if c != nil && c.Backend != "" {
		backend = c.Backend
	}
	var key string
	var mk func() (caddy.Destructor, error)
	switch backend {
	case "memory":
		key = "memory"
		mk = func() (caddy.Destructor, error) { return pooledStore{store.NewMemory(0)}, nil }
	case "redis":
		if c.Address == "" {
			return nil, "", fmt.Errorf("store redis: address is required")
		}
		password := caddy.NewReplacer().ReplaceAll(c.Password, "")
		opts := store.RedisOptions{Addr: c.Address, Password: password, DB: c.DB, Prefix: c.Prefix, Timeout: time.Duration(c.Timeout)}
		// Every option is part of the identity; the key is never printed.
		key = fmt.Sprintf("redis|%+v", opts)
		mk = func() (caddy.Destructor, error) { return pooledStore{store.NewRedis(opts)}, nil }
	default:
		return nil, "", fmt.Errorf("store: backend must be memory or redis, got %q", backend)
	}
	v, _, err := stores.LoadOrNew(key, mk)
	if err != nil {
		return nil, "", fmt.Errorf("store: %w", err)
	}
	return v.(pooledStore).Store, key, nil
}

// unmarshalStore parses:
//
//	store memory
//	store redis://<host:port>[/<db>]
//	store redis <host:port> {
//		password <placeholder>
//		db       <n>
//		prefix   <prefix>
//		timeout  <duration>
//	}
func unmarshalStore(d *caddyfile.Dispenser) (*StoreConfig, error) {
	c := &StoreConfig{Backend: "memory"}
	// No argument is memory, as an empty environment variable gives.
	if d.NextArg() {
		c.Backend = d.Val()
	}
	if strings.HasPrefix(c.Backend, "redis://") {
		if err := c.fromURL(c.Backend); err != nil {
			return nil, d.Err(err.Error())
		}
		if d.NextArg() {
			return nil, d.ArgErr()
		}
	}
	switch c.Backend {
	case "memory":
		if d.NextArg() {
			return nil, d.ArgErr()
		}
	case "redis":
		if c.Address == "" && !d.AllArgs(&c.Address) {
			return nil, d.ArgErr()
		}
	default:
		return nil, d.Errf("store: backend must be memory or redis, got %q", c.Backend)
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		if c.Backend != "redis" {
			return nil, d.Errf("store memory takes no options")
		}
		if err := c.unmarshalRedisOption(d); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// fromURL reads redis://host:port[/db], the form an environment
// variable carries; a password belongs in the password option, as a
// placeholder, never in a URL that lands in the JSON config.
func (c *StoreConfig) fromURL(raw string) error {
	u, err := url.Parse(raw)
	if strings.Contains(raw, "@") {
		return fmt.Errorf("store: want redis://host:port[/db] without credentials; put the password in the password option as a placeholder")
	}
	if err != nil || u.Host == "" || u.RawQuery != "" {
		return fmt.Errorf("store: want redis://host:port[/db] without credentials, got %q", raw)
	}
	c.Backend, c.Address = "redis", u.Host
	if db := strings.Trim(u.Path, "/"); db != "" {
		if c.DB, err = strconv.Atoi(db); err != nil || c.DB < 0 {
			return fmt.Errorf("store: redis db must be a non-negative integer, got %q", db)
		}
	}
	return nil
}

func (c *StoreConfig) unmarshalRedisOption(d *caddyfile.Dispenser) error {
	var err error
	switch opt := d.Val(); opt {
	case "password", "prefix":
		dst := map[string]*string{"password": &c.Password, "prefix": &c.Prefix}[opt]
		if !d.AllArgs(dst) {
			// Not ArgErr: it would quote the value, and this may be a password.
			return d.Errf("store redis: %s takes exactly one argument", opt)
		}
	case "db":
		var raw string
		if !d.AllArgs(&raw) {
			return d.ArgErr()
		}
		if c.DB, err = strconv.Atoi(raw); err != nil || c.DB < 0 {
			return d.Errf("store redis: db must be a non-negative integer, got %q", raw)
		}
	case "timeout":
		c.Timeout, err = parseDurationArg(d)
	default:
		return d.Errf("store redis: unknown option %q", opt)
	}
	return err
}
