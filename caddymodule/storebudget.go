package caddymodule

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/qfsign/qfsign/store"
)

// defaultStoreMaxBytes is the file store's budget: about half a million
// orders at ~2 KiB each (a 7-day order_ttl at ~0.8 payments/s).
const defaultStoreMaxBytes = 1 << 30

// The file store's size against its budget, for the QfsignStoreNearBudget
// alert: it fires before new orders are refused.
var (
	storeUsedBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "qfsign",
		Name:      "store_used_bytes",
		Help:      "Bytes the file store's live records occupy (sampled at most once a second, on new orders and notifications).",
	})
	storeBudgetBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "qfsign",
		Name:      "store_budget_bytes",
		Help:      "The file store's max_bytes: past it new orders and notifications get 503 store.",
	})
)

// budget bounds a file store by max_bytes. Redis is bounded by its own
// maxmemory (with noeviction a full Redis fails writes: 503 store), the
// memory store by its entry count.
func (c *StoreConfig) budget(s store.Store) store.Store {
	f, ok := s.(*store.File)
	if !ok {
		return s
	}
	limit := int64(defaultStoreMaxBytes)
	if c != nil && c.MaxBytes > 0 {
		limit = c.MaxBytes
	}
	storeBudgetBytes.Set(float64(limit))
	return &store.Budget{Store: f, Max: limit, Used: f.UsedBytes,
		Observe: func(used int64) { storeUsedBytes.Set(float64(used)) }}
}
