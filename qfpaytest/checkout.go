package qfpaytest

import (
	"crypto/rand"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The customer's choices on the checkout page.
const (
	actionPay     = "pay"
	actionCancel  = "cancel"
	actionPending = "pending"
)

const (
	defaultExpiry = 30 * time.Minute // expired_time's default, as QFPay's
	respUnpaid    = "1143"           // created, nobody paid yet
	respPending   = "1145"           // the customer left it pending
	respClosed    = "1142"           // cancelled, closed or expired
)

// checkout is what the page of an online payment needs beyond the
// payment: its unguessable id, where the browser goes back to, and when
// the order expires. The zero value means no checkout page.
type checkout struct {
	token     string
	returnURL string // "" unless an absolute http(s) URL was given
	expires   time.Time
	expired   bool // closed by the clock, not by a person
	merchant  string
	mchid     string
}

// SetCheckoutURL turns the checkout page on: the online Alipay payments
// (801101, 801501, 801514 web; 801107, 801512 WAP) then get a pay_url of
// base + "/checkout/<id>" instead of QFPay's, and stay unpaid (query
// 1143) until a browser pays, cancels or leaves them pending there, or
// expired_time runs out. Only their payment notification waits for the
// Pay button. base is the double's address as the customer's browser
// reaches it, e.g. "http://127.0.0.1:9999"; "" turns the page off (the
// default: such payments succeed at once, as before).
func (s *Server) SetCheckoutURL(base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checkoutURL = strings.TrimSuffix(base, "/")
}

// SetClock replaces the clock behind sysdtm, paydtm and expiry; nil
// restores time.Now. Tests move it forward to expire orders.
func (s *Server) SetClock(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// checkExpiredTime returns the resperr for an invalid expired_time, or "".
func checkExpiredTime(v string) string {
	if v == "" {
		return ""
	}
	if n, err := strconv.Atoi(v); strings.Trim(v, "0123456789") != "" || err != nil || n < 5 || n > 120 {
		return "invalid expired_time"
	}
	return ""
}

// openCheckoutLocked turns e, a just-created successful online payment,
// into an unpaid order with a checkout page, when the page is on.
func (s *Server) openCheckoutLocked(e *entry, m Merchant, form map[string]string, now time.Time) {
	if s.checkoutURL == "" || !onlineAlipay[e.PayType] || e.respcd != "0000" {
		return
	}
	expiry := defaultExpiry
	if n, err := strconv.Atoi(form["expired_time"]); err == nil {
		expiry = time.Duration(n) * time.Minute
	}
	e.co = checkout{
		token: rand.Text(), returnURL: webURL(form["return_url"]), expires: now.Add(expiry),
		merchant: m.Name, mchid: m.MchID,
	}
	e.respcd, e.final, e.paydtm = respUnpaid, "", ""
	e.PayURL = s.checkoutURL + "/checkout/" + e.co.token
}

// webURL returns v when it is an absolute http(s) URL, else "": the
// browser is never sent to a javascript: or relative address.
func webURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return v
}

// settleLocked closes e when its checkout expired unpaid. Every path that
// reads or acts on an order calls it, so the clock needs no goroutine.
func (s *Server) settleLocked(e *entry) {
	if e.co.token == "" || !pendingCodes[e.respcd] || e.cancelled() || s.now().Before(e.co.expires) {
		return
	}
	e.respcd, e.co.expired = respClosed, true
	s.changedLocked()
}

// orderLocked returns the checkout order with token, settled, or nil.
func (s *Server) orderLocked(token string) *entry {
	// After a failed save the page refuses as trades do: what it shows
	// paid must be what a restart finds.
	if token == "" || s.ledgerErr != nil {
		return nil
	}
	for i := range s.trades {
		if e := &s.trades[i]; e.co.token == token {
			s.touchLocked(i)
			s.settleLocked(e)
			return e
		}
	}
	return nil
}

// actLocked applies the customer's action to e. It reports whether the
// order changed; an order no longer open changes no more.
func (s *Server) actLocked(e *entry, action string) bool {
	if !e.open() {
		return false
	}
	switch action {
	case actionPay:
		e.respcd, e.paydtm = "0000", s.now().In(hkTime).Format(dtmLayout)
		_ = s.notifyLocked(*e, notifyPayment) // no URL set: nothing to send
	case actionCancel:
		e.respcd, e.cancel = respClosed, cancelClosed
	case actionPending:
		e.respcd = respPending
	default:
		return false
	}
	s.changedLocked()
	return true
}

// open reports whether the customer can still act on the order.
func (e *entry) open() bool { return e.co.token != "" && pendingCodes[e.respcd] && !e.cancelled() }
