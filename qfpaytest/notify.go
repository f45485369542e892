package qfpaytest

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	notifyPayment = "payment"
	notifyRefund  = "refund"
	maxAnswer     = 1 << 10
	notifyTimeout = 5 * time.Second
)

// RetrySchedule is QFPay's: delays after the first attempt before each retry.
var RetrySchedule = []time.Duration{2 * time.Minute, 10 * time.Minute, 10 * time.Minute, 60 * time.Minute, 2 * time.Hour, 6 * time.Hour, 15 * time.Hour}

// notificationKeys is the field order of QFPay's payment notification body.
var notificationKeys = []string{
	"status", "pay_type", "sysdtm", "paydtm", "goods_name", "txcurrcd", "txdtm", "mchid",
	"txamt", "exchange_rate", "chnlsn2", "out_trade_no", "syssn", "cash_fee_type", "cancel",
	"respcd", "chnlsn", "cardcd", "notify_type", "cash_fee",
}

var (
	errNoNotifyURL = errors.New("qfpaytest: no notify URL set")
	errClosed      = errors.New("qfpaytest: server closed")
)

// Delivery is one notification attempt as sent and answered.
type Delivery struct {
	Syssn      string
	NotifyType string // "payment" or "refund"
	Attempt    int    // 1 = first delivery
	Body       []byte // exact bytes sent
	Sign       string // X-QF-SIGN sent
	Status     int    // HTTP status received (0 on transport error)
	Answer     string // response body received (first 1 KiB)
	Err        string // transport error, if any
	Acked      bool   // true when Status == 200 and Answer (trimmed of whitespace) == "SUCCESS"
}

// notifier is the Server's notification state. Fields other than ctx,
// cancel, wg and client are guarded by Server.mu.
type notifier struct {
	url        string
	scale      float64
	deliveries []Delivery
	active     int           // delivery goroutines running
	changed    chan struct{} // closed and replaced whenever deliveries, active or the ledger change
	closed     bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	client *http.Client
}

// job is one notification to deliver, with its retry schedule.
type job struct {
	url, syssn, notifyType string
	body                   []byte
	sign                   string
	schedule               []time.Duration
}

func (n *notifier) init() {
	n.scale = 1
	n.changed = make(chan struct{})
	n.ctx, n.cancel = context.WithCancel(context.Background())
	transport := http.DefaultTransport.(*http.Transport).Clone()
	n.client = &http.Client{Transport: transport, Timeout: notifyTimeout}
}

// SetNotifyURL sets where notifications go; "" disables them. Like QFPay's
// per-app_code registration, one URL serves every merchant; a payment's own
// notify_url field overrides it.
func (s *Server) SetNotifyURL(url string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n.url = url
}

// SetRetryScale multiplies RetrySchedule (default 1). Tests use tiny values.
// Negative or NaN values count as 0.
func (s *Server) SetRetryScale(scale float64) {
	if math.IsNaN(scale) || scale < 0 {
		scale = 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n.scale = scale
}

// Deliveries returns a copy of every delivery attempt, in order of attempts.
func (s *Server) Deliveries() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.deliveriesLocked()
}

func (s *Server) deliveriesLocked() []Delivery {
	out := slices.Clone(s.n.deliveries)
	for i := range out {
		out[i].Body = bytes.Clone(out[i].Body)
	}
	return out
}

// WaitDeliveries blocks until at least n delivery attempts are recorded or
// ctx ends; it returns them (copy), with ctx's error if it ended first.
func (s *Server) WaitDeliveries(ctx context.Context, n int) ([]Delivery, error) {
	err := s.waitFor(ctx, func() bool { return len(s.n.deliveries) >= n })
	return s.Deliveries(), err
}

// waitFor blocks until cond, called with s.mu held, is true or ctx ends.
func (s *Server) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.n.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// changedLocked saves what changed in the ledger and wakes every waiter.
func (s *Server) changedLocked() {
	s.saveLocked()
	close(s.n.changed)
	s.n.changed = make(chan struct{})
}

