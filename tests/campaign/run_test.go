//go:build campaign

package campaign

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// call is one caller request and what came back.
type call struct {
	Op       int
	Kind     string
	Path     string
	OTN      string
	Params   url.Values
	Replica  int
	Excused  bool // its gateway was down or killed meanwhile: no answer is owed
	Start    time.Time
	Took     time.Duration
	Status   int
	Body     string
	Respcd   string
	Syssn    string
	Txamt    string
	Resolved string
	Err      string
}

// history is everything a schedule's callers saw, and what it injected.
type history struct {
	mu     sync.Mutex
	calls  []call
	faults map[string]int // injected, by kind
	ops    map[string]int // caller operations, by kind
	infra  []error        // the harness failed (not the gateway)
}

func (h *history) add(c call) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, c)
}

func (h *history) count(m map[string]int, k string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m[k]++
}

func (h *history) fail(err error) {
	if err == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.infra = append(h.infra, err)
}

var client = &http.Client{Timeout: answerBound + 5*time.Second}

func otn(order int) string { return fmt.Sprintf("CP-%d", order) }

// run plays ops against c: caller operations concurrently (at most 8 at a
// time), faults in order, each healed after its duration; then heals all.
func run(c *cluster, ops []op) *history {
	h := &history{faults: map[string]int{}, ops: map[string]int{}}
	sem := make(chan struct{}, 8)
	var callers, healers sync.WaitGroup
	start := time.Now()
	for _, o := range ops {
		// Ops keep their times when a shrunk schedule drops others.
		time.Sleep(time.Until(start.Add(o.At)))
		if isFault(o.Kind) {
			h.count(h.faults, o.Kind)
			inject(c, h, o, &healers)
		} else {
			h.count(h.ops, o.Kind)
			if o.Kind == opPay && o.Fault != "" {
				h.count(h.faults, "qfpay-"+o.Fault)
			}
			sem <- struct{}{}
			callers.Go(func() { defer func() { <-sem }(); perform(c, h, o) })
		}
	}
	callers.Wait()
	healers.Wait()
	h.fail(c.heal())
	settle(c, settleTime)
	return h
}

// settleTime bounds the wait for notifications once every fault healed.
const settleTime = 8 * time.Second

// settle has QFPay send every unacknowledged notification of a successful
// payment or refund once more, as its retries would, and waits until each
// is acknowledged or within has passed.
func settle(c *cluster, within time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	d := c.qf.double
	ds := d.Deliveries()
	for _, sn := range unacked(d, ds) {
		_ = d.Notify(appCode, sn[0], sn[1])
	}
	for len(unacked(d, ds)) > 0 {
		var err error
		if ds, err = d.WaitDeliveries(ctx, len(ds)+1); err != nil {
			return
		}
	}
}

// unacked lists (syssn, notify type) of successful payments and refunds
// without an acknowledged delivery in ds.
func unacked(d *qfpaytest.Server, ds []qfpaytest.Delivery) [][2]string {
	acked := map[string]bool{}
	for _, x := range ds {
		acked[x.Syssn] = acked[x.Syssn] || x.Acked
	}
	var out [][2]string
	for _, tx := range d.Transactions() {
		if tx.Respcd == "0000" && !acked[tx.Syssn] {
			out = append(out, [2]string{tx.Syssn, tx.OrderType})
		}
	}
	return out
}

func isFault(kind string) bool {
	switch kind {
	case faultKill, faultRedis, faultFail, faultVault, faultApp, faultRotate:
		return true
	}
	return false
}

// inject starts fault o now and heals it after o.Dur in the background.
func inject(c *cluster, h *history, o op, healers *sync.WaitGroup) {
	later := func(f func() error) {
		healers.Go(func() { time.Sleep(o.Dur); h.fail(f()) })
	}
	switch o.Kind {
	case faultKill:
		i := o.Replica % len(c.gateways)
		if c.kill(i) {
			later(func() error { return c.restart(i) })
		}
	case faultRedis:
		if c.redis != nil && c.redis.kill() {
			later(c.redis.start)
		}
	case faultFail:
		ok, err := c.ha.failover()
		h.fail(err)
		if ok {
			later(c.ha.rejoin)
		}
	case faultVault:
		c.vault.SetDown(true)
		later(func() error { c.vault.SetDown(false); return nil })
	case faultApp:
		c.app.setMode(o.Fault)
		later(func() error { c.app.setMode(appSuccess); return nil })
	case faultRotate:
		c.rotate()
	}
}

