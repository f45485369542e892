package qfpaytest

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
)

const checkoutPrefix = "/checkout/"

// assets are the page's template, stylesheet and script: no build step,
// nothing fetched from elsewhere, so the page works offline.
//
//go:embed checkout
var assets embed.FS

var pageTemplate = template.Must(template.ParseFS(assets, "checkout/page.html"))

// pageSecurity keeps the page self-contained: only its own stylesheet
// and script run, so even a value that escaped escaping could not run.
// form-action is left out: Chrome applies it to the redirect to
// return_url.
var pageSecurity = map[string]string{
	"Content-Security-Policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
		"base-uri 'none'; frame-ancestors 'none'",
	"X-Content-Type-Options": "nosniff",
	"Referrer-Policy":        "no-referrer", // the page's URL is the order's only key
	"Cache-Control":          "no-store",
}

// checkoutPages routes the page (GET), the customer's action (POST) and
// the page's static files.
func (s *Server) checkoutPages() http.Handler {
	static, err := fs.Sub(assets, "checkout/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+checkoutPrefix+"assets/", http.StripPrefix(checkoutPrefix+"assets/", http.FileServerFS(static)))
	mux.HandleFunc("GET "+checkoutPrefix+"{token}", s.showCheckout)
	mux.HandleFunc("POST "+checkoutPrefix+"{token}", s.actCheckout)
	return mux
}

// showCheckout renders the order's page as it stands now.
func (s *Server) showCheckout(w http.ResponseWriter, r *http.Request) {
	lang := pickLanguage(r)
	s.mu.Lock()
	e := s.orderLocked(r.PathValue("token"))
	var v pageView
	if e != nil {
		v = s.viewLocked(e, lang, r.URL.Path)
	}
	s.mu.Unlock()
	if e == nil {
		http.Error(w, "no such order", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, v); err != nil {
		http.Error(w, "rendering the page failed", http.StatusInternalServerError)
		return
	}
	for k, val := range pageSecurity {
		w.Header().Set(k, val)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// actCheckout applies Pay, Cancel or Leave pending, then sends the
// browser on (Post/Redirect/Get): a paid order to return_url when one was
// given, anything else back to its page, which tells how it stands.
func (s *Server) actCheckout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	action := r.PostForm.Get("action")
	if action != actionPay && action != actionCancel && action != actionPending {
		http.Error(w, "action must be pay, cancel or pending", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	e := s.orderLocked(r.PathValue("token"))
	var paid bool
	var back string
	if e != nil {
		paid = s.actLocked(e, action) && action == actionPay
		back = e.co.returnURL
	}
	s.mu.Unlock()
	switch {
	case e == nil:
		http.Error(w, "no such order", http.StatusNotFound)
	case paid && back != "":
		http.Redirect(w, r, back, http.StatusSeeOther)
	default:
		page := url.URL{Path: r.URL.Path, RawQuery: langQuery(r)}
		http.Redirect(w, r, page.String(), http.StatusSeeOther)
	}
}

// langQuery keeps an explicit ?lang= across the redirect.
func langQuery(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l != "" {
		return url.Values{"lang": {l}}.Encode()
	}
	return ""
}
