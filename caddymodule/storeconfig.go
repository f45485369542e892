package caddymodule

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/store"
)

// Store backends.
const (
	storeFile   = "file"
	storeMemory = "memory"
	storeRedis  = "redis"
)

// StoreConfig chooses where state lives.
type StoreConfig struct {
	// Backend is file (default: a bbolt file that survives restarts and
	// kill -9, for one process), memory (lost on restart: tests and
	// throwaway runs) or redis (shared by every replica).
	Backend string `json:"backend,omitempty"`

	// Path of the file store. Default: qfsign/store.db in Caddy's data
	// directory ($XDG_DATA_HOME/caddy), next to Caddy's certificates.
	Path string `json:"path,omitempty"`
	// NoSync skips the fsync per commit (Caddyfile: sync off). Default
	// false: records survive a power loss, not only kill -9.
	NoSync bool `json:"no_sync,omitempty"`
	// MaxBytes is the file store's budget: past it a new order or
	// notification is refused (503 store) until records expire. Default
	// 1 GiB, about half a million orders.
	MaxBytes int64 `json:"max_bytes,omitempty"`

	// Address of the Redis server, host:port. Addresses adds more: the
	// sentinels (with MasterName) or cluster nodes.
	Address   string   `json:"address,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	// MasterName is the Sentinel master name; set means Sentinel.
	MasterName string `json:"master_name,omitempty"`
	// Cluster forces cluster mode with one address; several addresses
	// without master_name are a cluster anyway. Default false.
	Cluster bool `json:"cluster,omitempty"`
	// Username is the Redis ACL user. Default none (the default user).
	Username string `json:"username,omitempty"`
	// Password for Redis; use a placeholder such as {env.REDIS_PASSWORD}.
	Password string `json:"password,omitempty"`
	// DB is the Redis database number. Default 0; not with a cluster.
	DB int `json:"db,omitempty"`
	// TLS connects with TLS (rediss://). Default false.
	TLS bool `json:"tls,omitempty"`
	// TLSCA is a PEM file of CAs trusted for the server. Default: the
	// system's roots. Implies TLS.
	TLSCA string `json:"tls_ca,omitempty"`
	// TLSServerName is the name checked in every server's certificate.
	// Default: each address is checked under its own host.
	TLSServerName string `json:"tls_server_name,omitempty"`
	// Prefix namespaces Redis keys. Default "qfsign:".
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds each Redis command. Default 1s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MinReplicas makes each write wait until that many replicas have it
	// (WAIT, up to half the timeout), or fail closed. Default 0: Redis
	// replicates asynchronously, and a failover can lose a claim. Not
	// with a cluster.
	MinReplicas int `json:"min_replicas,omitempty"`
}

// stores keeps stores (their files and connections) across config
// reloads: an acknowledged notification stays acknowledged, and a file
// is opened once per process however many configs use it.
var stores = caddy.NewUsagePool()

type pooledStore struct{ store.Store }

func (p pooledStore) Destruct() error {
	if c, ok := p.Store.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}

// provision returns the shared store and its pool key; a nil config is
// the file store in the data directory. A file is opened by App.Start,
// so `caddy validate` never takes a running instance's lock.
func (c *StoreConfig) provision() (store.Store, string, error) {
	if c == nil {
		c = new(StoreConfig)
	}
	var key string
	var mk func() (caddy.Destructor, error)
	switch c.Backend {
	case "", storeFile:
		opts, err := c.fileOptions()
		if err != nil {
			return nil, "", err
		}
		key = "file|" + opts.Path
		mk = func() (caddy.Destructor, error) { return pooledStore{store.NewFile(opts)}, nil }
	case storeMemory:
		key = storeMemory
		mk = func() (caddy.Destructor, error) { return pooledStore{store.NewMemory(0)}, nil }
	case storeRedis:
		opts, err := c.redisOptions()
		if err != nil {
			return nil, "", err
		}
		// Every option is part of the identity; the key is never printed.
		id := opts
		id.TLS = nil
		// Hashed: the options hold the resolved password.
		sum := sha256.Sum256(fmt.Appendf(nil, "%+v|%v|%s|%s", id, c.TLS, c.TLSCA, c.TLSServerName))
		key = "redis|" + hex.EncodeToString(sum[:])
		mk = func() (caddy.Destructor, error) { return pooledStore{store.NewRedis(opts)}, nil }
	default:
		return nil, "", fmt.Errorf("store: backend must be file, memory or redis, got %q", c.Backend)
	}
	v, _, err := stores.LoadOrNew(key, mk)
	if err != nil {
		return nil, "", fmt.Errorf("store: %w", err)
	}
	s := v.(pooledStore).Store
	if f, ok := s.(*store.File); ok && f.NoSync() != c.NoSync {
		_, _ = stores.Delete(key)
		return nil, "", fmt.Errorf("store file %s: sync cannot change while the file is open; restart qfsign to change it", f.Path())
	}
	return s, key, nil
}

func (c *StoreConfig) fileOptions() (store.FileOptions, error) {
	path := caddy.NewReplacer().ReplaceAll(c.Path, "")
	if path == "" {
		path = filepath.Join(caddy.AppDataDir(), "qfsign", "store.db")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return store.FileOptions{}, fmt.Errorf("store file: path: %w", err)
	}
	return store.FileOptions{Path: abs, NoSync: c.NoSync, OnLost: lostWrite}, nil
}

// lostWrite reports a Put whose deferred commit failed. The file store
// is shared by every config, so it logs through Caddy's default logger.
func lostWrite(key string, err error) {
	storeErrorsTotal.WithLabelValues("record").Inc()
	caddy.Log().Named("qfpay.store").Error("a record was not written; its order stays in flight until resolved by query",
		zap.String("key", key), zap.Error(err))
}

func (c *StoreConfig) redisOptions() (store.RedisOptions, error) {
	repl := caddy.NewReplacer()
	var addrs []string
	for _, a := range append([]string{c.Address}, c.Addresses...) {
		if a = repl.ReplaceAll(a, ""); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return store.RedisOptions{}, fmt.Errorf("store redis: address %q: want host:port", a)
		}
		addrs = append(addrs, a)
	}
	if len(addrs) == 0 {
		return store.RedisOptions{}, fmt.Errorf("store redis: address is required")
	}
	cluster := c.Cluster || (len(addrs) > 1 && c.MasterName == "")
	if cluster && (c.DB != 0 || c.MinReplicas != 0) {
		return store.RedisOptions{}, fmt.Errorf("store redis: db and min_replicas must be 0 with a cluster")
	}
	o := store.RedisOptions{
		Addrs: addrs, MasterName: repl.ReplaceAll(c.MasterName, ""), Cluster: c.Cluster,
		Username: repl.ReplaceAll(c.Username, ""), Password: repl.ReplaceAll(c.Password, ""),
		DB: c.DB, Prefix: c.Prefix, Timeout: time.Duration(c.Timeout), MinReplicas: c.MinReplicas,
	}
	if c.TLS || c.TLSCA != "" {
		var err error
		if o.TLS, err = c.tlsConfig(); err != nil {
			return store.RedisOptions{}, err
		}
	}
	return o, nil
}

// tlsConfig verifies the server against tls_ca (or the system roots)
// under tls_server_name, or else each address's own host (crypto/tls
// takes it from the address dialled when ServerName is empty, so every
// cluster node and a master Sentinel names is checked under its own).
func (c *StoreConfig) tlsConfig() (*tls.Config, error) {
	repl := caddy.NewReplacer()
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: repl.ReplaceAll(c.TLSServerName, "")}
	if ca := repl.ReplaceAll(c.TLSCA, ""); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("store redis: tls_ca: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store redis: tls_ca %s: no PEM certificate", ca)
		}
	}
	return cfg, nil
}
