package caddymodule

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
)

// VaultConfig is the qfpay app's Vault client. Empty fields fall back to
// the standard VAULT_* environment (VAULT_ADDR, VAULT_CACERT, ...).
type VaultConfig struct {
	// Address of Vault. Default: VAULT_ADDR.
	Address string `json:"address,omitempty"`
	// Namespace (Vault Enterprise/HCP). Default: VAULT_NAMESPACE.
	Namespace string `json:"namespace,omitempty"`
	// CACert, ClientCert, ClientKey are PEM file paths. Default: the
	// VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_CLIENT_KEY environment.
	CACert     string `json:"ca_cert,omitempty"`
	ClientCert string `json:"client_cert,omitempty"`
	ClientKey  string `json:"client_key,omitempty"`
	// Auth is the login method. Default: token from VAULT_TOKEN.
	Auth *VaultAuth `json:"auth,omitempty"`
	// Refresh is how often keys are fetched again. Default 5m.
	Refresh caddy.Duration `json:"refresh,omitempty"`
	// MaxStale is how long the last good key serves while Vault fails.
	// Default 1h; then requests get 503 and nothing is forwarded.
	MaxStale caddy.Duration `json:"max_stale,omitempty"`
	// RetryMin and RetryMax bound the backoff after a failed fetch.
	// Defaults 1s and 30s.
	RetryMin caddy.Duration `json:"retry_min,omitempty"`
	RetryMax caddy.Duration `json:"retry_max,omitempty"`
	// Timeout bounds each Vault call. Default 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
}

// VaultAuth is one of token, token_file, approle, kubernetes.
type VaultAuth struct {
	// Method: token (default), token_file, approle or kubernetes.
	Method string `json:"method,omitempty"`
	// Token must be a placeholder such as {env.VAULT_TOKEN}: a literal
	// would be readable on the admin API. Default: VAULT_TOKEN.
	Token string `json:"token,omitempty"`
	// TokenFile is a Vault Agent sink, re-read at every login.
	TokenFile string `json:"token_file,omitempty"`
	// RoleID (approle); placeholders allowed.
	RoleID string `json:"role_id,omitempty"`
	// SecretIDFile or SecretIDEnv (approle), read at every login.
	SecretIDFile string `json:"secret_id_file,omitempty"`
	SecretIDEnv  string `json:"secret_id_env,omitempty"`
	// Wrapped: the secret_id source holds a response-wrapping token.
	Wrapped bool `json:"wrapped,omitempty"`
	// Role (kubernetes).
	Role string `json:"role,omitempty"`
	// TokenPath (kubernetes): the service-account token. Default
	// /var/run/secrets/kubernetes.io/serviceaccount/token.
	TokenPath string `json:"token_path,omitempty"`
	// Mount of the auth method. Default: approle or kubernetes.
	Mount string `json:"mount,omitempty"`
}

// MerchantVault is where one merchant's credentials live.
type MerchantVault struct {
	// Path is <mount>/<path>, e.g. secret/qfpay/demo; the first segment
	// is the mount unless Mount is set. Placeholders allowed.
	Path string `json:"path,omitempty"`
	// Mount, for mounts whose name contains a slash; Path is then
	// relative to it.
	Mount string `json:"mount,omitempty"`
	// KVVersion is 2 (default) or 1.
	KVVersion int `json:"kv_version,omitempty"`
	// Field names in the secret. Defaults: app_code, client_key, mchid
	// (mchid optional in the secret).
	AppCodeField   string `json:"app_code_field,omitempty"`
	ClientKeyField string `json:"client_key_field,omitempty"`
	MchIDField     string `json:"mchid_field,omitempty"`
}

// vaultClients and keyCaches survive config reloads, so a reload neither
// logs in again nor drops a good key.
var (
	vaultClients = caddy.NewUsagePool()
	keyCaches    = caddy.NewUsagePool()
)

type pooledVault struct{ *keys.Vault }

func (p pooledVault) Destruct() error { p.Close(); return nil }

type pooledCache struct{ *keys.Cache }

func (p pooledCache) Destruct() error { p.Stop(); return nil }

