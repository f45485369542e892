package caddymodule

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/qfsign/qfsign/exchange"
	"github.com/qfsign/qfsign/signer"
)

func init() {
	caddy.RegisterModule(Gateway{})
}

// QFPay's headers, in Go's canonical form (names are case-insensitive).
const (
	headerAppCode  = "X-Qf-Appcode"
	headerSign     = "X-Qf-Sign"
	headerSignType = "X-Qf-Signtype"
)

// defaultMaxBody bounds an application's form; QFPay's largest payment
// form is a few KiB.
const defaultMaxBody = 64 << 10

// Gateway is the terminal handler for one merchant's QFPay calls: it
// validates and normalises an application's unsigned request, applies
// the out_trade_no guard, signs, sends to the app's pinned upstream
// with its own HTTP client, and answers with QFPay's answer (serve.go).
// The payment decisions are package exchange's.
type Gateway struct {
	merchantRef
	// VerifyResponse checks a signature on QFPay's answer, when there is
	// one: off (default; the documented format is unproven), log (log
	// and count mismatches) or enforce (also answer 502 instead).
	VerifyResponse string `json:"verify_response,omitempty"`
	// Endpoints is the allow-list of paths signed. Default: every
	// endpoint the gateway knows (payment, query, refund, reversal,
	// close, add_note). Others get 404: never a signing oracle.
	Endpoints []string `json:"endpoints,omitempty"`
	// OrderTTL is how long an out_trade_no is remembered. Default 7 days;
	// QFPay's uniqueness is forever, so applications must still never
	// reuse one.
	OrderTTL caddy.Duration `json:"order_ttl,omitempty"`
	// OnStoreError is refuse (default: 503, nothing forwarded) or allow
	// (forward without the out_trade_no guard and rate limit).
	OnStoreError string `json:"on_store_error,omitempty"`
	// ResolvePending, when set, resolves pending payments (1143, 1145,
	// 1298, or no answer) by querying QFPay until final or MaxWait.
	// Default: off; the pending answer is passed on.
	ResolvePending *ResolvePending `json:"resolve_pending,omitempty"`
	// NotAtQFPayAfter: an order whose outcome is unknown (its answer was
	// lost, or its gateway died) and that QFPay still has no record of
	// this long after its claim was never charged: it is answered 404
	// not_at_qfpay, and the application pays again with a new
	// out_trade_no. Before that, 502 outcome_unknown with Retry-After.
	// Default 10m, sized to QFPay's own consistency.
	NotAtQFPayAfter caddy.Duration `json:"not_at_qfpay_after,omitempty"`
	// StrictEscapes refuses a '%' not followed by two hex digits (rule
	// escape). Default false: it is kept as a literal '%', as PHP and
	// Python read it ("50% off"), signed so, and escaped on the wire.
	StrictEscapes bool `json:"strict_escapes,omitempty"`
	// Mode is sign (default: validate, sign, send the signed request)
	// or observe (for migration: send the application's own signed
	// request unchanged, and log and count what sign mode would have
	// done; see docs/migration.md).
	Mode string `json:"mode,omitempty"`
	// MaxFields bounds the fields of the form to sign, query string,
	// body and multipart merged (rule form_size, 413). Default 64.
	MaxFields int `json:"max_fields,omitempty"`
	// UnknownFields is pass (default: sign a field the endpoint does not
	// know as sent) or refuse (400 rule unknown_field). Either way the
	// names are logged and counted (qfsign_unknown_fields_total).
	UnknownFields string `json:"unknown_fields,omitempty"`
	// ListenerRateLimit caps the requests this route takes on each
	// listener (port or unix socket), counted before anything else and
	// before the merchant's rate_limit (429 rule rate_limit). Default off.
	ListenerRateLimit *RateLimit `json:"listener_rate_limit,omitempty"`
	// Client is how QFPay is reached: timeouts and egress proxy.
	Client

	allowed map[string]bool
	x       *exchange.Exchange
	metrics *sync.Map // seriesKey -> *handlerSeries; a pointer: CaddyModule copies the value
}

// ResolvePending tunes pending resolution.
type ResolvePending struct {
	// MaxWait bounds the caller's wait. Required.
	MaxWait caddy.Duration `json:"max_wait,omitempty"`
	// Interval between queries. Default 3s (QFPay asks for 3-5s).
	Interval caddy.Duration `json:"interval,omitempty"`
}

const (
	storeErrorRefuse = "refuse"
	storeErrorAllow  = "allow"
)

