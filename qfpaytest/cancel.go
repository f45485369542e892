package qfpaytest

import "cmp"

var requiredCancel = []string{"txamt", "txdtm"}

// cancel reverses (POST /trade/v1/reversal) or closes (GET
// /trade/v1/close) a payment named by syssn, out_trade_no or both, for its
// full txamt. Its query rows then carry cancel 1 (CPM pay types) or 2
// (others); a pending payment also ends, with respcd 1142 (order closed),
// so a gateway polling it stops. A just-made successful payment keeps
// respcd 0000 beside its cancel flag, as QFPay reports reversed CPM
// payments. The answer's syssn is the cancel's own; no row is kept for it.
func (s *Server) cancel(m Merchant, form map[string]string) any {
	if msg := checkFollowUp(form, requiredCancel); msg != "" {
		return failure("1101", msg)
	}
	if form["syssn"] == "" && form["out_trade_no"] == "" {
		return failure("1101", "missing syssn or out_trade_no")
	}
	orig, code := s.targetLocked(m.AppCode, form)
	if code == "" {
		s.settleLocked(orig)
		code = cancellable(orig, form["txamt"])
	}
	if code != "" {
		return fail(code)
	}
	orig.cancel = cancelClosed
	if cpmTypes[orig.PayType] {
		orig.cancel = cancelReversed
	}
	if pendingCodes[orig.respcd] {
		orig.respcd, orig.final = "1142", ""
	}
	return followUp{
		result: success(), payment: s.derivedLocked(orig, form, orig.OutTradeNo), OrigSyssn: orig.Syssn,
	}
}

// targetLocked finds the transaction a cancel names, or returns the respcd
// refusing it: 1268 when an id is unknown, 1267 when the two disagree.
func (s *Server) targetLocked(appCode string, form map[string]string) (*entry, string) {
	var bySn, byOut *entry
	if v := form["syssn"]; v != "" {
		if bySn = s.findLocked(appCode, bySyssn, v); bySn == nil {
			return nil, "1268"
		}
	}
	if v := form["out_trade_no"]; v != "" {
		if byOut = s.findLocked(appCode, byOutTradeNo, v); byOut == nil {
			return nil, "1268"
		}
	}
	if bySn != nil && byOut != nil && bySn != byOut {
		return nil, "1267"
	}
	return cmp.Or(bySn, byOut), ""
}

// cancellable returns the respcd refusing to cancel orig for txamt, or "".
func cancellable(orig *entry, txamt string) string {
	want, _ := amount(orig.Txamt)
	switch got, _ := amount(txamt); {
	case orig.orderType != orderPayment:
		return "1136" // not operational: refunds cannot be cancelled
	case orig.cancelled():
		return "1263" // order cancelled already
	case orig.refunded > 0:
		return "1262" // order refunded: too late to cancel
	case got != want:
		return "1266" // amount wrong
	}
	return ""
}
