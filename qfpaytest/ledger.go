package qfpaytest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Order types, and the cancel flags of query rows as QFPay's enquiry docs
// list them (4, Alipay pre-auth finished, is out of scope).
const (
	orderPayment = "payment"
	orderRefund  = "refund"

	cancelNone     = "0"
	cancelReversed = "1" // CPM payment reversed
	cancelClosed   = "2" // MPM (and other) payment closed
	cancelRefunded = "3" // fully refunded
	cancelPartial  = "5" // partly refunded
)

// respTexts are the resperr/errmsg texts of the codes the double answers,
// shortened from QFPay's status-code table.
var respTexts = map[string]string{
	"0000": "success",
	"1100": "system under maintenance",
	"1102": "duplicate out_trade_no",
	"1108": "signature error",
	"1136": "transaction not operational",
	"1142": "order already closed",
	"1143": "order not paid, customer entering password",
	"1145": "processing, please wait",
	"1261": "order not paid",
	"1262": "order refunded",
	"1263": "order cancelled",
	"1266": "transaction amount wrong",
	"1267": "order information does not match",
	"1268": "order does not exist",
	"1272": "refund amount over refundable amount",
	"1298": "waiting for network response, do not pay again",
}

func respText(code string) string {
	if t, ok := respTexts[code]; ok {
		return t
	}
	return "transaction failed"
}

// fail is a failure with QFPay's text for code.
func fail(code string) result { return failure(code, respText(code)) }

func success() result { return result{Respcd: "0000", Resperr: respText("0000")} }

// entry is a transaction (payment or refund), the app code that owns it,
// where it stands, and what its notification needs beyond the response
// fields.
type entry struct {
	appCode   string
	goodsName string
	notifyURL string // per-request notify_url; "" means the server's
	orderType string // orderPayment or orderRefund
	origSyssn string // refunds: the payment refunded
	paydtm    string // when it was paid; "" until then
	co        checkout
	state
	payment
}

// state is where a transaction stands, as query rows report it.
type state struct {
	respcd   string // "0000", a pending code, or a final failure
	cancel   string // one of the cancel flags
	refunded int64  // payments: minor units refunded so far
	queries  int    // pending: queries still answered pending before it turns final
	final    string // pending: the respcd it turns to; "" = pending for good
	note     string // add_note's remark
}

func (st state) cancelled() bool { return st.cancel == cancelReversed || st.cancel == cancelClosed }

type row struct {
	payment
	OrderType string `json:"order_type"`
	Origssn   string `json:"origssn,omitempty"` // refunds only, as QFPay
	Paydtm    string `json:"paydtm,omitempty"`  // payments once paid
	Respcd    string `json:"respcd"`
	Cancel    string `json:"cancel"`
	Errmsg    string `json:"errmsg"`
}

func (e *entry) row() row {
	return row{
		payment: e.payment, OrderType: e.orderType, Origssn: e.origSyssn, Paydtm: e.paydtm,
		Respcd: e.respcd, Cancel: e.cancel, Errmsg: respText(e.respcd),
	}
}

func bySyssn(e *entry) string      { return e.Syssn }
func byOutTradeNo(e *entry) string { return e.OutTradeNo }

// findLocked returns appCode's transaction whose id (bySyssn or
// byOutTradeNo) is v, or nil. The pointer is valid until s.trades grows.
func (s *Server) findLocked(appCode string, id func(*entry) string, v string) *entry {
	for i := range s.trades {
		if e := &s.trades[i]; e.appCode == appCode && id(e) == v {
			s.touchLocked(i) // the caller may change it
			return e
		}
	}
	return nil
}

// newSyssnLocked is a fresh QFPay transaction number: the HK date, then a
// sequence number.
func (s *Server) newSyssnLocked(now time.Time) string {
	s.seq++
	return fmt.Sprintf("%s%018d", now.Format("20060102"), s.seq)
}

// derivedLocked is the record of a refund or cancel of orig: a new syssn,
// the request's amount, time and udid, the payment's pay type and currency.
func (s *Server) derivedLocked(orig *entry, form map[string]string, outTradeNo string) payment {
	now := s.now().In(hkTime)
	return payment{
		Syssn:      s.newSyssnLocked(now),
		OutTradeNo: outTradeNo,
		PayType:    orig.PayType,
		Txamt:      form["txamt"],
		Txcurrcd:   orig.Txcurrcd,
		Txdtm:      form["txdtm"],
		Sysdtm:     now.Format(dtmLayout),
		Udid:       form["udid"],
	}
}

// amount parses txamt: minor units, digits only, at most 11, above zero.
func amount(v string) (int64, bool) {
	if v == "" || len(v) > 11 || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil && n > 0
}

func validDtm(v string) bool {
	_, err := time.Parse(dtmLayout, v)
	return err == nil
}

// checkFollowUp returns the resperr for a refund or cancel with a required
// field missing or a malformed txamt, txdtm or out_trade_no, or "".
func checkFollowUp(form map[string]string, required []string) string {
	for _, name := range required {
		if form[name] == "" {
			return "missing " + name
		}
	}
	switch _, ok := amount(form["txamt"]); {
	case !ok:
		return "invalid txamt"
	case !validDtm(form["txdtm"]):
		return "invalid txdtm"
	case len(form["out_trade_no"]) > 128:
		return "invalid out_trade_no"
	}
	return ""
}
