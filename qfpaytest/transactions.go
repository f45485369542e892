package qfpaytest

import "net/http"

// Transaction is one payment or refund as the double's ledger holds it:
// what QFPay took, independent of anything the gateway recorded. Checkers
// (the fault campaign) compare callers' answers with it.
type Transaction struct {
	AppCode    string
	OrderType  string // "payment" or "refund"
	Syssn      string
	OutTradeNo string
	OrigSyssn  string // refunds: the payment refunded
	PayType    string
	Txamt      string
	Txcurrcd   string
	Respcd     string // "0000", a pending code, or a final failure
	Cancel     string // QFPay's cancel flag, as query rows report it
}

// Transactions returns every payment and refund recorded so far, oldest
// first. Looking does not move a pending payment towards its final state
// (only a query does).
func (s *Server) Transactions() []Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Transaction, len(s.trades))
	for i, e := range s.trades {
		out[i] = Transaction{
			AppCode: e.appCode, OrderType: e.orderType, Syssn: e.Syssn, OutTradeNo: e.OutTradeNo,
			OrigSyssn: e.origSyssn, PayType: e.PayType, Txamt: e.Txamt, Txcurrcd: e.Txcurrcd,
			Respcd: e.respcd, Cancel: e.cancel,
		}
	}
	return out
}

// Holds reports whether appCode has a payment or refund numbered
// outTradeNo: a request for it now would be a second one.
func (s *Server) Holds(appCode, outTradeNo string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.findLocked(appCode, byOutTradeNo, outTradeNo) != nil
}

// VerifyRequest checks a recorded request's signature as the double does
// (form body of a POST, query string of a GET) against clientKey.
func VerifyRequest(r Request, clientKey string) error {
	var form map[string]string
	var err error
	if r.Method == http.MethodGet {
		form, err = parseForm([]byte(r.RawQuery))
	} else {
		form, err = parseForm(r.Body)
	}
	if err != nil {
		return err
	}
	return verify(form, headerValue(r.Header, "X-QF-SIGNTYPE"), headerValue(r.Header, "X-QF-SIGN"), clientKey)
}

// Params is a recorded request's signed parameters, or nil when they do
// not parse.
func Params(r Request) map[string]string {
	src := r.Body
	if r.Method == http.MethodGet {
		src = []byte(r.RawQuery)
	}
	form, err := parseForm(src)
	if err != nil {
		return nil
	}
	return form
}
