package qfpaytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// shop is a checkout setup: the double with the page on, a movable clock,
// and an application that acknowledges notifications.
type shop struct {
	s     *Server
	mu    sync.Mutex
	clock time.Time
	app   *httptest.Server
}

func newShop(t *testing.T) *shop {
	t.Helper()
	sh := &shop{s: New(Merchant{AppCode: "APP1", ClientKey: "KEY1", Name: "Tea House"}), clock: fixedNow}
	sh.s.SetClock(sh.now)
	sh.s.SetCheckoutURL("http://double.test/")
	sh.app = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	sh.s.SetNotifyURL(sh.app.URL)
	t.Cleanup(func() { sh.s.Close(); sh.app.Close() })
	return sh
}

func (sh *shop) now() time.Time {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.clock
}

func (sh *shop) advance(d time.Duration) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.clock = sh.clock.Add(d)
}

// order pays for out_trade_no with extra fields; it returns the answer.
func (sh *shop) order(t *testing.T, otn, payType string, extra url.Values) map[string]any {
	t.Helper()
	p := payParams(otn, payType)
	for k, v := range extra {
		p[k] = v
	}
	_, resp := send(t, sh.s, signed(t, pathPayment, p, merchant))
	return resp
}

// row queries out_trade_no and returns its one row.
func (sh *shop) row(t *testing.T, otn string) map[string]any {
	t.Helper()
	_, resp := send(t, sh.s, signed(t, pathQuery, url.Values{"out_trade_no": {otn}}, merchant))
	data, _ := resp["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("query %s: %v", otn, resp)
	}
	return data[0].(map[string]any)
}

// act posts the customer's action to the page at payURL.
func (sh *shop) act(t *testing.T, payURL, action string) *httptest.ResponseRecorder {
	t.Helper()
	u, _ := url.Parse(payURL)
	req := httptest.NewRequest(http.MethodPost, u.Path, strings.NewReader("action="+action))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	sh.s.ServeHTTP(rec, req)
	return rec
}

// page gets the page at payURL (plus query) with Accept-Language.
func (sh *shop) page(t *testing.T, payURL, query, acceptLanguage string) *httptest.ResponseRecorder {
	t.Helper()
	u, _ := url.Parse(payURL)
	req := httptest.NewRequest(http.MethodGet, u.Path+query, nil)
	req.Header.Set("Accept-Language", acceptLanguage)
	rec := httptest.NewRecorder()
	sh.s.ServeHTTP(rec, req)
	return rec
}

const shopBack = "http://shop.test/back?o=1"

// flowCase is one walk through the checkout: what the customer (and the
// clock) do, then where the order stands.
type flowCase struct {
	name     string
	extra    url.Values
	steps    func(sh *shop, t *testing.T, payURL string) *httptest.ResponseRecorder
	respcd   string
	cancel   string
	location string // of the last step's redirect; "page" for the page itself
	notified int
	status   string // data-status of the page afterwards
}

