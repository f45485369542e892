package caddymodule

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/qfpaytest"
)

// embeddedDoubles keeps the embedded QFPay double across config reloads,
// as stores keeps the store: one double per ledger file and process.
var embeddedDoubles = caddy.NewUsagePool()

type pooledDouble struct{ *qfpaytest.Running }

func (p pooledDouble) Destruct() error { return p.Close() }

// embeddedLedger is the double's ledger file: beside the store's file, in
// Caddy's data directory for Redis, none for the memory store (tests).
func (a *App) embeddedLedger() (string, error) {
	c := a.Store
	if c == nil {
		c = new(StoreConfig)
	}
	switch c.Backend {
	case storeMemory:
		return "", nil
	case "", storeFile:
		opts, err := c.fileOptions()
		if err != nil {
			return "", err
		}
		return filepath.Join(filepath.Dir(opts.Path), "embedded-qfpay.db"), nil
	}
	return filepath.Join(caddy.AppDataDir(), "qfsign", "embedded-qfpay.db"), nil
}

// startEmbedded serves the QFPay double with the merchants' own
// credentials, so signatures are really verified, and its checkout page
// for the online Alipay types. Its ledger and address outlive a restart
// like the gateway's store, so old pay_urls, queries and replays stay
// coherent. A ledger another process holds (`qfsign validate` beside a
// running gateway) gets a throwaway double instead.
func (a *App) startEmbedded() error {
	var ms []qfpaytest.Merchant
	for _, name := range a.merchantNames() {
		c := a.Merchants[name].creds.Load()
		ms = append(ms, qfpaytest.Merchant{AppCode: c.AppCode, ClientKey: a.Merchants[name].doubleKey, MchID: c.MchID, Name: name})
	}
	path, err := a.embeddedLedger()
	if err != nil {
		return fmt.Errorf("qfpay: embedded QFPay: %w", err)
	}
	run, err := a.poolDouble(path)
	if errors.Is(err, qfpaytest.ErrLedgerLocked) {
		a.logger.Info("the embedded QFPay double's ledger is held by a running qfsign: this process uses a throwaway double", zap.String("ledger", path))
		path = ""
		run, err = a.poolDouble("")
	}
	if err != nil {
		return fmt.Errorf("qfpay: embedded QFPay: %w", err)
	}
	for _, m := range ms {
		run.AddMerchant(m)
	}
	if err := a.wireNotifications(run); err != nil {
		return err
	}
	// Online Alipay payments get a pay_url on the double's own loopback
	// port, where a browser on this machine walks the customer's flow.
	run.SetCheckoutURL(run.URL)
	a.embedded = run
	a.upstream = &url.URL{Scheme: "http", Host: run.Addr}
	a.client = newDoctorClient()
	a.logger.Warn("environment embedded: payments go to the in-process QFPay double, never to QFPay; every answer carries X-Qfsign-Environment: embedded",
		zap.String("upstream", run.URL), zap.String("checkout", run.URL+"/checkout/"), zap.String("ledger", cmp.Or(path, "(memory)")))
	return nil
}

// poolDouble returns the process's double on the ledger at path, started
// when none runs; path "" is a double of this config alone, in memory.
func (a *App) poolDouble(path string) (*qfpaytest.Running, error) {
	if path == "" {
		return qfpaytest.Start("127.0.0.1:0")
	}
	key := "embedded|" + path
	v, _, err := embeddedDoubles.LoadOrNew(key, func() (caddy.Destructor, error) {
		run, err := qfpaytest.StartPersistent(path, "")
		return pooledDouble{run}, err
	})
	if err != nil {
		return nil, err
	}
	a.embeddedKey = key
	return v.(pooledDouble).Running, nil
}

// wireNotifications points the double's notifications without a
// notify_url at EmbeddedNotify, resolved now; "" sends none.
func (a *App) wireNotifications(run *qfpaytest.Running) error {
	target := caddy.NewReplacer().ReplaceAll(a.EmbeddedNotify, "")
	if target != "" {
		u, err := url.Parse(target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("qfpay: embedded_notify %q: want an absolute http(s) URL", target)
		}
	}
	run.SetNotifyURL(target)
	return nil
}
