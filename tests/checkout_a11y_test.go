package tests

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// minContrast is the lowest WCAG contrast ratio between the text and the
// background behind it, over every element that shows text on the page.
const minContrast = `(() => {
	const rgb = c => (c.match(/[\d.]+/g) || []).map(Number);
	const lum = c => {
		const [r, g, b] = rgb(c).slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
		return 0.2126 * r + 0.7152 * g + 0.0722 * b;
	};
	const background = e => {
		for (; e; e = e.parentElement) {
			const c = getComputedStyle(e).backgroundColor, a = rgb(c)[3];
			if (a === undefined || a > 0) return c;
		}
		return "rgb(255, 255, 255)";
	};
	let min = 21, worst = "";
	for (const e of document.querySelectorAll("body *")) {
		if (![...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) continue;
		const [l1, l2] = [lum(getComputedStyle(e).color), lum(background(e))].sort((a, b) => b - a);
		const ratio = (l1 + 0.05) / (l2 + 0.05);
		if (ratio < min) { min = ratio; worst = e.tagName + "#" + e.id + "." + e.className; }
	}
	return {min, worst};
})()`

// checkAccessible asserts the page's contrast, that every control has a
// name, and that the keyboard alone reaches Pay with a visible focus ring.
func checkAccessible(t *testing.T, b *browser) {
	t.Helper()
	c := eval[struct {
		Min   float64 `json:"min"`
		Worst string  `json:"worst"`
	}](t, b, minContrast)
	if c.Min < 4.5 {
		t.Errorf("contrast %.2f:1 at %s, want at least 4.5:1", c.Min, c.Worst)
	}
	if n := eval[int](t, b, `Array.from(document.querySelectorAll("button, a, [role=img], nav, form")).filter(e => !(e.getAttribute("aria-label") || e.textContent.trim())).length`); n != 0 {
		t.Errorf("%d controls without an accessible name", n)
	}
	focusByKeyboard(t, b, "pay")
	if outline := eval[string](t, b, `getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
		t.Error("the focused Pay button shows no focus outline")
	}
}

// focusByKeyboard presses Tab until the element with id has the focus.
func focusByKeyboard(t *testing.T, b *browser, id string) {
	t.Helper()
	for range 12 {
		b.do(t, chromedp.KeyEvent(kb.Tab))
		if eval[string](t, b, `document.activeElement.id`) == id {
			return
		}
	}
	t.Fatalf("Tab never reaches #%s", id)
}
