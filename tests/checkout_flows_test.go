package tests

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

// TestCheckoutPayInBrowser: an 801101 payment through the gateway on the
// embedded double; the desktop page shows the order, the keyboard pays,
// the browser lands on return_url, the application gets one verified
// notification, query answers 0000 with paydtm, and a refund works.
func TestCheckoutPayInBrowser(t *testing.T) {
	c := newCheckoutSetup(t, "embedded")
	const otn, markup = "CO-PAY-1", `<svg onload=alert()>` // 20 characters: goods_name's limit
	ans := c.order(t, otn, url.Values{"txamt": {"150000"}, "txcurrcd": {"HKD"}, "pay_type": {"801101"}, "goods_name": {markup}})
	payURL := ans["pay_url"].(string)
	if !strings.HasPrefix(payURL, "http://127.0.0.1:") || strings.HasPrefix(payURL, c.gw.base) {
		t.Fatalf("pay_url %q is not on the embedded double", payURL)
	}
	c.b.do(t, chromedp.Navigate(payURL))
	st := c.b.read(t, "open")
	if st.Lang != "en" || st.Layout != "desktop" || st.QR != 1 || st.Merchant != "shop" || st.Amount != "HKD 1,500.00" ||
		st.OutTradeNo != otn || !slices.Equal(st.Buttons, []string{"Pay", "Leave pending", "Cancel"}) {
		t.Errorf("page shows %+v", st)
	}
	if !regexp.MustCompile(`^(30:00|2\d:[0-5]\d)$`).MatchString(st.Countdown) {
		t.Errorf("countdown %q, want under 30 minutes", st.Countdown)
	}
	if st.Goods != markup || st.GoodsChildren != 0 || st.Injected != 0 {
		t.Errorf("goods_name %q became markup: %+v", markup, st)
	}
	c.b.screenshot(t, "checkout-desktop.png")
	checkAccessible(t, c.b) // leaves the keyboard focus on Pay
	c.b.do(t, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID("returned")))
	if loc, _ := chromedp.Run(c.b.ctx, chromedp.Location()); loc != c.shop.back.URL+"/back?order="+otn {
		t.Errorf("browser at %q after Pay", loc)
	}
	c.shop.waitFor(t, "the payment notification", func(bodies, _ []string) bool { return len(bodies) == 1 })
	if r := c.expectRow(t, otn, "0000", "0"); r["paydtm"] == nil {
		t.Errorf("paid row without paydtm: %v", r)
	}
	refund := url.Values{"syssn": {ans["syssn"].(string)}, "out_trade_no": {otn + "-R"}, "txamt": {"50000"}}
	if r := c.call(t, "/trade/v1/refund", refund); r["respcd"] != "0000" {
		t.Fatalf("refund: %v", r)
	}
	c.shop.waitFor(t, "the refund notification", func(bodies, _ []string) bool { return len(bodies) == 2 })
	bodies, hdrs, _ := c.shop.seen()
	for i, want := range []string{`"notify_type": "payment"`, `"notify_type": "refund"`} {
		if !strings.Contains(bodies[i], want) || !strings.Contains(bodies[i], otn) || hdrs[i].Get("X-Qfsign-Verified") != "1" {
			t.Errorf("notification %d: %s %v", i, bodies[i], hdrs[i])
		}
	}
	if n := c.b.dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// TestCheckoutCancelInBrowser: an 801107 (WAP) payment in yen; the phone
// page speaks Traditional Chinese to a Hong Kong browser; Cancel closes
// the order, nothing is notified and the browser stays with the double.
func TestCheckoutCancelInBrowser(t *testing.T) {
	c := newCheckoutSetup(t, "embedded")
	const otn = "CO-CANCEL-1"
	ans := c.order(t, otn, url.Values{"txamt": {"1500"}, "txcurrcd": {"JPY"}, "pay_type": {"801107"}, "goods_name": {"烏龍茶 Oolong"}})
	c.b.do(t, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait),
		acceptLanguage("zh-HK,zh,en"), chromedp.Navigate(ans["pay_url"].(string)))
	st := c.b.read(t, "open")
	if st.Lang != "zh-Hant" || st.Layout != "phone" || st.QR != 0 || st.Amount != "JPY 1,500" ||
		st.Goods != "烏龍茶 Oolong" || !slices.Equal(st.Buttons, []string{"付款", "稍後付款", "取消"}) {
		t.Errorf("page shows %+v", st)
	}
	c.b.screenshot(t, "checkout-phone.png")
	checkAccessible(t, c.b)
	c.b.do(t, chromedp.Click(chromedp.ID("cancel")))
	st = c.b.read(t, "cancelled")
	if st.Notice != "訂單已取消。" || len(st.Buttons) != 0 || st.Back != c.shop.back.URL+"/back?order="+otn {
		t.Errorf("after Cancel: %+v", st)
	}
	c.expectRow(t, otn, "1142", "2")
	if bodies, _, hits := c.shop.seen(); len(bodies) != 0 || len(hits) != 0 {
		t.Errorf("after Cancel: notifications %q, returns %q", bodies, hits)
	}
}

