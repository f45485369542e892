package qfpaytest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestCheckoutPageShows(t *testing.T) {
	tests := []struct {
		name, payType, currency, txamt, query, accept string
		want, absent                                  []string
	}{
		{"web: desktop with QR, English", "801101", "HKD", "150000", "", "en-GB,en;q=0.9",
			[]string{`<html lang="en">`, `class="desktop"`, `<svg `, "HKD 1,500.00", "Tea House", "Pay</button>", "Leave pending</button>", "Cancel</button>", `data-seconds="1800"`, ">30:00<", "2025-11-17 18:30:05 HKT"},
			[]string{`class="phone"`}},
		{"wap: phone without QR", "801107", "HKD", "5", "", "",
			[]string{`class="phone"`, "HKD 0.05"}, []string{"<svg", `id="qr"`}},
		{"scan type is a web page", "801501", "USD", "100", "", "",
			[]string{`class="desktop"`, "<svg", "USD 1.00"}, nil},
		{"JPY has no decimals", "801512", "JPY", "1500", "", "",
			[]string{"JPY 1,500<"}, []string{"JPY 15.00"}},
		{"IDR has no decimals", "801512", "IDR", "2500000", "", "",
			[]string{"IDR 2,500,000<"}, nil},
		{"Hong Kong browser reads Traditional Chinese", "801101", "HKD", "2200", "", "zh-HK,zh;q=0.9",
			[]string{`<html lang="zh-Hant">`, "付款</button>", "稍後付款</button>", "取消</button>", "金額", `aria-current="page">繁體中文`},
			[]string{"Leave pending"}},
		{"Hong Kong browser that also reads English", "801101", "HKD", "2200", "", "zh-HK,zh;q=0.9,en;q=0.8", []string{`lang="zh-Hant"`}, nil},
		{"English first, Chinese second", "801101", "HKD", "2200", "", "en-US,en;q=0.9,zh-HK;q=0.8", []string{`lang="en"`}, nil},
		{"Taiwan browser too", "801101", "HKD", "2200", "", "zh-TW", []string{`lang="zh-Hant"`}, nil},
		{"?lang= wins over the browser", "801101", "HKD", "2200", "?lang=en", "zh-HK", []string{`lang="en"`, "Leave pending"}, nil},
		{"?lang=zh-Hant", "801107", "HKD", "2200", "?lang=zh-Hant", "en", []string{`lang="zh-Hant"`, `action="/checkout/`}, nil},
		{"other languages fall back to English", "801101", "HKD", "2200", "", "fr-FR", []string{`lang="en"`}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sh := newShop(t)
			resp := sh.order(t, "PG1", tc.payType, url.Values{"txcurrcd": {tc.currency}, "txamt": {tc.txamt}})
			rec := sh.page(t, resp["pay_url"].(string), tc.query, tc.accept)
			page := rec.Body.String()
			if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("%d %q", rec.Code, rec.Header().Get("Content-Type"))
			}
			for _, w := range tc.want {
				if !strings.Contains(page, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(page, a) {
					t.Errorf("page has %q", a)
				}
			}
		})
	}
}

// TestCheckoutPageEscapes: goods_name, out_trade_no and return_url are
// the caller's; none of them becomes markup or a script URL.
func TestCheckoutPageEscapes(t *testing.T) {
	sh := newShop(t)
	goods := `<script>alert(1)</script><b onmouseover="x">bold</b>&amp;`
	resp := sh.order(t, `<i>O"1</i>`, "801101", url.Values{"goods_name": {goods}, "return_url": {`http://x.test/"><script>alert(2)</script>`}})
	payURL := resp["pay_url"].(string)
	sh.act(t, payURL, actionCancel) // the back link shows once the order is over
	rec := sh.page(t, payURL, "", "")
	page := rec.Body.String()
	for _, bad := range []string{"<script>alert", "<b ", "<i>", `"><script`} {
		if strings.Contains(page, bad) {
			t.Errorf("page carries %q unescaped", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;&lt;b onmouseover=&#34;x&#34;&gt;bold&lt;/b&gt;&amp;amp;", "&lt;i&gt;O&#34;1&lt;/i&gt;", `id="back"`} {
		if !strings.Contains(page, good) {
			t.Errorf("page lacks %q", good)
		}
	}
	csp := rec.Header().Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") || rec.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers: %v", rec.Header())
	}
}

func TestCheckoutRouting(t *testing.T) {
	sh := newShop(t)
	payURL := sh.order(t, "RT1", "801101", nil)["pay_url"].(string)
	before := sh.s.Count()
	tests := []struct {
		name, method, path, body string
		status                   int
		ctype                    string
	}{
		{"page", http.MethodGet, strings.TrimPrefix(payURL, "http://double.test"), "", 200, "text/html; charset=utf-8"},
		{"stylesheet", http.MethodGet, "/checkout/assets/checkout.css", "", 200, "text/css; charset=utf-8"},
		{"script", http.MethodGet, "/checkout/assets/countdown.js", "", 200, "text/javascript; charset=utf-8"},
		{"unknown order", http.MethodGet, "/checkout/NOSUCHTOKEN", "", 404, "text/plain; charset=utf-8"},
		{"unknown order action", http.MethodPost, "/checkout/NOSUCHTOKEN", "action=pay", 404, "text/plain; charset=utf-8"},
		{"unknown action", http.MethodPost, strings.TrimPrefix(payURL, "http://double.test"), "action=refund", 400, "text/plain; charset=utf-8"},
		{"syssn is not the page's id", http.MethodGet, "/checkout/" + sh.row(t, "RT1")["syssn"].(string), "", 404, "text/plain; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			sh.s.ServeHTTP(rec, req)
			if rec.Code != tc.status || rec.Header().Get("Content-Type") != tc.ctype {
				t.Errorf("%d %q, want %d %q", rec.Code, rec.Header().Get("Content-Type"), tc.status, tc.ctype)
			}
		})
	}
	if got := sh.s.Count() - before; got != 1 { // the query above, no page request
		t.Errorf("%d requests recorded, want only the merchant's query", got)
	}
	if r := sh.row(t, "RT1"); r["respcd"] != respUnpaid {
		t.Errorf("an unknown action changed the order: %v", r)
	}
}

func TestFormatAmount(t *testing.T) {
	tests := []struct{ name, txamt, cur, want string }{
		{"cents", "1", "HKD", "HKD 0.01"},
		{"under one", "99", "USD", "USD 0.99"},
		{"thousands", "123456789", "HKD", "HKD 1,234,567.89"},
		{"exact thousand", "100000", "SGD", "SGD 1,000.00"},
		{"yen", "1", "JPY", "JPY 1"},
		{"yen thousands", "1234567", "JPY", "JPY 1,234,567"},
		{"rupiah", "10000", "IDR", "IDR 10,000"},
		{"eleven digits", "99999999999", "CNY", "CNY 999,999,999.99"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := formatAmount(tc.txamt, tc.cur); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCountdown(t *testing.T) {
	tests := []struct {
		name string
		d    time.Duration
		want string
	}{
		{"zero", 0, "0:00"},
		{"seconds", 9 * time.Second, "0:09"},
		{"minutes", 29*time.Minute + 41*time.Second, "29:41"},
		{"hours", 2 * time.Hour, "2:00:00"},
		{"hour and change", time.Hour + 61*time.Second, "1:01:01"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := countdown(tc.d); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