// provision returns the shared client and its pool key. No call to Vault
// is made, so `caddy validate` passes while Vault is down.
func (c *VaultConfig) provision(log *zap.Logger) (*keys.Vault, string, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return nil, "", err
	}
	key := string(raw) // placeholders, never resolved secrets
	auth, err := c.Auth.build()
	if err != nil {
		return nil, "", err
	}
	repl := caddy.NewReplacer()
	cfg := keys.VaultConfig{
		Address:   repl.ReplaceAll(c.Address, ""),
		Namespace: repl.ReplaceAll(c.Namespace, ""),
		CACert:    repl.ReplaceAll(c.CACert, ""), ClientCert: repl.ReplaceAll(c.ClientCert, ""), ClientKey: repl.ReplaceAll(c.ClientKey, ""),
		Auth:    auth,
		Timeout: time.Duration(c.Timeout),
	}
	v, _, err := vaultClients.LoadOrNew(key, func() (caddy.Destructor, error) {
		v, err := keys.NewVault(cfg, log.Named("vault"))
		return pooledVault{v}, err
	})
	if err != nil {
		return nil, "", err
	}
	return v.(pooledVault).Vault, key, nil
}

// build resolves placeholders into a keys.Auth.
func (a *VaultAuth) build() (keys.Auth, error) {
	if a == nil {
		return keys.TokenAuth{}, nil
	}
	repl := caddy.NewReplacer()
	r := func(s string) string { return repl.ReplaceAll(s, "") }
	switch a.Method {
	case "", "token":
		if a.Token != "" && !isPlaceholder(a.Token) {
			return nil, fmt.Errorf("vault auth token: must be a placeholder such as {env.VAULT_TOKEN}: a literal token would be visible in the admin API")
		}
		tok, err := repl.ReplaceOrErr(a.Token, true, true)
		if err != nil {
			return nil, fmt.Errorf("vault auth token: %w", err)
		}
		return keys.TokenAuth{Token: tok}, nil
	case "token_file":
		return keys.TokenFileAuth{Path: r(a.TokenFile)}, nil
	case "approle":
		return keys.AppRoleAuth{RoleID: r(a.RoleID), SecretIDFile: r(a.SecretIDFile), SecretIDEnv: a.SecretIDEnv, Wrapped: a.Wrapped, Mount: a.Mount}, nil
	case "kubernetes":
		return keys.KubernetesAuth{Role: r(a.Role), TokenPath: r(a.TokenPath), Mount: a.Mount}, nil
	}
	return nil, fmt.Errorf("vault auth: method must be token, token_file, approle or kubernetes, got %q", a.Method)
}

// source builds the merchant's KV source.
func (mv *MerchantVault) source(v *keys.Vault) (*keys.KV, error) {
	path := strings.Trim(caddy.NewReplacer().ReplaceAll(mv.Path, ""), "/")
	mount := strings.Trim(mv.Mount, "/")
	if mount == "" {
		var ok bool
		if mount, path, ok = strings.Cut(path, "/"); !ok || path == "" {
			return nil, fmt.Errorf("vault path %q: want <mount>/<path>, e.g. secret/qfpay/demo", mv.Path)
		}
	}
	if path == "" {
		return nil, fmt.Errorf("vault path is required")
	}
	if mv.KVVersion != 0 && mv.KVVersion != 1 && mv.KVVersion != 2 {
		return nil, fmt.Errorf("vault kv_version must be 1 or 2, got %d", mv.KVVersion)
	}
	return &keys.KV{Vault: v, Mount: mount, Path: path, Version: mv.KVVersion,
		Fields: keys.Fields{AppCode: mv.AppCodeField, ClientKey: mv.ClientKeyField, MchID: mv.MchIDField}}, nil
}

// cache returns the merchant's shared key cache and its pool key.
func (c *VaultConfig) cache(vaultKey, merchant string, mv *MerchantVault, v *keys.Vault, log *zap.Logger) (*keys.Cache, string, error) {
	kv, err := mv.source(v)
	if err != nil {
		return nil, "", err
	}
	raw, _ := json.Marshal(mv)
	key := vaultKey + "|" + merchant + "|" + string(raw)
	cfg := keys.CacheConfig{
		Refresh: time.Duration(c.Refresh), MaxStale: time.Duration(c.MaxStale),
		RetryMin: time.Duration(c.RetryMin), RetryMax: time.Duration(c.RetryMax),
		Name: kv.Name(), OnFetch: observeFetch(merchant),
	}
	cv, _, err := keyCaches.LoadOrNew(key, func() (caddy.Destructor, error) {
		return pooledCache{keys.NewCache(kv, cfg, log.With(zap.String("merchant", merchant)))}, nil
	})
	if err != nil {
		return nil, "", err
	}
	return cv.(pooledCache).Cache, key, nil
}
