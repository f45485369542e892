package qfpaytest

import (
	"cmp"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/skip2/go-qrcode"
	"golang.org/x/text/language"
)

// phoneTypes are the WAP pay types: their page is laid out for a phone.
// The other online types (web, scan) get the desktop page with a QR code.
var phoneTypes = set("801107", "801512")

// zeroDecimal currencies have no minor unit in QFPay's txamt: 1500 JPY is
// ¥1,500. Every other currency QFPay takes has two decimals.
var zeroDecimal = set("JPY", "IDR")

// pageView is everything the template shows. html/template escapes each
// string field for where it lands; only QR is trusted markup, and it is
// drawn here from numbers alone.
type pageView struct {
	Lang, Layout                      string // "en" or "zh-Hant"; "desktop" or "phone"
	T                                 messages
	Merchant, MchID, Goods, Amount    string
	OutTradeNo, Syssn, Status, Notice string
	Open                              bool
	Remaining                         int    // seconds until expiry
	Countdown, Expires                string // "29:41"; "2025-11-17 18:30:05 HKT"
	Action, ReturnURL                 string
	QR                                template.HTML
	Languages                         []langLink
}

type langLink struct {
	Code, Name, Href string
	Current          bool
}

// viewLocked renders e's page for lang; path is the page's own path.
func (s *Server) viewLocked(e *entry, lang, path string) pageView {
	t := catalog[lang]
	left := max(e.co.expires.Sub(s.now()), 0).Truncate(time.Second)
	v := pageView{
		Lang: lang, Layout: "desktop", T: t,
		Merchant: cmp.Or(e.co.merchant, t.TestMerchant), MchID: e.co.mchid, Goods: e.goodsName,
		Amount:     formatAmount(e.Txamt, e.Txcurrcd),
		OutTradeNo: e.OutTradeNo, Syssn: e.Syssn, Open: e.open(),
		Remaining: int(left.Seconds()), Countdown: countdown(left),
		Expires:   e.co.expires.In(hkTime).Format(dtmLayout) + " HKT",
		Action:    (&url.URL{Path: path, RawQuery: url.Values{"lang": {lang}}.Encode()}).String(),
		ReturnURL: e.co.returnURL,
	}
	v.Status, v.Notice = status(e, t)
	for _, l := range []struct{ code, name string }{{"en", "English"}, {"zh-Hant", "繁體中文"}} {
		href := (&url.URL{Path: path, RawQuery: url.Values{"lang": {l.code}}.Encode()}).String()
		v.Languages = append(v.Languages, langLink{Code: l.code, Name: l.name, Href: href, Current: l.code == lang})
	}
	if phoneTypes[e.PayType] {
		v.Layout = "phone"
	} else {
		v.QR = qrSVG(e.PayURL)
	}
	return v
}

// status names where the order stands: a short word for tests and styles,
// and the sentence the customer reads.
func status(e *entry, t messages) (string, string) {
	switch {
	case e.respcd == respUnpaid:
		return "open", t.Open
	case e.respcd == respPending:
		return "pending", t.Pending
	case e.co.expired:
		return "expired", t.Expired
	case e.cancel == cancelRefunded || e.cancel == cancelPartial:
		return "refunded", t.Refunded
	case e.cancelled() && e.respcd == "0000":
		return "reversed", t.Reversed
	case e.cancelled():
		return "cancelled", t.Cancelled
	case e.respcd == "0000":
		return "paid", t.Paid
	}
	return "failed", t.Failed
}

// matcher knows the page's languages, English (the fallback) first. The
// regions writing Traditional Chinese are listed as well: the matcher
// rates zh-HK against zh-Hant below an exact en, and a Hong Kong browser
// sends "zh-HK,zh;q=0.9,en;q=0.8".
var matcher = language.NewMatcher([]language.Tag{
	language.English, language.TraditionalChinese,
	language.MustParse("zh-HK"), language.MustParse("zh-TW"), language.MustParse("zh-MO"),
})

// pickLanguage takes ?lang= first, then Accept-Language.
func pickLanguage(r *http.Request) string {
	_, i := language.MatchStrings(matcher, r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
	if i > 0 {
		return "zh-Hant"
	}
	return "en"
}

// formatAmount shows txamt (minor units, digits only) in the currency's
// major unit with thousands separators: "HKD 1,500.00", "JPY 1,500".
func formatAmount(txamt, currency string) string {
	whole, frac := txamt, ""
	if !zeroDecimal[currency] {
		padded := strings.Repeat("0", max(3-len(txamt), 0)) + txamt
		whole, frac = padded[:len(padded)-2], "."+padded[len(padded)-2:]
	}
	var b strings.Builder
	for i, d := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return currency + " " + b.String() + frac
}

// countdown is d as m:ss, or h:mm:ss from an hour on.
func countdown(d time.Duration) string {
	sec := int(d.Seconds())
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

// qrSVG draws a QR code of link as inline SVG, one square per dark
// module, quiet zone included. It holds numbers only, never link's text.
func qrSVG(link string) template.HTML {
	q, err := qrcode.New(link, qrcode.Medium)
	if err != nil {
		return "" // too long for a QR code: the page works without one
	}
	bits := q.Bitmap()
	var path strings.Builder
	for y, row := range bits {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&path, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	n := len(bits)
	return template.HTML(fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="220" height="220" shape-rendering="crispEdges" aria-hidden="true" focusable="false"><rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="%s"/></svg>`,
		n, n, n, n, path.String()))
}