// perform runs one caller operation.
func perform(c *cluster, h *history, o op) {
	pay := url.Values{"txamt": {fmt.Sprint(o.Amount)}, "txcurrcd": {"HKD"}, "pay_type": {"801512"}, "out_trade_no": {otn(o.Order)}}
	switch o.Kind {
	case opPay:
		aim(c, o)
		send(c, h, o, "/trade/v1/payment", pay)
	case opDouble, opChanged:
		send(c, h, o, "/trade/v1/payment", pay)
	case opBurst:
		var wg sync.WaitGroup
		for range o.N {
			wg.Go(func() { send(c, h, o, "/trade/v1/payment", pay) })
		}
		wg.Wait()
	case opRefund:
		refund := url.Values{"syssn": {paidSyssn(c, otn(o.Order))}, "out_trade_no": {fmt.Sprintf("CR-%d", o.Idx)}, "txamt": {fmt.Sprint(o.Amount)}}
		for range o.N {
			send(c, h, o, "/trade/v1/refund", refund)
		}
	case opQuery:
		send(c, h, o, "/trade/v1/query", url.Values{"out_trade_no": {otn(o.Order)}})
	case opRenotify:
		if sn := paidSyssn(c, otn(o.Order)); sn != unknownSyssn {
			h.fail(ignoreClosed(c.qf.double.Notify(appCode, sn, "payment")))
		}
	case opForged:
		forge(c, h, o)
	}
}

const unknownSyssn = "20260101000000000000000001"

// paidSyssn is QFPay's syssn for a successful payment numbered out.
func paidSyssn(c *cluster, out string) string {
	for _, tx := range c.qf.double.Transactions() {
		if tx.OrderType == "payment" && tx.OutTradeNo == out && tx.Respcd == "0000" {
			return tx.Syssn
		}
	}
	return unknownSyssn
}

func ignoreClosed(err error) error {
	if err != nil && strings.Contains(err.Error(), "closed") {
		return nil
	}
	return err
}

// aim scripts o's QFPay fault for its payment.
func aim(c *cluster, o op) {
	out := otn(o.Order)
	switch o.Fault {
	case qfSlow, qfLost:
		c.qf.double.Script(qfpaytest.Outcome{OutTradeNo: out, Delay: o.Dur})
	case qfHang:
		c.qf.double.Script(qfpaytest.Outcome{OutTradeNo: out, Hang: true})
	case qfReset:
		c.qf.double.Script(qfpaytest.Outcome{OutTradeNo: out, ResetConn: true})
	case qf5xx:
		status := 500
		if o.Detail == "503" {
			status = 503
		}
		c.qf.double.Script(qfpaytest.Outcome{OutTradeNo: out, HTTPStatus: status, Respcd: "1100"})
	case qfPending:
		c.qf.double.Script(qfpaytest.Outcome{OutTradeNo: out, Respcd: "1143", FinalAfterQueries: o.N, FinalRespcd: o.Detail})
	case qfGarbage:
		c.qf.mangle(out, o.Detail)
	}
}

// send posts form to path at o's replica and records the answer.
func send(c *cluster, h *history, o op, path string, form url.Values) {
	g, epoch, up := c.replica(o.Replica)
	rec := call{Op: o.Idx, Kind: o.Kind, Path: path, OTN: form.Get("out_trade_no"), Params: form, Replica: g.idx, Start: time.Now()}
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.listen+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if o.Idem {
		req.Header.Set("Idempotency-Key", testvault.RandomID(8))
	}
	resp, err := client.Do(req)
	rec.Took = time.Since(rec.Start)
	rec.Excused = !up || c.epoch(g) != epoch
	if err != nil {
		rec.Err = err.Error()
		h.add(rec)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		rec.Err = err.Error()
	}
	rec.Status, rec.Body = resp.StatusCode, string(body)
	rec.Resolved = resp.Header.Get("X-Qfsign-Resolved")
	var v map[string]any
	if json.Unmarshal(body, &v) == nil {
		rec.Respcd, _ = v["respcd"].(string)
		rec.Syssn, _ = v["syssn"].(string)
		rec.Txamt, _ = v["txamt"].(string)
	}
	h.add(rec)
}

// forge posts a notification QFPay never sent (wrong signature) to o's
// replica: it must never reach the application.
func forge(c *cluster, h *history, o op) {
	g, epoch, up := c.replica(o.Replica)
	body := fmt.Sprintf(`{"syssn": "FORGED%d", "out_trade_no": "%s", "notify_type": "payment", "respcd": "0000", "txamt": "1"}`, o.Idx, otn(o.Order))
	rec := call{Op: o.Idx, Kind: o.Kind, Path: "/qfpay/notify", Replica: g.idx, Start: time.Now()}
	req, _ := http.NewRequest(http.MethodPost, "http://"+g.listen+"/qfpay/notify", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-QF-SIGN", strings.Repeat("0", 32))
	resp, err := client.Do(req)
	rec.Took, rec.Excused = time.Since(rec.Start), !up || c.epoch(g) != epoch
	if err != nil {
		rec.Err = err.Error()
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rec.Status, rec.Body = resp.StatusCode, string(b)
	}
	h.add(rec)
}
