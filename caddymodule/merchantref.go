package caddymodule

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// merchantRef is what qfpay_gateway and qfpay_notify share: the merchant a
// route acts for, chosen by the operator, never by the caller.
type merchantRef struct {
	// Merchant names an entry of the qfpay app. Required.
	Merchant string `json:"merchant,omitempty"`
	// MaxBody caps the request body in bytes; larger bodies get 413.
	// Default: 65536.
	MaxBody int64 `json:"max_body,omitempty"`

	app    *App
	m      *Merchant
	logger *zap.Logger
}

// provision looks the merchant up in the qfpay app; who names the
// directive for errors.
func (ref *merchantRef) provision(ctx caddy.Context, who string) error {
	ref.logger = ctx.Logger()
	if err := registerMetrics(ctx); err != nil {
		return fmt.Errorf("%s: metrics: %w", who, err)
	}
	if ref.MaxBody == 0 {
		ref.MaxBody = defaultMaxBody
	}
	appIface, err := ctx.App("qfpay")
	if err != nil {
		return fmt.Errorf("%s: loading the qfpay app: %w", who, err)
	}
	ref.app = appIface.(*App)
	if ref.m, err = ref.app.merchant(ref.Merchant); err != nil {
		return fmt.Errorf("%s: %w", who, err)
	}
	return nil
}