var flowCases = []flowCase{
	{"pay goes back to return_url", url.Values{"return_url": {shopBack}}, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		return sh.act(t, u, actionPay)
	}, "0000", "0", shopBack, 1, "paid"},
	{"pay without return_url stays on the page", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		return sh.act(t, u, actionPay)
	}, "0000", "0", "page", 1, "paid"},
	{"javascript return_url is never followed", url.Values{"return_url": {"javascript:alert(1)"}}, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		return sh.act(t, u, actionPay)
	}, "0000", "0", "page", 1, "paid"},
	{"cancel closes", url.Values{"return_url": {shopBack}}, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		return sh.act(t, u, actionCancel)
	}, "1142", "2", "page", 0, "cancelled"},
	{"leave pending answers 1145", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		return sh.act(t, u, actionPending)
	}, "1145", "0", "page", 0, "pending"},
	{"pending then pay", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.act(t, u, actionPending)
		return sh.act(t, u, actionPay)
	}, "0000", "0", "page", 1, "paid"},
	{"untouched stays 1143 until a second before expiry", url.Values{"expired_time": {"5"}}, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.advance(5*time.Minute - time.Second)
		return nil
	}, "1143", "0", "", 0, "open"},
	{"expiry closes, pay refused", url.Values{"expired_time": {"5"}, "return_url": {shopBack}}, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.act(t, u, actionPending)
		sh.advance(5 * time.Minute)
		return sh.act(t, u, actionPay)
	}, "1142", "0", "page", 0, "expired"},
	{"default expiry is 30 minutes", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.advance(30 * time.Minute)
		return nil
	}, "1142", "0", "", 0, "expired"},
	{"pay twice notifies once", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.act(t, u, actionPay)
		return sh.act(t, u, actionPay)
	}, "0000", "0", "page", 1, "paid"},
	{"cancelled cannot be paid", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		sh.act(t, u, actionCancel)
		return sh.act(t, u, actionPay)
	}, "1142", "2", "page", 0, "cancelled"},
	{"merchant close ends the page", nil, func(sh *shop, t *testing.T, u string) *httptest.ResponseRecorder {
		send(t, sh.s, signed(t, pathReversal, cancelParams("out_trade_no", "CO1"), merchant))
		return sh.act(t, u, actionPay)
	}, "1142", "2", "page", 0, "cancelled"},
}

func TestCheckoutFlows(t *testing.T) {
	for _, tc := range flowCases {
		t.Run(tc.name, func(t *testing.T) { walkFlow(t, tc) })
	}
}

// walkFlow orders CO1, runs tc's steps and checks the outcome.
func walkFlow(t *testing.T, tc flowCase) {
	sh := newShop(t)
	resp := sh.order(t, "CO1", "801101", tc.extra)
	payURL, _ := resp["pay_url"].(string)
	if resp["respcd"] != "0000" || !strings.HasPrefix(payURL, "http://double.test/checkout/") {
		t.Fatalf("payment answer: %v", resp)
	}
	if r := sh.row(t, "CO1"); r["respcd"] != "1143" {
		t.Fatalf("before any action: %v", r)
	}
	rec := tc.steps(sh, t, payURL)
	if rec != nil {
		want := tc.location
		if want == "page" {
			want = strings.TrimPrefix(payURL, "http://double.test")
		}
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != want {
			t.Errorf("redirect %d to %q, want %q", rec.Code, rec.Header().Get("Location"), want)
		}
	}
	r := sh.row(t, "CO1")
	if r["respcd"] != tc.respcd || r["cancel"] != tc.cancel {
		t.Errorf("query row: respcd %v cancel %v, want %s %s", r["respcd"], r["cancel"], tc.respcd, tc.cancel)
	}
	if _, paid := r["paydtm"]; paid != (tc.respcd == "0000") {
		t.Errorf("paydtm %v on a %s row", r["paydtm"], tc.respcd)
	}
	waitIdle(t, sh.s)
	if got := len(sh.s.Deliveries()); got != tc.notified {
		t.Errorf("%d notifications, want %d", got, tc.notified)
	}
	if page := sh.page(t, payURL, "", "").Body.String(); !strings.Contains(page, `data-status="`+tc.status+`"`) {
		t.Errorf("page status, want %s:\n%s", tc.status, page)
	}
}