// CaddyModule returns the Caddy module information.
func (Gateway) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.qfpay_gateway",
		New: func() caddy.Module { return new(Gateway) },
	}
}

// Provision looks up the merchant in the qfpay app, the endpoints, and
// builds the client to QFPay and the exchange.
func (h *Gateway) Provision(ctx caddy.Context) error {
	if err := h.provision(ctx, "qfpay_gateway"); err != nil {
		return err
	}
	if err := h.provisionEndpoints(); err != nil {
		return err
	}
	send, err := h.Client.sender(h.app.upstream)
	if err != nil {
		return fmt.Errorf("qfpay_gateway: %w", err)
	}
	h.provisionExchange(send)
	return nil
}

// provisionEndpoints builds the allow-list of signed paths (and the
// metric series cache).
func (h *Gateway) provisionEndpoints() error {
	h.metrics = new(sync.Map)
	paths := h.Endpoints
	if len(paths) == 0 {
		paths = signer.EndpointPaths()
	}
	h.allowed = make(map[string]bool, len(paths))
	for _, p := range paths {
		if _, ok := signer.LookupEndpoint(p); !ok {
			return fmt.Errorf("qfpay_gateway: endpoints: %q is not a QFPay endpoint the gateway can sign (%s)", p, strings.Join(signer.EndpointPaths(), ", "))
		}
		h.allowed[p] = true
	}
	return nil
}

// provisionExchange sets up the payment decisions for this route.
func (h *Gateway) provisionExchange(send exchange.Send) {
	x := &exchange.Exchange{
		Merchant:       h.Merchant,
		Store:          h.app.store,
		SignType:       h.m.signType,
		Sender:         send,
		Credentials:    h.m.credentials,
		OrderTTL:       time.Duration(h.OrderTTL),
		AllowUnguarded: h.OnStoreError == storeErrorAllow,
		Events:         events{h.Merchant},
		Logger:         h.logger,
	}
	if h.m.cache != nil { // only a Vault key can rotate
		x.Refetch = h.m.cache.Refetch
	}
	if rp := h.ResolvePending; rp != nil {
		x.ResolveWait, x.ResolveInterval = time.Duration(rp.MaxWait), time.Duration(rp.Interval)
	}
	x.NotAtQFPayAfter = time.Duration(h.NotAtQFPayAfter)
	if h.VerifyResponse == verifyLog || h.VerifyResponse == verifyEnforce {
		x.Verify, x.Enforce = h.verify, h.VerifyResponse == verifyEnforce
	}
	x.Init()
	h.x = x
}

// events counts what the exchange reports.
type events struct{ merchant string }

func (events) StoreError(op string)    { storeErrorsTotal.WithLabelValues(op).Inc() }
func (e events) Pending(result string) { pendingTotal.WithLabelValues(e.merchant, result).Inc() }

// Validate checks the static configuration.
func (h *Gateway) Validate() error {
	if h.MaxBody < 0 || h.MaxFields < 0 {
		return fmt.Errorf("qfpay_gateway: max_body and max_fields must be positive")
	}
	switch h.VerifyResponse {
	case "", verifyOff, verifyLog, verifyEnforce:
	default:
		return fmt.Errorf("qfpay_gateway: verify_response must be off, log or enforce")
	}
	switch h.OnStoreError {
	case "", storeErrorRefuse, storeErrorAllow:
	default:
		return fmt.Errorf("qfpay_gateway: on_store_error must be refuse or allow")
	}
	if h.UnknownFields != "" && h.UnknownFields != unknownPass && h.UnknownFields != unknownRefuse {
		return fmt.Errorf("qfpay_gateway: unknown_fields must be pass or refuse")
	}
	if h.Mode != "" && h.Mode != modeSign && h.Mode != modeObserve {
		return fmt.Errorf("qfpay_gateway: mode must be sign or observe")
	}
	if rp := h.ResolvePending; rp != nil && (rp.MaxWait <= 0 || rp.Interval < 0) {
		return fmt.Errorf("qfpay_gateway: resolve_pending: max_wait must be positive and interval not negative")
	}
	if err := h.ListenerRateLimit.validate(); err != nil {
		return fmt.Errorf("qfpay_gateway: listener_%w", err)
	}
	return h.Client.validate()
}

// Cleanup closes the client's idle connections.
func (h *Gateway) Cleanup() error {
	h.Client.close()
	return nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Gateway)(nil)
	_ caddy.Validator             = (*Gateway)(nil)
	_ caddy.CleanerUpper          = (*Gateway)(nil)
	_ caddyhttp.MiddlewareHandler = (*Gateway)(nil)
)
