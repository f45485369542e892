package qfpaytest

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

const dtmLayout = "2006-01-02 15:04:05"

// hkTime is QFPay HK's local time, used for syssn dates and sysdtm.
var hkTime = time.FixedZone("HKT", 8*60*60)

var requiredPayment = []string{"txamt", "txcurrcd", "pay_type", "out_trade_no", "txdtm"}

var currencies = set("AED", "AUD", "CAD", "CNY", "EUR", "HKD", "IDR", "JPY", "MMK", "MYR", "SGD", "THB", "USD")

// payTypes is the explicit allow-list of API.md section 9.
var payTypes = set(
	"801101", "801107", "801501", "801512", "801514", "801510", "801110",
	"800101", "800108", "800107",
	"800201", "800208", "800207", "800212", "800210", "800213",
	"801008", "801010", "800008",
	"805801", "805808", "805814", "805812",
	"800701", "800708", "800712", "800714",
	"802001", "802010", "803701", "803712", "803714",
	"802801", "802808", "806527", "806708", "806808",
)

var (
	onlineAlipay = set("801101", "801107", "801501", "801512", "801514")
	mpmTypes     = set("800101", "800201", "805801", "800701", "802001", "803701")
	// cpmTypes charge the customer's code, so they need auth_code.
	cpmTypes = set("800008", "800108", "800208", "801008", "805808", "800708")
)

func set(items ...string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, it := range items {
		m[it] = true
	}
	return m
}

// payment is a created transaction, in QFPay's response field order.
type payment struct {
	Syssn      string `json:"syssn"`
	OutTradeNo string `json:"out_trade_no"`
	PayType    string `json:"pay_type"`
	Txamt      string `json:"txamt"`
	Txcurrcd   string `json:"txcurrcd"`
	Txdtm      string `json:"txdtm"`
	Sysdtm     string `json:"sysdtm"`
	Udid       string `json:"udid"`
	Cardcd     string `json:"cardcd"`
	Chnlsn     string `json:"chnlsn"`
	PayURL     string `json:"pay_url,omitempty"`
	QRCode     string `json:"qrcode,omitempty"`
}

type paymentResponse struct {
	result
	payment
}

type queryResponse struct {
	result
	Page     string `json:"page"`
	PageSize string `json:"page_size"`
	Data     []row  `json:"data"` // never nil: QFPay sends [] for no match
}

// checkPayment returns the resperr for an invalid payment, or "".
func checkPayment(form map[string]string) string {
	for _, name := range requiredPayment {
		if form[name] == "" {
			return "missing " + name
		}
	}
	switch _, ok := amount(form["txamt"]); {
	case !ok:
		return "invalid txamt"
	case !currencies[form["txcurrcd"]]:
		return "invalid txcurrcd"
	case !payTypes[form["pay_type"]]:
		return "invalid pay_type"
	case len(form["out_trade_no"]) > 128:
		return "invalid out_trade_no"
	case cpmTypes[form["pay_type"]] && form["auth_code"] == "":
		return "missing auth_code"
	}
	if !validDtm(form["txdtm"]) {
		return "invalid txdtm"
	}
	return checkExpiredTime(form["expired_time"])
}

// payment creates a payment: successful at once, unless a scripted
// Outcome says otherwise (script.go).
func (s *Server) payment(m Merchant, form map[string]string) any {
	if msg := checkPayment(form); msg != "" {
		return failure("1101", msg)
	}
	o := s.takeLocked(form["out_trade_no"])
	if o.refused() {
		return o.reply(o.refusal())
	}
	return o.reply(s.payLocked(m, form, o))
}

// payLocked records the payment in the state o scripts and answers it.
func (s *Server) payLocked(m Merchant, form map[string]string, o Outcome) any {
	// out_trade_no is unique across payments and refunds alike.
	if s.findLocked(m.AppCode, byOutTradeNo, form["out_trade_no"]) != nil {
		return fail("1102")
	}
	now := s.now().In(hkTime)
	p := payment{
		Syssn:      s.newSyssnLocked(now),
		OutTradeNo: form["out_trade_no"],
		PayType:    form["pay_type"],
		Txamt:      form["txamt"],
		Txcurrcd:   form["txcurrcd"],
		Txdtm:      form["txdtm"],
		Sysdtm:     now.Format(dtmLayout),
		Udid:       form["udid"],
	}
	switch {
	case onlineAlipay[p.PayType]:
		p.PayURL = "https://openapi-int.qfapi.com/checkstand/alipay?syssn=" + p.Syssn
	case mpmTypes[p.PayType]:
		p.QRCode = "https://openapi-int.qfapi.com/qrcode?syssn=" + p.Syssn
	}
	e := entry{
		appCode: m.AppCode, goodsName: form["goods_name"], notifyURL: form["notify_url"],
		orderType: orderPayment, state: o.initial(), payment: p,
	}
	if e.respcd == "0000" {
		e.paydtm = p.Sysdtm
	}
	s.openCheckoutLocked(&e, m, form, now)
	s.trades = append(s.trades, e)
	s.touchLocked(len(s.trades) - 1)
	if e.respcd == "0000" {
		_ = s.notifyLocked(e, notifyPayment) // no URL set: nothing to send
	}
	if e.co.token != "" {
		// The order exists; whether it gets paid, query tells (1143 until then).
		return paymentResponse{result: success(), payment: e.payment}
	}
	return paymentResponse{result: result{Respcd: e.respcd, Resperr: respText(e.respcd)}, payment: p}
}

// query lists the merchant's payments and refunds matching every filter
// given. Each query that finds a pending payment brings it closer to its
// scripted final state.
func (s *Server) query(m Merchant, form map[string]string) any {
	page, size, ok := paging(form)
	if !ok {
		return failure("1101", "invalid page or page_size")
	}
	syssns, outs := splitList(form["syssn"]), splitList(form["out_trade_no"])
	rows := []row{}
	for i := range s.trades {
		e := &s.trades[i]
		if e.appCode == m.AppCode && matches(syssns, e.Syssn) && matches(outs, e.OutTradeNo) &&
			(form["pay_type"] == "" || form["pay_type"] == e.PayType) {
			s.touchLocked(i)
			s.settleLocked(e)
			s.observeLocked(e)
			rows = append(rows, e.row())
		}
	}
	return queryResponse{
		result:   success(),
		Page:     strconv.Itoa(page),
		PageSize: strconv.Itoa(size),
		Data:     pageOf(rows, page, size),
	}
}

// paging reads page (default 1) and page_size (default 10, at most 100).
func paging(form map[string]string) (page, size int, ok bool) {
	page, size = 1, 10
	var err error
	if v := form["page"]; v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, false
		}
	}
	if v := form["page_size"]; v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 1 || size > 100 {
			return 0, 0, false
		}
	}
	return page, size, true
}

func pageOf(rows []row, page, size int) []row {
	// Compare before multiplying so a huge page cannot overflow.
	if page-1 > len(rows)/size {
		return rows[:0]
	}
	start := (page - 1) * size
	if start >= len(rows) {
		return rows[:0]
	}
	return rows[start:min(start+size, len(rows))]
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// matches reports whether v is in list; an absent filter matches all.
func matches(list []string, v string) bool {
	return len(list) == 0 || slices.Contains(list, v)
}
