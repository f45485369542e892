package caddymodule

import (
	"errors"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qfsign/qfsign/keys"
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
	keyFetchesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "key_fetches_total",
		Help:      "Key fetches from Vault by merchant and result (ok or error).",
	}, []string{"merchant", "result"})
	keyLoadedSeconds = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "qfsign",
		Name:      "key_last_success_timestamp_seconds",
		Help:      "Unix time of the merchant's last successful key fetch; age = time() - this.",
	}, []string{"merchant"})
)

// observeFetch feeds the key metrics; the kid is logged, never a label,
// so rotations do not grow the series.
func observeFetch(merchant string) func(*keys.Credentials, error) {
	return func(_ *keys.Credentials, err error) {
		if err != nil {
			keyFetchesTotal.WithLabelValues(merchant, "error").Inc()
			return
		}
		keyFetchesTotal.WithLabelValues(merchant, "ok").Inc()
		keyLoadedSeconds.WithLabelValues(merchant).SetToCurrentTime()
	}
}

func registerMetrics(ctx caddy.Context) error {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{notificationsTotal, refusalsTotal, responseSigTotal, keyFetchesTotal, keyLoadedSeconds} {
		if err := reg.Register(c); err != nil {
			if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
				return err
			}
		}
	}
	return nil
}
