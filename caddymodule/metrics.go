package caddymodule

import (
	"errors"
	"time"

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
		Help:      "Application requests refused before anything was sent, by merchant, endpoint, field (other when not a known field) and rule.",
	}, []string{"merchant", "endpoint", "field", "rule"})
	requestsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "requests_total",
		Help:      "Requests answered by qfpay_gateway, by merchant, endpoint and outcome: QFPay's respcd class, refused, or upstream_error.",
	}, []string{"merchant", "endpoint", "outcome"})
	upstreamSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "qfsign",
		Name:      "upstream_duration_seconds",
		Help:      "Time from forwarding to QFPay's answer (queries for pending orders included), by merchant and endpoint.",
		Buckets:   []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"merchant", "endpoint"})
	signSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "qfsign",
		Name:      "sign_duration_seconds",
		Help:      "Time to read, validate and sign a request, by merchant.",
		Buckets:   []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 1e-3, 1e-2},
	}, []string{"merchant"})
	ordersTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "orders_total",
		Help:      "out_trade_no guard decisions by merchant and outcome: new, replayed, resolved_by_query, in_progress, reused, unguarded.",
	}, []string{"merchant", "outcome"})
	pendingTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "pending_resolutions_total",
		Help:      "Resolutions of pending or unknown orders by query, by merchant and result: final, still_pending, error.",
	}, []string{"merchant", "result"})
	storeErrorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "store_errors_total",
		Help:      "State store errors by operation.",
	}, []string{"op"})
	keyFetchesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "key_fetches_total",
		Help:      "Key fetches from Vault by merchant and result (ok or error).",
	}, []string{"merchant", "result"})
	observeTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "qfsign",
		Name:      "observe_total",
		Help:      "Requests forwarded unchanged in observe mode, by merchant and result: match, would_refuse, appcode_mismatch, signature_mismatch, refused.",
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
	for _, c := range []prometheus.Collector{notificationsTotal, refusalsTotal, responseSigTotal, keyFetchesTotal, keyLoadedSeconds,
		requestsTotal, upstreamSeconds, signSeconds, ordersTotal, pendingTotal, storeErrorsTotal, observeTotal, unknownFieldsTotal, storeUsedBytes, storeBudgetBytes} {
		if err := reg.Register(c); err != nil {
			if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); !ok {
				return err
			}
		}
	}
	return nil
}

// endpointLabel is the signed path, or "other" before routing succeeded.
func endpointLabel(t *txn) string {
	if t.Endpoint == nil {
		return "other"
	}
	return t.Endpoint.Path
}

// fieldLabel keeps caller-chosen names out of label values.
func fieldLabel(t *txn, field string) string {
	if field == "" || (t.Endpoint != nil && t.Endpoint.Known(field)) {
		return field
	}
	return "other"
}

// observeTransaction feeds the per-request families from the log line's
// data. Label lookups hash every value, so the series are cached per
// handler: the label sets are small and bounded.
func (h *Gateway) observeTransaction(t *txn, class string, upstream time.Duration) {
	ep := endpointLabel(t)
	h.series(ep, class).requests.Inc()
	h.series("", "").sign.Observe((t.validate + t.sign).Seconds())
	if upstream > 0 {
		h.series(ep, "").upstream.Observe(upstream.Seconds())
	}
	if t.Order != "" {
		h.series("order", t.Order).orders.Inc()
	}
}

// handlerSeries are one handler's bound series for one label pair.
type handlerSeries struct {
	requests, orders prometheus.Counter
	sign, upstream   prometheus.Observer
}

type seriesKey struct{ a, b string }

// series returns (and caches) the bound series for a label pair; which
// fields are set depends on how the pair is used (see observeTransaction).
func (h *Gateway) series(a, b string) *handlerSeries {
	k := seriesKey{a, b}
	if v, ok := h.metrics.Load(k); ok {
		return v.(*handlerSeries)
	}
	s := &handlerSeries{sign: signSeconds.WithLabelValues(h.Merchant)}
	switch {
	case a == "" && b == "": // the sign histogram alone
	case a == "order":
		s.orders = ordersTotal.WithLabelValues(h.Merchant, b)
	case b == "":
		s.upstream = upstreamSeconds.WithLabelValues(h.Merchant, a)
	default:
		s.requests = requestsTotal.WithLabelValues(h.Merchant, a, b)
	}
	v, _ := h.metrics.LoadOrStore(k, s)
	return v.(*handlerSeries)
}

// observeRefusal counts a refused request in both families.
func (h *Gateway) observeRefusal(t *txn) {
	rf := t.refusal
	ep := endpointLabel(t)
	refusalsTotal.WithLabelValues(h.Merchant, ep, fieldLabel(t, rf.Field), rf.Rule).Inc()
	requestsTotal.WithLabelValues(h.Merchant, ep, "refused").Inc()
	if rf.Rule == ruleInProgress || rf.Rule == ruleReused {
		ordersTotal.WithLabelValues(h.Merchant, rf.Rule).Inc()
	}
}
