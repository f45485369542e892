// Package exchange makes the payment decisions of one call to QFPay,
// without Caddy: the out_trade_no guard (new, replay, in progress,
// reused, unknown outcome), one send, the 1108 re-sign with a rotated
// key, the classification of QFPay's answer, its record, and pending
// resolution by /trade/v1/query. It reaches QFPay only through Send, the
// store only through store.Store, time only through Clock: tests swap
// all three.
package exchange

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
	"github.com/qfsign/qfsign/store"
)

// Request is one call to QFPay, complete: the sender adds only the
// pinned URL, Host, Content-Length and User-Agent.
type Request struct {
	Method      string
	Path        string
	Query       string // the raw query string (a GET's signed fields)
	Body        []byte // the signed form (nil for a GET)
	ContentType string // "" without a body
	AppCode     string // X-QF-APPCODE
	Sig         string // X-QF-SIGN; never logged
	SignType    string // X-QF-SIGNTYPE, "" for none (MD5)
}

// Response is QFPay's answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Send sends req once and reads the whole answer. An error wrapping
// ErrNotSent means the request provably never left (a dial failure);
// any other error leaves the outcome unknown.
type Send func(ctx context.Context, req *Request) (*Response, error)

var (
	// ErrNotSent marks a failure before any byte reached QFPay.
	ErrNotSent = errors.New("not sent")
	// ErrAnswerTooLarge: QFPay's answer exceeded the sender's bound; the
	// outcome is unknown.
	ErrAnswerTooLarge = errors.New("QFPay's answer is larger than 1 MiB")
)

// Clock is time as the exchange sees it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Events counts what the exchange cannot answer for itself; a nil
// Events counts nothing.
type Events interface {
	// StoreError: op is claim, get, record or incr.
	StoreError(op string)
	// Pending: result is final, still_pending or error.
	Pending(result string)
}

// Exchange holds one merchant route's settings; it is safe for
// concurrent use and keeps no per-request state.
type Exchange struct {
	Merchant string
	Store    store.Store
	SignType signer.SignType
	Sender   Send
	// Credentials returns the current key; an error fails closed.
	Credentials func() (*keys.Credentials, error)
	// Refetch fetches the key again after a 1108 (callers share one
	// fetch). Nil: the key cannot rotate, 1108 is passed on.
	Refetch func(oldKID string) (*keys.Credentials, error)
	// OrderTTL is how long an out_trade_no is remembered. Default 7 days.
	OrderTTL time.Duration
	// AllowUnguarded sends without the guard when the store fails
	// (on_store_error allow). Default false: refuse, nothing sent.
	AllowUnguarded bool
	// ResolveWait > 0 resolves pending answers by query for that long;
	// 0 passes them on (a retry is still answered by query).
	ResolveWait time.Duration
	// ResolveInterval between queries. Default 3s (QFPay asks for 3-5s).
	ResolveInterval time.Duration
	// NotAtQFPayAfter: an order whose outcome is unknown and that QFPay
	// still has no record of this long after its claim was never charged;
	// it is answered 404 not_at_qfpay. Default 10 minutes.
	NotAtQFPayAfter time.Duration
	// Verify checks a signed answer and reports false on a mismatch;
	// with Enforce a mismatch is refused with 502. Nil: no check.
	Verify  func(*Response) bool
	Enforce bool
	Clock   Clock
	Events  Events
	Logger  *zap.Logger
}

// Defaults.
const (
	DefaultOrderTTL        = 7 * 24 * time.Hour
	DefaultPendingInterval = 3 * time.Second
	DefaultNotAtQFPayAfter = 10 * time.Minute
	// inflightMax: an in-flight record older than this belongs to a
	// request that died with its gateway; it is resolved by query.
	inflightMax = 2 * time.Minute
	// recordTimeout bounds recording an outcome, detached from the caller.
	recordTimeout = 5 * time.Second
	// queryTimeout bounds one /trade/v1/query.
	queryTimeout = 10 * time.Second
)

// Init fills in defaults; call once before use.
func (x *Exchange) Init() {
	if x.OrderTTL <= 0 {
		x.OrderTTL = DefaultOrderTTL
	}
	if x.ResolveInterval <= 0 {
		x.ResolveInterval = DefaultPendingInterval
	}
	if x.NotAtQFPayAfter <= 0 {
		x.NotAtQFPayAfter = DefaultNotAtQFPayAfter
	}
	if x.Clock == nil {
		x.Clock = realClock{}
	}
	if x.Events == nil {
		x.Events = noEvents{}
	}
	if x.Logger == nil {
		x.Logger = zap.NewNop()
	}
}

type noEvents struct{}

func (noEvents) StoreError(string) {}
func (noEvents) Pending(string)    {}

// Txn is one application request's exchange state. The caller fills
// Endpoint, Params (validated) and Creds; the exchange the rest.
type Txn struct {
	Endpoint *signer.Endpoint
	Params   signer.Params
	Creds    *keys.Credentials

	Sig  string // never logged
	Wire []byte // the signed bytes: the body, or the query of a GET
	KID  string

	OrderKey  string
	OrderHash string
	Guarded   bool      // this request holds the out_trade_no claim
	Order     string    // new, replayed, resolved_by_query, unguarded
	ClaimedAt time.Time // resolved_by_query: when the order was claimed (or its outcome recorded)
	Queries   int       // /trade/v1/query calls made
	Resent    bool      // signed again after 1108 with a rotated key
}

// Sign binds the app code, signs Params with Creds and keeps the wire
// bytes: exactly what is signed is sent.
func (x *Exchange) Sign(t *Txn) {
	t.Params = t.Endpoint.WithAppCode(t.Params, t.Creds.AppCode)
	t.KID = t.Creds.KID()
	t.Sig = signer.Sign(t.Params, t.Creds.Key, x.SignType)
	t.Wire = t.Params.Encode()
}

// request is the call to QFPay for the signed t, in the endpoint's shape.
func (x *Exchange) request(t *Txn) *Request {
	r := &Request{Method: t.Endpoint.Method, Path: t.Endpoint.Path, AppCode: t.Creds.AppCode, Sig: t.Sig, SignType: x.SignType.Header()}
	if t.Endpoint.ParamsInQuery() {
		r.Query = string(t.Wire)
		return r
	}
	r.Body, r.ContentType = t.Wire, "application/x-www-form-urlencoded"
	return r
}
