//go:build campaign

package campaign

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/qfsign/qfsign/qfpaytest"
)

// violation is one broken invariant, with the evidence.
type violation struct {
	Invariant string
	Key       string // what must recur for a re-run to count as reproducing (e.g. the header)
	OTN       string // the order involved, if one: the shrinker focuses on it
	Detail    string
}

func (v violation) String() string { return v.Invariant + ": " + v.Detail }

// allowedHeaders are the only headers QFPay may see (canonical form).
var allowedHeaders = map[string]bool{
	"X-Qf-Appcode": true, "X-Qf-Sign": true, "X-Qf-Signtype": true, "Content-Type": true,
	"Content-Length": true, "User-Agent": true, "Host": true, "Accept-Encoding": true,
}

// evidence is what the checker reads: QFPay's ledger and requests, the
// application's log, the notification exchanges, the callers' answers and
// the gateways' output. Nothing from the gateways' own records.
type evidence struct {
	ledger     []qfpaytest.Transaction
	requests   []qfpaytest.Request
	arrivals   []arrival
	deliveries []qfpaytest.Delivery
	exchanges  []notifyExchange
	receipts   []receipt
	calls      []call
	keys       []string
	secrets    []string          // every key and the Vault token
	outputs    map[string]string // name -> content
	headers    map[string]int    // header names seen at QFPay, with counts
}

func collect(c *cluster, h *history) *evidence {
	c.qf.double.Close() // no more notifications while we look
	c.stop()
	outputs, err := c.outputs()
	h.fail(err)
	e := &evidence{
		ledger: c.qf.double.Transactions(), requests: c.qf.double.Requests(), arrivals: c.qf.seen(),
		deliveries: c.qf.double.Deliveries(), exchanges: c.notify.exchanges(), receipts: c.app.receipts(),
		calls: h.calls, keys: c.allKeys(), outputs: outputs, headers: map[string]int{},
	}
	e.secrets = append(slices.Clone(e.keys), c.vault.Admin.Token())
	return e
}

// check runs every invariant, most severe first (the shrinker takes the
// first); each returns its violations.
func check(e *evidence) []violation {
	var out []violation
	for _, f := range []func(*evidence) []violation{
		checkOnce, checkParams, checkSigned, checkKey, checkAcked, checkVerified,
		checkRedelivered, checkDelivered, checkAnswered, checkRotation, checkHeaders,
	} {
		out = append(out, f(e)...)
	}
	return out
}

// checkOnce: once QFPay holds an out_trade_no, no request for it arrives
// again (QFPay would answer 1102: the gateway sent the same order twice).
func checkOnce(e *evidence) []violation {
	var out []violation
	for _, a := range e.arrivals {
		if a.Held || a.Respcd == "1102" {
			out = append(out, violation{Invariant: invOnce, OTN: a.OTN, Detail: fmt.Sprintf("%s %s reached QFPay again after QFPay had taken it (QFPay answered %q)", a.Path, a.OTN, a.Respcd)})
		}
	}
	return out
}

// checkParams and matches: the charge carries parameters a caller sent,
// and every 0000 a caller got for a payment or refund is a ledger entry
// with the caller's out_trade_no, amount and syssn.
func checkParams(e *evidence) []violation {
	var out []violation
	sent := map[string][]string{}
	for _, c := range e.calls {
		if c.OTN != "" {
			sent[c.OTN] = append(sent[c.OTN], c.Params.Get("txamt"))
		}
	}
	for _, tx := range e.ledger {
		if amts, ok := sent[tx.OutTradeNo]; ok && !slices.Contains(amts, tx.Txamt) {
			out = append(out, violation{Invariant: invParams, OTN: tx.OutTradeNo, Detail: fmt.Sprintf("%s charged txamt=%s, callers sent %v", tx.OutTradeNo, tx.Txamt, amts)})
		}
	}
	for _, c := range e.calls {
		if c.Respcd != "0000" || (c.Path != "/trade/v1/payment" && c.Path != "/trade/v1/refund") {
			continue
		}
		i := slices.IndexFunc(e.ledger, func(tx qfpaytest.Transaction) bool { return tx.OutTradeNo == c.OTN })
		switch {
		case i < 0:
			out = append(out, violation{Invariant: invMatches, OTN: c.OTN, Detail: fmt.Sprintf("op #%d: %s answered 0000 for %s, which QFPay never took", c.Op, c.Path, c.OTN)})
		case e.ledger[i].Respcd != "0000":
			out = append(out, violation{Invariant: invMatches, OTN: c.OTN, Detail: fmt.Sprintf("op #%d: 0000 for %s, QFPay holds it as %s", c.Op, c.OTN, e.ledger[i].Respcd)})
		case e.ledger[i].Txamt != c.Params.Get("txamt") || (c.Syssn != "" && c.Syssn != e.ledger[i].Syssn):
			out = append(out, violation{Invariant: invParams, OTN: c.OTN, Detail: fmt.Sprintf("op #%d: 0000 for %s txamt=%s to a caller that sent txamt=%s (QFPay: txamt=%s syssn=%s, answer syssn=%s)",
				c.Op, c.OTN, c.Txamt, c.Params.Get("txamt"), e.ledger[i].Txamt, e.ledger[i].Syssn, c.Syssn)})
		}
	}
	return out
}