// Notify sends a notification for an existing payment or refund right
// away, then retries it on the usual schedule. It returns once the delivery
// has started; use WaitDeliveries to see the attempts. notifyType is
// "payment" or "refund". The payment's own notify_url (inherited by its
// refunds) wins over the server's URL.
func (s *Server) Notify(appCode, syssn, notifyType string) error {
	if notifyType != notifyPayment && notifyType != notifyRefund {
		return fmt.Errorf("qfpaytest: notify type %q, want payment or refund", notifyType)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.findLocked(appCode, bySyssn, syssn); e != nil {
		return s.notifyLocked(*e, notifyType)
	}
	return fmt.Errorf("qfpaytest: no transaction %q for app code %q", syssn, appCode)
}

// Close cancels pending notifications and waits for their goroutines, and
// drops the connections of scripted hangs (Outcome.Hang). The server keeps
// answering requests but sends no more notifications.
func (s *Server) Close() {
	s.mu.Lock()
	s.n.closed = true
	s.n.cancel()
	s.mu.Unlock()
	s.n.wg.Wait()
	s.n.client.CloseIdleConnections()
}

// notifyLocked starts delivering e's notification. The caller holds s.mu.
func (s *Server) notifyLocked(e entry, notifyType string) error {
	url := cmp.Or(e.notifyURL, s.n.url)
	if url == "" {
		return errNoNotifyURL
	}
	if s.n.closed {
		return errClosed
	}
	m, ok := s.merchants[e.appCode]
	if !ok {
		return fmt.Errorf("qfpaytest: unknown app code %q", e.appCode)
	}
	body := notificationBody(e, m.MchID, notifyType)
	j := job{
		url: url, syssn: e.Syssn, notifyType: notifyType, body: body,
		sign:     md5Upper(append(bytes.Clone(body), m.ClientKey...)),
		schedule: slices.Clone(RetrySchedule),
	}
	s.n.active++
	s.changedLocked()
	ctx := s.n.ctx
	s.n.wg.Go(func() { s.deliver(ctx, j) })
	return nil
}

// notificationBody renders e as QFPay's notification; mchid only if issued.
func notificationBody(e entry, mchid, notifyType string) []byte {
	fields := map[string]string{
		"status": "1", "pay_type": e.PayType, "sysdtm": e.Sysdtm, "paydtm": cmp.Or(e.paydtm, e.Sysdtm),
		"goods_name": e.goodsName, "txcurrcd": e.Txcurrcd, "txdtm": e.Txdtm, "mchid": mchid,
		"txamt": e.Txamt, "out_trade_no": e.OutTradeNo, "syssn": e.Syssn, "cancel": "0",
		"respcd": "0000", "chnlsn": e.Chnlsn, "cardcd": e.Cardcd, "notify_type": notifyType,
	}
	keys := notificationKeys
	if mchid == "" {
		keys = slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "mchid" })
	}
	return EncodeNotification(keys, fields)
}

// deliver posts j until it is acknowledged, the schedule runs out, or ctx
// ends. An attempt cut short by ctx is not recorded.
func (s *Server) deliver(ctx context.Context, j job) {
	defer func() {
		s.mu.Lock()
		s.n.active--
		s.changedLocked()
		s.mu.Unlock()
	}()
	for attempt := 1; ; attempt++ {
		d, ok := s.post(ctx, j)
		if !ok {
			return
		}
		d.Attempt = attempt
		s.mu.Lock()
		s.n.deliveries = append(s.n.deliveries, d)
		s.changedLocked()
		scale := s.n.scale
		s.mu.Unlock()
		if d.Acked || attempt > len(j.schedule) {
			return
		}
		timer := time.NewTimer(time.Duration(float64(j.schedule[attempt-1]) * scale))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// post makes one attempt; ok is false when ctx aborted it.
func (s *Server) post(ctx context.Context, j job) (d Delivery, ok bool) {
	d = Delivery{Syssn: j.syssn, NotifyType: j.notifyType, Body: j.body, Sign: j.sign}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(j.body))
	if err != nil {
		d.Err = err.Error()
		return d, true
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-QF-SIGN", j.sign)
	resp, err := s.n.client.Do(req)
	if err != nil {
		d.Err = err.Error()
		return d, ctx.Err() == nil
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		d.Err = err.Error()
	}
	d.Status, d.Answer = resp.StatusCode, string(answer)
	d.Acked = d.Status == http.StatusOK && strings.TrimSpace(d.Answer) == "SUCCESS"
	return d, true
}
