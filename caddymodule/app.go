package caddymodule

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/store"
)

func init() {
	caddy.RegisterModule(App{})
}

// App is the qfpay app: merchants, their keys, and the pinned QFPay
// upstream. Handlers look merchants up here by name, so a route can only
// sign for merchants the operator configured.
type App struct {
	// Environment is production, test, sandbox, embedded, or a base URL
	// such as http://127.0.0.1:9999. Placeholders allowed. Required, with
	// no default: empty or an unresolved placeholder fails provisioning,
	// so a typo can never route real payments to the embedded double.
	// embedded (an in-process QFPay double, demo keys) must be chosen.
	Environment string `json:"environment,omitempty"`
	// EmbeddedNotify is where the embedded double sends the notifications
	// of payments and refunds that carry no notify_url, e.g. the gateway's
	// own http://127.0.0.1:8080/qfpay/notify, as QFPay would send them to
	// the URL configured for the merchant. Placeholders allowed; ignored
	// outside embedded. Default: none (only a notify_url is notified).
	EmbeddedNotify string `json:"embedded_notify,omitempty"`
	// Merchants by name, as referenced by qfpay_gateway and qfpay_notify.
	Merchants map[string]*Merchant `json:"merchants,omitempty"`
	// Store holds out_trade_no records, notification acknowledgements
	// and rate-limit windows (with Redis, shared by every replica).
	// Default: a file in Caddy's data directory, kept across restarts.
	Store *StoreConfig `json:"store,omitempty"`
	// Vault is the client for merchants whose keys live in Vault.
	// Default: VAULT_ADDR and VAULT_TOKEN from the environment.
	Vault *VaultConfig `json:"vault,omitempty"`

	vaultKey    string
	vaultClient *keys.Vault
	upstream    *url.URL
	// client makes qfsign doctor's calls; each qfpay_gateway has its own.
	client      *http.Client
	embedded    *qfpaytest.Running
	embeddedKey string
	store       store.Store
	storeKey    string
	logger      *zap.Logger
	ctx         caddy.Context // for Start's look at the http app
}

// CaddyModule returns the Caddy module information.
func (App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "qfpay",
		New: func() caddy.Module { return new(App) },
	}
}

// Provision resolves the environment and every merchant's credentials.
// `caddy validate` runs it too, so a bad key reference fails validation.
func (a *App) Provision(ctx caddy.Context) error {
	a.logger, a.ctx = ctx.Logger(), ctx
	env, err := resolveEnvironment(a.Environment)
	if err != nil {
		return fmt.Errorf("qfpay: %w", err)
	}
	// The environment is checked before the credentials: a typo such as
	// "prod" is reported as such, not as a missing key.
	embedded := env == EnvEmbedded
	if !embedded {
		if a.upstream, err = parseEnvironment(env); err != nil {
			return fmt.Errorf("qfpay: %w", err)
		}
	}
	if len(a.Merchants) == 0 {
		return fmt.Errorf("qfpay: no merchant configured")
	}
	if a.store, a.storeKey, err = a.Store.provision(); err != nil {
		return fmt.Errorf("qfpay: %w", err)
	}
	a.store = a.Store.budget(a.store)
	for _, name := range a.merchantNames() {
		if err := a.Merchants[name].provision(name, embedded); err != nil {
			return fmt.Errorf("qfpay: %w", err)
		}
	}
	if err := a.provisionVault(); err != nil {
		return fmt.Errorf("qfpay: %w", err)
	}
	if embedded {
		return a.startEmbedded()
	}
	a.client = newDoctorClient()
	return nil
}

// newDoctorClient bounds every phase of qfsign doctor's probes and, as
// the gateway's client, honours HTTPS_PROXY and follows no redirect.
func newDoctorClient() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			TLSHandshakeTimeout:   5 * time.Second,
			ResponseHeaderTimeout: 10 * time.Second,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       time.Minute,
		},
	}
}

func (a *App) merchantNames() []string {
	names := make([]string, 0, len(a.Merchants))
	for n := range a.Merchants {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// provisionVault attaches a shared key cache to every Vault-backed
// merchant. Nothing is fetched before Start.
func (a *App) provisionVault() error {
	var vc *VaultConfig
	for _, name := range a.merchantNames() {
		m := a.Merchants[name]
		if m.Vault == nil {
			continue
		}
		if vc == nil {
			vc = a.Vault
			if vc == nil {
				vc = new(VaultConfig)
			}
			v, key, err := vc.provision(a.logger)
			if err != nil {
				return err
			}
			a.vaultKey = key
			a.vaultClient = v
		}
		var err error
		if m.cache, m.cacheKey, err = vc.cache(a.vaultKey, name, m.Vault, a.vaultClient, a.logger); err != nil {
			return fmt.Errorf("merchant %s: %w", name, err)
		}
	}
	return nil
}

// Start implements caddy.App: key caches begin fetching (a cache shared
// with the previous config is already running). A store that does not
// answer is logged, not fatal: requests that need it fail closed.
func (a *App) Start() error {
	// The file store opens here, not in Provision: `caddy validate` must
	// not take a running instance's lock. A file that cannot be opened
	// (locked by another process, unreadable) stops qfsign from starting.
	if o, ok := a.store.(interface{ Open() error }); ok {
		if err := o.Open(); err != nil {
			return fmt.Errorf("qfpay: %w", err)
		}
	}
	for _, m := range a.Merchants {
		if m.cache != nil {
			m.cache.Start()
		}
	}
	if p, ok := a.store.(interface{ Ping(context.Context) error }); ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := p.Ping(ctx); err != nil {
			a.logger.Warn("state store unavailable at start; requests needing it get 503 until it answers", zap.Error(err))
		}
	}
	a.warnHostOnlyServers(a.ctx)
	return nil
}

// Stop implements caddy.App.
func (a *App) Stop() error { return nil }

// Cleanup stops the embedded double; safe after a partial Provision.
func (a *App) Cleanup() error {
	if a.storeKey != "" {
		_, _ = stores.Delete(a.storeKey)
	}
	for _, m := range a.Merchants {
		if m.cacheKey != "" {
			_, _ = keyCaches.Delete(m.cacheKey)
		}
	}
	if a.vaultKey != "" {
		_, _ = vaultClients.Delete(a.vaultKey)
	}
	if a.client != nil {
		a.client.CloseIdleConnections()
	}
	if a.embeddedKey != "" {
		_, _ = embeddedDoubles.Delete(a.embeddedKey)
	} else if a.embedded != nil {
		return a.embedded.Close()
	}
	return nil
}

// statuses reports each merchant's key for the probes: usable, loaded
// once, refresher alive, kid and age.
func (a *App) statuses() map[string]keys.Status {
	st := make(map[string]keys.Status, len(a.Merchants))
	for name, m := range a.Merchants {
		st[name] = m.status()
	}
	return st
}

// merchant returns a configured merchant or an error naming it.
func (a *App) merchant(name string) (*Merchant, error) {
	m, ok := a.Merchants[name]
	if !ok {
		return nil, fmt.Errorf("qfpay: merchant %q is not configured in the qfpay app", name)
	}
	return m, nil
}

// Interface guards.
var (
	_ caddy.App          = (*App)(nil)
	_ caddy.Provisioner  = (*App)(nil)
	_ caddy.CleanerUpper = (*App)(nil)
)