// checkSigned: every request carries the app code and a signature valid
// under a key QFPay issued (an old one is answered 1108 and resent).
func checkSigned(e *evidence) []violation {
	var out []violation
	for i, r := range e.requests {
		if r.Header.Get("X-Qf-Appcode") != appCode || r.Header.Get("X-Qf-Sign") == "" {
			out = append(out, violation{Invariant: invSigned, Detail: fmt.Sprintf("request %d %s %s unsigned or without the app code", i, r.Method, r.Path)})
			continue
		}
		if !slices.ContainsFunc(e.keys, func(k string) bool { return qfpaytest.VerifyRequest(r, k) == nil }) {
			out = append(out, violation{Invariant: invSigned, Detail: fmt.Sprintf("request %d %s %s: the signature matches no key QFPay issued", i, r.Method, r.Path)})
		}
	}
	return out
}

// checkHeaders: nothing but QFPay's headers reaches QFPay.
func checkHeaders(e *evidence) []violation {
	foreign := map[string]int{}
	for _, r := range e.requests {
		for name := range r.Header {
			name = http.CanonicalHeaderKey(name)
			e.headers[name]++
			if !allowedHeaders[name] {
				foreign[name]++
			}
		}
	}
	var out []violation
	for _, name := range sortedKeys(foreign) {
		out = append(out, violation{Invariant: invHeaders, Key: name, Detail: fmt.Sprintf("%s reached QFPay on %d of %d requests", name, foreign[name], len(e.requests))})
	}
	return out
}

// checkAcked: every delivery QFPay counts as acknowledged reached the
// application, verified, and the application answered 200 SUCCESS.
func checkAcked(e *evidence) []violation {
	var out []violation
	for _, d := range e.deliveries {
		if !d.Acked {
			continue
		}
		ok := slices.ContainsFunc(e.receipts, func(r receipt) bool {
			return r.Body == string(d.Body) && r.Verified == "1" && r.Status == 200 && strings.TrimSpace(r.Answer) == "SUCCESS"
		})
		if !ok {
			out = append(out, violation{Invariant: invAcked, OTN: otnOf(string(d.Body)), Detail: fmt.Sprintf("%s notification %s (attempt %d) acknowledged to QFPay, but the application never answered SUCCESS to it (it answered: %s)",
				d.NotifyType, d.Syssn, d.Attempt, answersTo(e.receipts, string(d.Body)))})
		}
	}
	return out
}

func answersTo(rs []receipt, body string) string {
	var a []string
	for _, r := range rs {
		if r.Body == body {
			a = append(a, fmt.Sprintf("%d %q", r.Status, r.Answer))
		}
	}
	if len(a) == 0 {
		return "never reached it"
	}
	return strings.Join(a, ", ")
}

// checkVerified: the application receives only bodies QFPay sent, byte
// for byte, each marked verified by the gateway.
func checkVerified(e *evidence) []violation {
	sent := map[string]bool{}
	for _, d := range e.deliveries {
		sent[string(d.Body)] = true
	}
	for _, x := range e.exchanges {
		sent[x.Body] = true // attempts cut short by Close are not in Deliveries
	}
	var out []violation
	for _, r := range e.receipts {
		if !sent[r.Body] || r.Verified != "1" {
			out = append(out, violation{Invariant: invVerified, OTN: otnOf(r.Body), Detail: fmt.Sprintf("the application got an unverified notification (verified=%q): %.120s", r.Verified, r.Body)})
		}
	}
	return out
}

// checkRedelivered: after QFPay was told SUCCESS for a notification, the
// application never receives it again.
func checkRedelivered(e *evidence) []violation {
	var out []violation
	for _, r := range e.receipts {
		for _, x := range e.exchanges {
			if x.Body == r.Body && x.Status == 200 && strings.TrimSpace(x.Answer) == "SUCCESS" && x.End.Before(r.Start) {
				out = append(out, violation{Invariant: invRedeliv, OTN: otnOf(r.Body), Detail: fmt.Sprintf("a notification reached the application %s after QFPay was told SUCCESS: %.80s", r.Start.Sub(x.End).Round(1e6), r.Body)})
				break
			}
		}
	}
	return out
}