// TestCheckoutNotification: Pay sends QFPay's signed notification with
// the pay time, retried on the schedule until acknowledged.
func TestCheckoutNotification(t *testing.T) {
	sh := newShop(t)
	var calls sync.Mutex
	n := 0
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Lock()
		defer calls.Unlock()
		if n++; n == 1 {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	defer flaky.Close()
	sh.s.SetRetryScale(0.0001)
	resp := sh.order(t, "CO2", "801107", url.Values{"notify_url": {flaky.URL}, "goods_name": {"tea"}})
	if got := len(sh.s.Deliveries()); got != 0 {
		t.Fatalf("%d notifications before Pay", got)
	}
	sh.advance(90 * time.Second)
	sh.act(t, resp["pay_url"].(string), actionPay)
	ds, err := sh.s.WaitDeliveries(waitCtx(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Acked || !ds[1].Acked || ds[1].Attempt != 2 || ds[1].NotifyType != notifyPayment {
		t.Fatalf("deliveries: %+v", ds)
	}
	body := string(ds[1].Body)
	if !strings.Contains(body, `"paydtm": "2025-11-17 18:01:35"`) || !strings.Contains(body, `"respcd": "0000"`) ||
		!strings.Contains(body, `"goods_name": "tea"`) {
		t.Errorf("notification body: %s", body)
	}
	if ds[1].Sign != md5Upper([]byte(body+"KEY1")) {
		t.Error("notification not signed with the merchant's key")
	}
}

// TestCheckoutRefundReversal: a paid checkout order refunds and reverses
// like any payment; an unpaid one cannot be refunded.
func TestCheckoutRefundReversal(t *testing.T) {
	sh := newShop(t)
	paid := sh.order(t, "CO3", "801501", nil)
	unpaid := sh.order(t, "CO4", "801501", nil)
	sh.act(t, paid["pay_url"].(string), actionPay)
	if _, r := send(t, sh.s, signed(t, pathRefund, refundParams(unpaid["syssn"].(string), "R4", "100"), merchant)); r["respcd"] != "1261" {
		t.Errorf("refund of an unpaid order: %v", r)
	}
	if _, r := send(t, sh.s, signed(t, pathRefund, refundParams(paid["syssn"].(string), "R3", "200"), merchant)); r["respcd"] != "0000" {
		t.Fatalf("refund: %v", r)
	}
	if r := sh.row(t, "CO3"); r["cancel"] != cancelPartial {
		t.Errorf("after a partial refund: %v", r)
	}
	if page := sh.page(t, paid["pay_url"].(string), "", "").Body.String(); !strings.Contains(page, `data-status="refunded"`) {
		t.Error("page does not show the refund")
	}
	sh.order(t, "CO5", "801101", nil)
	sh.act(t, sh.row(t, "CO5")["pay_url"].(string), actionPay)
	if _, r := send(t, sh.s, signed(t, pathReversal, cancelParams("out_trade_no", "CO5"), merchant)); r["respcd"] != "0000" {
		t.Fatalf("reversal: %v", r)
	}
	if r := sh.row(t, "CO5"); r["respcd"] != "0000" || r["cancel"] != cancelClosed {
		t.Errorf("after reversal: %v", r)
	}
}

// TestCheckoutOnlyOnlineTypes: other pay types, scripted outcomes and a
// server without the page keep answering as before.
func TestCheckoutOnlyOnlineTypes(t *testing.T) {
	sh := newShop(t)
	if r := sh.order(t, "CO6", "800201", nil); r["respcd"] != "0000" || sh.row(t, "CO6")["respcd"] != "0000" {
		t.Errorf("MPM payment: %v", r)
	}
	sh.s.Script(Outcome{Respcd: "1145"})
	if r := sh.order(t, "CO7", "801101", nil); r["respcd"] != "1145" || strings.Contains(r["pay_url"].(string), "double.test") {
		t.Errorf("scripted pending online payment: %v", r)
	}
	sh.s.SetCheckoutURL("")
	if r := sh.order(t, "CO8", "801101", nil); r["respcd"] != "0000" || !strings.HasPrefix(r["pay_url"].(string), "https://openapi-int.qfapi.com/") {
		t.Errorf("page off: %v", r)
	}
	if r := sh.order(t, "CO9", "801101", url.Values{"expired_time": {"4"}}); r["respcd"] != "1101" || r["resperr"] != "invalid expired_time" {
		t.Errorf("expired_time 4: %v", r)
	}
}
