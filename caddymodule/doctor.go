package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

// DoctorView is what `qfsign doctor` checks of a provisioned qfpay app,
// taken from the app itself so the doctor reaches Vault and the store as
// the gateway does, and QFPay's pinned host with the environment's proxy
// (a route's own forward_proxy_url and timeouts are not applied).
type DoctorView struct {
	// Upstream is QFPay's pinned base URL (the double's, when embedded).
	Upstream *url.URL
	Embedded bool
	// Client is the doctor's client for QFPay: HTTPS_PROXY and friends
	// apply, redirects are not followed, as in the gateway's own client.
	Client *http.Client
	// Store and StoreDesc: the state store and how it was configured.
	Store     store.Store
	StoreDesc string
	// StoreOpen is why the store could not be opened (the file store
	// opens at Start, which the doctor does not run), or nil.
	StoreOpen error
	// VaultLogin logs in with the configured method; nil without Vault.
	VaultLogin func(context.Context) error
	VaultDesc  string
	Merchants  []DoctorMerchant
}

// DoctorMerchant is one merchant: where its credentials come from, and a
// function that loads them once, the configured way (for Vault a fresh
// read, not the cache).
type DoctorMerchant struct {
	Name        string
	Source      string
	SignType    signer.SignType
	Credentials func(context.Context) (keys.Credentials, error)
}

// Doctor returns the view of an app whose Provision succeeded.
func (a *App) Doctor() (DoctorView, error) {
	v := DoctorView{Upstream: a.upstream, Embedded: a.embedded != nil, Client: a.client, Store: a.store, StoreDesc: a.Store.describe()}
	if o, ok := a.store.(interface{ Open() error }); ok {
		v.StoreOpen = o.Open()
	}
	if a.vaultClient != nil {
		v.VaultLogin, v.VaultDesc = a.vaultClient.Login, a.Vault.describe(a.vaultClient)
	}
	for _, name := range a.merchantNames() {
		m := a.Merchants[name]
		dm := DoctorMerchant{Name: name, Source: "config (static)", SignType: m.signType}
		if m.Vault != nil {
			kv, err := m.Vault.source(a.vaultClient)
			if err != nil { // Provision built the same source: not expected
				return v, fmt.Errorf("merchant %s: %w", name, err)
			}
			dm.Source = "vault " + kv.Name()
			dm.Credentials = kv.Fetch
		} else {
			dm.Credentials = func(context.Context) (keys.Credentials, error) {
				c, err := m.credentials()
				if err != nil {
					return keys.Credentials{}, err
				}
				return *c, nil
			}
		}
		v.Merchants = append(v.Merchants, dm)
	}
	return v, nil
}

func (c *StoreConfig) describe() string {
	if c == nil {
		c = new(StoreConfig)
	}
	switch {
	case c.Backend == "" || c.Backend == storeFile:
		opts, err := c.fileOptions()
		if err != nil {
			return "file"
		}
		return "file " + opts.Path
	case c.Backend == storeMemory:
		return "memory (this process only)"
	}
	return fmt.Sprintf("%s %s db %d", c.Backend, c.Address, c.DB)
}

func (c *VaultConfig) describe(v *keys.Vault) string {
	method := "token"
	if c != nil && c.Auth != nil && c.Auth.Method != "" {
		method = c.Auth.Method
	}
	return fmt.Sprintf("%s, auth %s", v.Address(), method)
}

// NewQueryRequest is the signed POST /trade/v1/query for one
// out_trade_no, built as the gateway sends it to resolve a pending payment.
func NewQueryRequest(ctx context.Context, upstream *url.URL, creds *keys.Credentials, st signer.SignType, otn string) *http.Request {
	return outgoing(ctx, upstream, hostHeader(upstream), exchange.QueryRequest(creds, st, otn))
}