// checkDelivered: after the faults healed (and QFPay sent every
// unacknowledged notification once more), each successful payment and
// refund has an acknowledged delivery.
func checkDelivered(e *evidence) []violation {
	var out []violation
	for _, tx := range e.ledger {
		if tx.Respcd != "0000" {
			continue
		}
		acked := slices.ContainsFunc(e.deliveries, func(d qfpaytest.Delivery) bool { return d.Syssn == tx.Syssn && d.Acked })
		// A replica killed while forwarding holds its claim for 5 minutes by
		// design; QFPay's retries (34 hours) outlast it, the campaign does not.
		// A retry still signed with a key rotated away since is refused by
		// design (qfsign verifies with the current key only: an old key may
		// have been rotated because it leaked); QFPay's deliveries signed
		// with the current key decide.
		last := lastAnswer(currentlySigned(e), tx.Syssn)
		inv := invDelivers
		if strings.Contains(last, `"rule":"signature"`) {
			inv = invNotifyKey
		}
		if !acked && !strings.Contains(last, `"in_progress"`) {
			out = append(out, violation{Invariant: inv, OTN: tx.OutTradeNo, Detail: fmt.Sprintf("%s %s (syssn %s) never acknowledged, %d attempts after every fault healed: %s",
				tx.OrderType, tx.OutTradeNo, tx.Syssn, attempts(e.deliveries, tx.Syssn), last)})
		}
	}
	return out
}

// currentlySigned is the deliveries signed with the latest key QFPay
// issued.
func currentlySigned(e *evidence) []qfpaytest.Delivery {
	if len(e.keys) == 0 {
		return e.deliveries
	}
	key := e.keys[len(e.keys)-1]
	return slices.DeleteFunc(slices.Clone(e.deliveries), func(d qfpaytest.Delivery) bool {
		sum := md5.Sum(append(slices.Clone(d.Body), key...))
		return !strings.EqualFold(d.Sign, hex.EncodeToString(sum[:]))
	})
}

func attempts(ds []qfpaytest.Delivery, syssn string) int {
	n := 0
	for _, d := range ds {
		if d.Syssn == syssn {
			n++
		}
	}
	return n
}

func lastAnswer(ds []qfpaytest.Delivery, syssn string) string {
	for i := len(ds) - 1; i >= 0; i-- {
		if d := ds[i]; d.Syssn == syssn {
			return fmt.Sprintf("last answer %d %.120s %s", d.Status, d.Answer, d.Err)
		}
	}
	return "never sent"
}

// checkAnswered: every caller got an HTTP answer within answerBound,
// unless its gateway was killed meanwhile.
func checkAnswered(e *evidence) []violation {
	var out []violation
	for _, c := range e.calls {
		switch {
		case c.Excused:
		case c.Err != "":
			out = append(out, violation{Invariant: invAnswered, OTN: c.OTN, Detail: fmt.Sprintf("op #%d %s %s: no answer after %s: %s", c.Op, c.Path, c.OTN, c.Took.Round(1e6), c.Err)})
		case c.Took > answerBound:
			out = append(out, violation{Invariant: invAnswered, OTN: c.OTN, Detail: fmt.Sprintf("op #%d %s %s: answered after %s (bound %s)", c.Op, c.Path, c.OTN, c.Took.Round(1e6), answerBound)})
		}
	}
	return out
}

// checkKey: no key or Vault token in any gateway output or any file the
// world wrote.
func checkKey(e *evidence) []violation {
	var out []violation
	for _, name := range slices.Sorted(maps.Keys(e.outputs)) {
		for _, s := range e.secrets {
			if strings.Contains(e.outputs[name], s) {
				out = append(out, violation{Invariant: invKey, Detail: fmt.Sprintf("%s contains a secret (%d bytes scanned)", name, len(e.outputs[name]))})
			}
		}
	}
	return out
}

// checkRotation: with Vault up, a rotated key is fetched on 1108 and the
// payment re-signed: no caller sees 1108.
func checkRotation(e *evidence) []violation {
	var out []violation
	for _, c := range e.calls {
		if c.Respcd == "1108" {
			out = append(out, violation{Invariant: invRotation, OTN: c.OTN, Detail: fmt.Sprintf("op #%d %s %s: the caller got 1108", c.Op, c.Path, c.OTN)})
		}
	}
	return out
}

var otnRE = regexp.MustCompile(`"out_trade_no": ?"([^"]*)"`)

// otnOf is a notification body's out_trade_no, or "".
func otnOf(body string) string {
	if m := otnRE.FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return ""
}

func sortedKeys(m map[string]int) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
