package qfpaytest

var requiredRefund = []string{"syssn", "out_trade_no", "txamt", "txdtm"}

// followUp answers a refund, reversal or close: the new transaction's
// fields and the syssn of the payment it acts on.
type followUp struct {
	result
	payment
	OrigSyssn string `json:"orig_syssn"`
}

// refund refunds part or all of a successful payment. The refund is a
// transaction of its own, found by query under its syssn or out_trade_no
// with order_type "refund" and origssn the payment's; the payment's cancel
// flag turns 5 (partly) or 3 (fully refunded). Like a payment, a refund is
// notified ("refund") when a notify URL applies.
func (s *Server) refund(m Merchant, form map[string]string) any {
	if msg := checkFollowUp(form, requiredRefund); msg != "" {
		return failure("1101", msg)
	}
	// out_trade_no is unique across payments and refunds alike.
	if s.findLocked(m.AppCode, byOutTradeNo, form["out_trade_no"]) != nil {
		return fail("1102")
	}
	orig := s.findLocked(m.AppCode, bySyssn, form["syssn"])
	if orig != nil {
		s.settleLocked(orig)
	}
	amt, _ := amount(form["txamt"])
	if code := refundable(orig, amt); code != "" {
		return fail(code)
	}
	orig.refunded += amt
	orig.cancel = cancelPartial
	if total, _ := amount(orig.Txamt); orig.refunded == total {
		orig.cancel = cancelRefunded
	}
	e := entry{
		appCode: m.AppCode, notifyURL: orig.notifyURL, orderType: orderRefund, origSyssn: orig.Syssn,
		state:   state{respcd: "0000", cancel: cancelNone},
		payment: s.derivedLocked(orig, form, form["out_trade_no"]),
	}
	s.trades = append(s.trades, e) // orig is stale from here on
	s.touchLocked(len(s.trades) - 1)
	_ = s.notifyLocked(e, notifyRefund)
	return followUp{result: success(), payment: e.payment, OrigSyssn: e.origSyssn}
}

// refundable returns the respcd refusing a refund of amt from orig, or "".
func refundable(orig *entry, amt int64) string {
	switch {
	case orig == nil:
		return "1268" // order does not exist
	case orig.orderType != orderPayment:
		return "1136" // not operational: a refund cannot be refunded
	case orig.cancelled():
		return "1263" // order cancelled
	case orig.respcd != "0000":
		return "1261" // order not paid (pending or failed)
	}
	if total, _ := amount(orig.Txamt); orig.refunded+amt > total {
		return "1272" // over the refundable amount
	}
	return ""
}
