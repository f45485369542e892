package caddymodule

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/store"
)

const ruleRateLimit = "rate_limit"

// arrivalMargin lengthens each window: QFPay counts requests when they
// arrive, and the time from admission to arrival varies by milliseconds
// (scheduling, connection reuse). Without it two admissions exactly one
// window apart could arrive inside one window.
const arrivalMargin = 25 * time.Millisecond

// RateLimit caps a merchant's calls to QFPay, whose own limits are 100
// per second and 400 per minute. Counted in the qfpay app's store: per
// process with file or memory, across replicas with Redis. Over any
// window of one second (minute), at most PerSecond (PerMinute) calls
// are admitted. Zero means no limit.
type RateLimit struct {
	PerSecond int `json:"per_second,omitempty"`
	PerMinute int `json:"per_minute,omitempty"`
}

// maxRate bounds each limit: the sliding window keeps one time per
// admitted call (8 bytes here, a sorted-set entry in Redis), and QFPay's
// own limits are 100/s and 400/m.
const maxRate = 100_000

func (rl *RateLimit) validate() error {
	if rl != nil && (rl.PerSecond < 0 || rl.PerMinute < 0 || rl.PerSecond > maxRate || rl.PerMinute > maxRate) {
		return fmt.Errorf("rate_limit: each limit must be between 0 and %d, got %d/s,%d/m", maxRate, rl.PerSecond, rl.PerMinute)
	}
	return nil
}

// parseRateLimit reads "100/s,400/m" (either part optional); "" and
// "off" mean no limit.
func parseRateLimit(s string) (*RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "off" {
		return nil, nil
	}
	rl := new(RateLimit)
	for part := range strings.SplitSeq(s, ",") {
		num, unit, ok := strings.Cut(strings.TrimSpace(part), "/")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n <= 0 {
			return nil, fmt.Errorf("rate_limit: %q: want <n>/s or <n>/m", part)
		}
		switch unit {
		case "s":
			rl.PerSecond = n
		case "m":
			rl.PerMinute = n
		default:
			return nil, fmt.Errorf("rate_limit: %q: unit must be s or m", part)
		}
	}
	return rl, nil
}

// unmarshalRateLimit reads `rate_limit <per_second> <per_minute>` or
// `rate_limit 100/s,400/m`; no argument or "off" means none.
func unmarshalRateLimit(d *caddyfile.Dispenser) (*RateLimit, error) {
	args := d.RemainingArgs()
	switch len(args) {
	case 0:
		return nil, nil
	case 1:
		rl, err := parseRateLimit(args[0])
		if err != nil {
			return nil, d.Err(err.Error())
		}
		return rl, nil
	case 2:
		ps, err1 := strconv.Atoi(args[0])
		pm, err2 := strconv.Atoi(args[1])
		if err1 != nil || err2 != nil || ps < 0 || pm < 0 {
			return nil, d.Errf("rate_limit: want <per_second> <per_minute>, got %q %q", args[0], args[1])
		}
		return &RateLimit{PerSecond: ps, PerMinute: pm}, nil
	}
	return nil, d.ArgErr()
}

// rateLimit admits this call under exact sliding windows (no window
// edge lets twice the limit through); an excess is answered locally
// with 429 and Retry-After, so QFPay never sees it.
func (h *Gateway) rateLimit(ctx context.Context) *refusal {
	return h.allow(ctx, "rl:"+h.Merchant, h.m.RateLimit, "this merchant")
}

// allow admits one event for key under rl, or refuses it (429, or 503
// when the store fails and on_store_error is refuse); whose names the
// limit in the refusal.
func (h *Gateway) allow(ctx context.Context, key string, rl *RateLimit, whose string) *refusal {
	if rl == nil || (rl.PerSecond <= 0 && rl.PerMinute <= 0) {
		return nil
	}
	wait, err := h.app.store.Allow(ctx, key,
		store.Limit{N: rl.PerSecond, Per: time.Second + arrivalMargin},
		store.Limit{N: rl.PerMinute, Per: time.Minute + arrivalMargin})
	if err != nil {
		storeErrorsTotal.WithLabelValues("rate_limit").Inc()
		if h.OnStoreError == storeErrorAllow {
			h.logger.Warn("state store unavailable; rate limit not applied (on_store_error allow)", zap.Error(err))
			return nil
		}
		return &refusal{Status: http.StatusServiceUnavailable, Rule: ruleStore, Error: "the rate-limit store is unavailable; nothing was sent to QFPay"}
	}
	if wait > 0 {
		return &refusal{Status: http.StatusTooManyRequests, Rule: ruleRateLimit,
			Error:      fmt.Sprintf("more than %s for %s; nothing was sent to QFPay", rl, whose),
			retryAfter: exchange.RetryAfterSeconds(wait)}
	}
	return nil
}

// String is the limit as written: "100/s,400/m".
func (rl *RateLimit) String() string {
	var parts []string
	if rl.PerSecond > 0 {
		parts = append(parts, strconv.Itoa(rl.PerSecond)+"/s")
	}
	if rl.PerMinute > 0 {
		parts = append(parts, strconv.Itoa(rl.PerMinute)+"/m")
	}
	return strings.Join(parts, ",")
}
