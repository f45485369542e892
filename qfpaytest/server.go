package qfpaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

const (
	pathPayment  = "/trade/v1/payment"
	pathQuery    = "/trade/v1/query"
	pathRefund   = "/trade/v1/refund"
	pathReversal = "/trade/v1/reversal"
	pathClose    = "/trade/v1/close"
	pathAddNote  = "/trade/v1/add_note"
	maxBody      = 1 << 20
)

// Merchant is one set of QFPay credentials.
type Merchant struct {
	AppCode   string
	ClientKey string
	MchID     string // "" when QFPay issued none; then a request carrying mchid is refused
	Name      string // shown on the checkout page; "" shows a generic name
}

// Request is one request as received, recorded before any verification.
type Request struct {
	Method   string
	Path     string
	RawQuery string      // the URL's query string: where a GET carries its signed parameters
	Header   http.Header // cloned
	Body     []byte
}

// Server is the QFPay test double. It implements http.Handler and is safe
// for concurrent use.
type Server struct {
	mu        sync.Mutex
	merchants map[string]Merchant
	requests  []Request
	trades    []entry   // payments and refunds, oldest first; see ledger.go
	script    []Outcome // queued scripted outcomes; see script.go
	seq       uint64
	now       func() time.Time // replaced by tests for fixed dates
	n         notifier         // asynchronous notifications, see notify.go

	checkoutURL string       // base of pay_url when the checkout page is on; see checkout.go
	pages       http.Handler // the checkout page, see checkout_http.go

	ledger    *bbolt.DB        // nil: the ledger lives in memory only; see persist.go
	touched   map[int]struct{} // indexes of trades to save at the next changedLocked
	ledgerErr error            // a failed save: trades are refused from then on
}

// result is the envelope every QFPay answer starts with.
type result struct {
	Respcd  string `json:"respcd"`
	Respmsg string `json:"respmsg"`
	Resperr string `json:"resperr"`
}

func failure(code, msg string) result { return result{Respcd: code, Resperr: msg} }

// handler answers one verified trade request; it runs with s.mu held.
type handler func(m Merchant, form map[string]string) any

// route is an endpoint: the one method QFPay accepts on it, and its handler.
type route struct {
	method string
	h      handler
}

// New returns a server that knows the given merchants.
func New(merchants ...Merchant) *Server {
	s := &Server{merchants: make(map[string]Merchant), now: time.Now}
	s.n.init()
	s.pages = s.checkoutPages()
	for _, m := range merchants {
		s.AddMerchant(m)
	}
	return s
}

// AddMerchant adds m, replacing any merchant with the same AppCode.
func (s *Server) AddMerchant(m Merchant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.merchants[m.AppCode] = m
}

// Requests returns a deep copy of the recorded requests, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = r
		out[i].Header, out[i].Body = r.Header.Clone(), bytes.Clone(r.Body)
	}
	return out
}

// Count is the number of requests received since New or the last Reset.
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// CountPath is the number of requests received on path (for example
// "/trade/v1/payment") since New or the last Reset.
func (s *Server) CountPath(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if r.Path == path {
			n++
		}
	}
	return n
}

// Reset forgets recorded requests. Payments and refunds are kept so that
// a reused out_trade_no is still refused, as QFPay would; so are scripted
// outcomes not yet taken.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// ServeHTTP records the request, then routes and verifies it. The
// checkout page is a customer's browser, not the merchant: it is served
// apart and not recorded.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, checkoutPrefix) {
		s.pages.ServeHTTP(w, r)
		return
	}
	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	s.record(r, body)
	rt, ok := s.route(r.URL.Path)
	switch {
	case !ok:
		writeJSON(w, http.StatusNotFound, failure("1101", "not found"))
	case r.Method != rt.method:
		w.Header().Set("Allow", rt.method)
		writeJSON(w, http.StatusMethodNotAllowed, failure("1101", "method not allowed"))
	case rt.method == http.MethodPost && !isForm(r.Header.Get("Content-Type")):
		writeJSON(w, http.StatusUnsupportedMediaType, failure("1101", "content type must be application/x-www-form-urlencoded"))
	case readErr != nil:
		writeJSON(w, http.StatusRequestEntityTooLarge, failure("1101", "param error"))
	default:
		s.respond(w, r, s.trade(r, body, rt.h))
	}
}

