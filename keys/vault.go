package keys

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	vault "github.com/hashicorp/vault/api"
	"go.uber.org/zap"
)

// VaultConfig says how to reach and log in to Vault. Anything left empty
// comes from the standard VAULT_* environment through vault.DefaultConfig
// (VAULT_ADDR, VAULT_CACERT, VAULT_CLIENT_CERT, VAULT_NAMESPACE, ...).
type VaultConfig struct {
	Address   string
	Namespace string
	// TLS files; empty keeps whatever VAULT_CACERT and friends set.
	CACert, ClientCert, ClientKey string
	// Auth logs in; nil means the token of VAULT_TOKEN.
	Auth Auth
	// Timeout bounds every Vault call. Default 10s: the library's own
	// default of 60s would hold a refresh far longer than a payment waits.
	Timeout time.Duration
}

// Vault is an authenticated Vault client shared by every merchant whose
// secret lives there. It logs in lazily, renews its token with a
// LifetimeWatcher, and logs in again when renewal ends or Vault answers
// 403. Safe for concurrent use.
type Vault struct {
	cfg    VaultConfig
	client *vault.Client
	log    *zap.Logger

	mu       sync.Mutex // serialises login
	loggedIn bool
	gen      uint64 // login generation, so one 403 causes one re-login
	watcher  *vault.LifetimeWatcher
	closed   bool
	logins   int
}

// NewVault builds the client without contacting Vault, so configuration
// errors surface at provision time and an unreachable Vault does not.
func NewVault(cfg VaultConfig, log *zap.Logger) (*Vault, error) {
	if log == nil {
		log = zap.NewNop()
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Auth == nil {
		cfg.Auth = TokenAuth{}
	}
	vc := vault.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: environment: %w", vc.Error)
	}
	if cfg.Address != "" {
		vc.Address = cfg.Address
	}
	if cfg.CACert != "" || cfg.ClientCert != "" {
		if err := vc.ConfigureTLS(&vault.TLSConfig{CACert: cfg.CACert, ClientCert: cfg.ClientCert, ClientKey: cfg.ClientKey}); err != nil {
			return nil, fmt.Errorf("vault: tls: %w", err)
		}
	}
	// Our own loop retries with backoff; the library's retries would
	// multiply every timeout.
	vc.MaxRetries = 0
	vc.Timeout = cfg.Timeout
	c, err := vault.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: client: %w", err)
	}
	if cfg.Namespace != "" {
		c.SetNamespace(cfg.Namespace)
	}
	if err := cfg.Auth.check(); err != nil {
		return nil, fmt.Errorf("vault: auth %s: %w", cfg.Auth.Method(), err)
	}
	return &Vault{cfg: cfg, client: c, log: log}, nil
}

// Address is the Vault server in use.
func (v *Vault) Address() string { return v.client.Address() }

// Logins counts successful logins, for tests and diagnostics.
func (v *Vault) Logins() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.logins
}

// Login logs in unless already logged in: a check that the configured
// method works, for `qfsign doctor`.
func (v *Vault) Login(ctx context.Context) error {
	_, err := v.ensureLogin(ctx)
	return err
}

// Do runs fn with a logged-in client. A 403 ends the current login and
// fn is retried once after logging in again: the token expired, was
// revoked, or the agent sink rotated it.
func (v *Vault) Do(ctx context.Context, fn func(context.Context, *vault.Client) error) error {
	gen, err := v.ensureLogin(ctx)
	if err != nil {
		return err
	}
	err = v.call(ctx, fn)
	if !isForbidden(err) {
		return err
	}
	v.log.Info("vault answered 403; logging in again", zap.String("auth", v.cfg.Auth.Method()))
	v.invalidate(gen)
	if _, lerr := v.ensureLogin(ctx); lerr != nil {
		return fmt.Errorf("%w (after: %v)", lerr, err)
	}
	return v.call(ctx, fn)
}

func (v *Vault) call(ctx context.Context, fn func(context.Context, *vault.Client) error) error {
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	return fn(ctx, v.client)
}

func (v *Vault) ensureLogin(ctx context.Context) (uint64, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return 0, errors.New("vault: client closed")
	}
	if v.loggedIn && !v.sourceChanged() {
		return v.gen, nil
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	secret, err := v.cfg.Auth.login(ctx, v.client)
	if err != nil {
		return 0, fmt.Errorf("vault: login (%s): %w", v.cfg.Auth.Method(), err)
	}
	v.loggedIn = true
	v.gen++
	v.logins++
	v.watch(secret, v.gen)
	v.log.Info("vault login", zap.String("auth", v.cfg.Auth.Method()), zap.Duration("ttl", leaseOf(secret)))
	return v.gen, nil
}

// sourceChanged reports whether the login's source (a token file) now
// holds another token, so an agent's rotation is used before any 403.
func (v *Vault) sourceChanged() bool {
	c, ok := v.cfg.Auth.(interface{ changed(*vault.Client) bool })
	return ok && c.changed(v.client)
}

// watch renews a renewable login until the watcher gives up, then marks
// the login over so the next call logs in again. Caller holds v.mu.
func (v *Vault) watch(secret *vault.Secret, gen uint64) {
	if v.watcher != nil {
		v.watcher.Stop()
		v.watcher = nil
	}
	if secret == nil || secret.Auth == nil || !secret.Auth.Renewable || secret.Auth.LeaseDuration <= 0 {
		return
	}
	w, err := v.client.NewLifetimeWatcher(&vault.LifetimeWatcherInput{Secret: secret, Increment: secret.Auth.LeaseDuration})
	if err != nil {
		v.log.Warn("vault token renewal not started", zap.Error(err))
		return
	}
	v.watcher = w
	go w.Start()
	go func() {
		for {
			select {
			case err := <-w.DoneCh():
				v.log.Info("vault token renewal ended; next call logs in again", zap.NamedError("reason", err))
				v.invalidate(gen)
				return
			case <-w.RenewCh():
			}
		}
	}()
}

// invalidate ends login gen, unless a newer login already replaced it.
func (v *Vault) invalidate(gen uint64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.gen == gen {
		v.loggedIn = false
	}
}

// Close stops token renewal. Calls after Close fail.
func (v *Vault) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	if v.watcher != nil {
		v.watcher.Stop()
		v.watcher = nil
	}
}

func isForbidden(err error) bool {
	var re *vault.ResponseError
	return errors.As(err, &re) && re.StatusCode == http.StatusForbidden
}

func leaseOf(s *vault.Secret) time.Duration {
	if s == nil || s.Auth == nil {
		return 0
	}
	return time.Duration(s.Auth.LeaseDuration) * time.Second
}
