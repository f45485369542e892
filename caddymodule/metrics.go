package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// Collectors are created once per process and registered into each
// config's registry, so their counts survive reloads. Labels are bounded:
// merchant names come from the config, outcomes and rules from this code.
var (
	notificationsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "notifications_total",
		Help:      "QFPay notifications by merchant and outcome (forwarded, duplicate, or the refusal rule).",
	}, []string{"merchant", "outcome"})
	refusalsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "sign_refusals_total",
		Help:      "Application requests refused before signing, by merchant and rule.",
	}, []string{"merchant", "rule"})
)

func registerMetrics(ctx caddy.Context) error {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{notificationsTotal, refusalsTotal, responseSigTotal} {
		if err := reg.Register(c); err != nil {
			if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
				return err
			}
		}
	}
	return nil
}