func (s *Server) record(r *http.Request, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, Request{
		Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
		Header: r.Header.Clone(), Body: bytes.Clone(body),
	})
}

func (s *Server) route(path string) (route, bool) {
	switch path {
	case pathPayment:
		return route{http.MethodPost, s.payment}, true
	case pathQuery:
		return route{http.MethodPost, s.query}, true
	case pathRefund:
		return route{http.MethodPost, s.refund}, true
	case pathReversal:
		return route{http.MethodPost, s.cancel}, true
	case pathClose:
		return route{http.MethodGet, s.cancel}, true
	case pathAddNote:
		return route{http.MethodPost, s.addNote}, true
	}
	return route{}, false
}

// trade authenticates a well-formed request and hands it to h.
func (s *Server) trade(r *http.Request, body []byte, h handler) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ledgerErr != nil {
		return failure("1100", "system under maintenance: the ledger could not be saved")
	}
	m, ok := s.merchants[headerValue(r.Header, "X-QF-APPCODE")]
	if !ok || m.AppCode == "" {
		return failure("1150", "app code not found")
	}
	form, err := signedParams(r, body)
	if err != nil {
		return failure("1101", "param error")
	}
	sign := headerValue(r.Header, "X-QF-SIGN")
	if verify(form, headerValue(r.Header, "X-QF-SIGNTYPE"), sign, m.ClientKey) != nil {
		return failure("1108", "signature error")
	}
	if !mchidOK(m, form) {
		return failure("1101", "mchid mismatch")
	}
	v := h(m, form)
	s.changedLocked() // the handler may have moved the ledger: wake waiters
	return v
}

// signedParams returns the parameters the signature covers: a POST's form
// body, a GET's query string. Parameters anywhere else would be unsigned,
// so they are refused.
func signedParams(r *http.Request, body []byte) (map[string]string, error) {
	if r.Method == http.MethodGet {
		if len(body) > 0 {
			return nil, errUnsigned
		}
		return parseForm([]byte(r.URL.RawQuery))
	}
	if r.URL.RawQuery != "" {
		return nil, errUnsigned
	}
	return parseForm(body)
}

// mchidOK: a merchant with an mchid must send exactly it; one without must
// not send the field at all, not even empty.
func mchidOK(m Merchant, form map[string]string) bool {
	mchid, sent := form["mchid"]
	if m.MchID == "" {
		return !sent
	}
	return sent && mchid == m.MchID
}

// headerValue finds name case-insensitively even in hand-built header maps,
// where Go's key canonicalisation never ran.
func headerValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, vs := range h {
		if strings.EqualFold(k, name) && len(vs) > 0 {
			return vs[0]
		}
	}
	return ""
}

func isForm(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/x-www-form-urlencoded"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // QFPay does not escape '&' in URLs
	if err := enc.Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Running is a Server listening on a real socket.
type Running struct {
	*Server
	URL  string // "http://127.0.0.1:port"
	Addr string // "127.0.0.1:port"

	srv  *http.Server
	done chan error
	once sync.Once
	err  error

	closeLedger func() error // StartPersistent's file; nil for Start
}

// Start listens on addr ("127.0.0.1:0" typical) and serves in a goroutine.
func Start(addr string, merchants ...Merchant) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return serve(ln, New(merchants...)), nil
}

// serve serves s on ln in a goroutine.
func serve(ln net.Listener, s *Server) *Running {
	r := &Running{
		Server: s,
		Addr:   ln.Addr().String(),
		srv:    &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan error, 1),
	}
	r.URL = "http://" + r.Addr
	// Shutdown waits for handlers, so scripted hangs must end first.
	r.srv.RegisterOnShutdown(s.Close)
	go func() { r.done <- r.srv.Serve(ln) }()
	return r
}

// Close shuts the listener and server down, waits for the serve goroutine,
// and stops pending notifications and scripted hangs (Server.Close). It is
// safe to call more than once.
func (r *Running) Close() error {
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.srv.Shutdown(ctx); err != nil {
			r.err = errors.Join(err, r.srv.Close())
		}
		if err := <-r.done; !errors.Is(err, http.ErrServerClosed) {
			r.err = errors.Join(r.err, err)
		}
		r.Server.Close()
		if r.closeLedger != nil {
			r.err = errors.Join(r.err, r.closeLedger())
		}
	})
	return r.err
}
