package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// shopSite is the application: its notification endpoint behind the
// gateway's /qfpay/notify, and the page return_url names.
type shopSite struct {
	notify, back *httptest.Server
	mu           sync.Mutex
	bodies       []string
	hdrs         []http.Header
	backHits     []string
	changed      chan struct{} // one send per notification or return
}

func newShopSite(t *testing.T) *shopSite {
	s := &shopSite{changed: make(chan struct{}, 64)}
	s.notify = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.bodies, s.hdrs = append(s.bodies, string(b)), append(s.hdrs, r.Header.Clone())
		s.mu.Unlock()
		s.changed <- struct{}{}
	}))
	s.back = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.backHits = append(s.backHits, r.URL.RequestURI())
		s.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><html lang="en"><title>Shop</title><p id="returned">Back at the shop</p>`)
		s.changed <- struct{}{}
	}))
	t.Cleanup(func() { s.notify.Close(); s.back.Close() })
	return s
}

// seen returns the notifications (bodies, headers) and return_url visits.
func (s *shopSite) seen() ([]string, []http.Header, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...), append([]http.Header(nil), s.hdrs...), append([]string(nil), s.backHits...)
}

// waitFor waits until cond holds on what the shop has seen.
func (s *shopSite) waitFor(t *testing.T, what string, cond func(bodies []string, backHits []string) bool) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		bodies, _, hits := s.seen()
		if cond(bodies, hits) {
			return
		}
		select {
		case <-s.changed:
		case <-timeout:
			t.Fatalf("waiting for %s: notifications %q, returns %q", what, bodies, hits)
		}
	}
}

// checkoutSetup is the gateway on env with the shop and a browser.
type checkoutSetup struct {
	gw   *gateway
	shop *shopSite
	b    *browser
}

func newCheckoutSetup(t *testing.T, env string) *checkoutSetup {
	t.Helper()
	shop := newShopSite(t)
	gw := startGateway(t, env, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}
	route /qfpay/notify {
		qfpay_notify shop
		reverse_proxy `+strings.TrimPrefix(shop.notify.URL, "http://")+`
	}`)
	return &checkoutSetup{gw: gw, shop: shop, b: newBrowser(t)}
}

// order pays through the gateway, notified through it, coming back to the
// shop; it returns QFPay's answer.
func (c *checkoutSetup) order(t *testing.T, otn string, form url.Values) map[string]any {
	t.Helper()
	form.Set("out_trade_no", otn)
	form.Set("notify_url", c.gw.base+"/qfpay/notify")
	form.Set("return_url", c.shop.back.URL+"/back?order="+otn)
	ans := c.call(t, "/trade/v1/payment", form)
	if ans["respcd"] != "0000" || ans["pay_url"] == nil {
		t.Fatalf("payment: %v", ans)
	}
	return ans
}

// call posts form to the gateway and decodes QFPay's answer.
func (c *checkoutSetup) call(t *testing.T, path string, form url.Values) map[string]any {
	t.Helper()
	_, body := c.gw.post(t, path, form.Encode())
	var ans map[string]any
	if err := json.Unmarshal(body, &ans); err != nil {
		t.Fatalf("%s: %s", path, body)
	}
	return ans
}

// row is the order's query row, through the gateway.
func (c *checkoutSetup) row(t *testing.T, otn string) map[string]any {
	t.Helper()
	ans := c.call(t, "/trade/v1/query", url.Values{"out_trade_no": {otn}})
	data, _ := ans["data"].([]any)
	if len(data) != 1 {
		t.Fatalf("query %s: %v", otn, ans)
	}
	return data[0].(map[string]any)
}

// expectRow checks the order's respcd and cancel flag as the app sees them.
func (c *checkoutSetup) expectRow(t *testing.T, otn, respcd, cancel string) map[string]any {
	t.Helper()
	r := c.row(t, otn)
	if r["respcd"] != respcd || r["cancel"] != cancel {
		t.Errorf("query %s: respcd %v cancel %v, want %s %s", otn, r["respcd"], r["cancel"], respcd, cancel)
	}
	return r
}

// pageState is what the checkout page shows, read in the browser.
type pageState struct {
	Lang          string   `json:"lang"`
	Layout        string   `json:"layout"`
	Status        string   `json:"status"`
	Merchant      string   `json:"merchant"`
	Goods         string   `json:"goods"`
	GoodsChildren int      `json:"goodsChildren"`
	Amount        string   `json:"amount"`
	OutTradeNo    string   `json:"outTradeNo"`
	Countdown     string   `json:"countdown"`
	Notice        string   `json:"notice"`
	QR            int      `json:"qr"`
	Buttons       []string `json:"buttons"`
	Back          string   `json:"back"`
	Injected      int      `json:"injected"`
}

const readPage = `(() => {
	const text = id => { const e = document.getElementById(id); return e ? e.textContent : ""; };
	const goods = document.getElementById("goods");
	return {
		lang: document.documentElement.lang, layout: document.body.className, status: document.body.dataset.status,
		merchant: text("merchant"), goods: text("goods"), goodsChildren: goods ? goods.childElementCount : -1,
		amount: text("amount"), outTradeNo: text("out-trade-no"), countdown: text("countdown"), notice: text("status"),
		qr: document.querySelectorAll("#qr svg").length,
		buttons: Array.from(document.querySelectorAll("form button"), b => b.textContent),
		back: (document.getElementById("back") || {}).href || "",
		injected: document.querySelectorAll("script:not([src]), img, b, i, svg:not(#qr svg)").length,
	};
})()`

// read returns the page's state once body carries data-status=status.
func (b *browser) read(t *testing.T, status string) pageState {
	t.Helper()
	b.do(t, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`body[data-status=%q]`, status))))
	return eval[pageState](t, b, readPage)
}

// acceptLanguage sets the browser's languages, a comma list without
// q-values (Chromium adds them: "zh-HK,zh;q=0.9,en;q=0.8"), as a browser
// set to them does; the user agent stays its own.
func acceptLanguage(langs string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		v, err := cdp.Call(ctx, tab, cdpbrowser.GetVersion, cdp.Empty{})
		if err != nil {
			return err
		}
		p := emulation.SetUserAgentOverrideParams{UserAgent: v.UserAgent, AcceptLanguage: langs}
		_, err = cdp.Call(ctx, tab, emulation.SetUserAgentOverride, p)
		return err
	})
}

// payURLOf sends a payment straight to the double and returns its pay_url.
func payURLOf(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct {
		Respcd string `json:"respcd"`
		PayURL string `json:"pay_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Respcd != "0000" || ans.PayURL == "" {
		t.Fatalf("payment: %+v %v", ans, err)
	}
	return ans.PayURL
}