// clockDouble is a QFPay double with the page on and a clock the test
// moves, for expiry.
type clockDouble struct {
	*qfpaytest.Running
	mu  sync.Mutex
	now time.Time
}

func newClockDouble(t *testing.T) *clockDouble {
	t.Helper()
	run, err := qfpaytest.Start("127.0.0.1:0", qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey, Name: "Tea House"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	d := &clockDouble{Running: run, now: time.Now()}
	run.SetCheckoutURL(run.URL)
	run.SetClock(func() time.Time { d.mu.Lock(); defer d.mu.Unlock(); return d.now })
	return d
}

func (d *clockDouble) advance(by time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.now = d.now.Add(by)
}

// TestCheckoutPendingThenExpiryInBrowser: Leave pending answers 1145 on
// query; once expired_time passes, Pay is refused and the order is closed
// (1142), with no notification and no return to the shop.
func TestCheckoutPendingThenExpiryInBrowser(t *testing.T) {
	d := newClockDouble(t)
	c := newCheckoutSetup(t, d.URL)
	const otn = "CO-EXPIRE-1"
	ans := c.order(t, otn, url.Values{"txamt": {"880"}, "txcurrcd": {"HKD"}, "pay_type": {"801512"}, "expired_time": {"5"}})
	c.b.do(t, chromedp.Navigate(ans["pay_url"].(string)+"?lang=en"))
	if st := c.b.read(t, "open"); st.Countdown != "5:00" && st.Countdown != "4:59" {
		t.Errorf("countdown %q, want 5 minutes", st.Countdown)
	}
	c.b.do(t, chromedp.Click(chromedp.ID("pending")))
	if st := c.b.read(t, "pending"); st.Lang != "en" || len(st.Buttons) != 3 {
		t.Errorf("left pending: %+v", st)
	}
	c.expectRow(t, otn, "1145", "0")
	d.advance(5 * time.Minute)
	c.b.do(t, chromedp.Click(chromedp.ID("pay")))
	if st := c.b.read(t, "expired"); st.Notice != "The order expired before it was paid." || len(st.Buttons) != 0 {
		t.Errorf("after expiry: %+v", st)
	}
	c.expectRow(t, otn, "1142", "0")
	bodies, _, hits := c.shop.seen()
	if ds := d.Deliveries(); len(ds) != 0 || len(bodies) != 0 || len(hits) != 0 {
		t.Errorf("expired order: %d deliveries, notifications %q, returns %q", len(ds), bodies, hits)
	}
}

// TestCheckoutMarkupInertInBrowser: the double takes any goods_name (the
// gateway would refuse this one by length), so its page is checked
// directly: script and markup show as text and never run.
func TestCheckoutMarkupInertInBrowser(t *testing.T) {
	d := newClockDouble(t)
	b := newBrowser(t)
	const goods = `<script>alert(1)</script><img src=x onerror=alert(2)><b>bold</b>"'&amp;`
	const otn = `<i>CO-XSS-1</i>`
	p := signer.FromMap(map[string]string{
		"txamt": "2200", "txcurrcd": "HKD", "pay_type": "801101", "out_trade_no": otn,
		"txdtm": time.Now().Format("2006-01-02 15:04:05"), "goods_name": goods,
	})
	req, _ := http.NewRequest(http.MethodPost, d.URL+"/trade/v1/payment", strings.NewReader(string(p.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-QF-APPCODE", testAppCode)
	req.Header.Set("X-QF-SIGN", signer.Sign(p, signer.NewSecret(testKey), signer.MD5))
	payURL := payURLOf(t, req)
	b.do(t, chromedp.Navigate(payURL))
	st := b.read(t, "open")
	if st.Goods != goods || st.OutTradeNo != otn || st.GoodsChildren != 0 || st.Injected != 0 {
		t.Errorf("markup not inert: %+v", st)
	}
	if n := b.dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}
