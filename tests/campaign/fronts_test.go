//go:build campaign

package campaign

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// arrival is one request at QFPay as the front saw it: whether QFPay held
// its out_trade_no already, and the respcd it answered ("" if none).
type arrival struct {
	At     time.Time
	Path   string
	OTN    string
	Held   bool
	Respcd string
}

// qfpayFront is QFPay: the double on its own listener, with garbage
// answers injected per out_trade_no (the double scripts the rest).
type qfpayFront struct {
	double *qfpaytest.Server
	url    string

	mu       sync.Mutex
	garbage  map[string]string // out_trade_no -> the mangled answer's kind
	arrivals []arrival
}

func newQFPayFront(t testing.TB, m qfpaytest.Merchant) *qfpayFront {
	f := &qfpayFront{double: qfpaytest.New(m), garbage: map[string]string{}}
	srv := httptest.NewServer(f)
	t.Cleanup(func() { f.double.Close(); srv.Close() })
	f.url = srv.URL
	return f
}

var respcdRE = regexp.MustCompile(`"respcd":"([0-9]+)"`)

func (f *qfpayFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, _ := url.ParseQuery(string(body))
	a := arrival{At: time.Now(), Path: r.URL.Path, OTN: form.Get("out_trade_no")}
	unique := a.Path == "/trade/v1/payment" || a.Path == "/trade/v1/refund"
	if unique && a.OTN != "" {
		a.Held = f.double.Holds(appCode, a.OTN)
	}
	// Recorded before QFPay answers: an arrival still hanging when the
	// schedule ends is evidence too.
	f.mu.Lock()
	kind := ""
	if unique {
		kind = f.garbage[a.OTN]
		delete(f.garbage, a.OTN)
	}
	i := len(f.arrivals)
	f.arrivals = append(f.arrivals, a)
	f.mu.Unlock()
	cw := &captureWriter{ResponseWriter: w}
	if kind != "" {
		rec := httptest.NewRecorder()
		f.double.ServeHTTP(rec, r)
		cw.buf.Write(rec.Body.Bytes())
		writeGarbage(w, kind)
	} else {
		f.double.ServeHTTP(cw, r)
	}
	if m := respcdRE.FindSubmatch(cw.buf.Bytes()); m != nil {
		f.mu.Lock()
		f.arrivals[i].Respcd = string(m[1])
		f.mu.Unlock()
	}
}

// garbageKinds are answers a broken proxy or a cut connection leaves
// after QFPay took the payment.
var garbageKinds = []string{"html", "truncated", "proxy502", "empty"}

func writeGarbage(w http.ResponseWriter, kind string) {
	switch kind {
	case "html":
		w.WriteHeader(200)
		_, _ = io.WriteString(w, "<html>maintenance</html>")
	case "truncated":
		w.WriteHeader(200)
		_, _ = io.WriteString(w, `{"respcd":"0000","syss`)
	case "proxy502":
		w.WriteHeader(502)
		_, _ = io.WriteString(w, "bad gateway")
	default:
		w.WriteHeader(200)
	}
}

func (f *qfpayFront) mangle(otn, kind string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.garbage[otn] = kind
}

func (f *qfpayFront) seen() []arrival {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]arrival(nil), f.arrivals...)
}

// captureWriter keeps a copy of the answer; Unwrap lets the double hijack
// the connection for scripted resets.
type captureWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.buf.Write(p)
	return c.ResponseWriter.Write(p)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// notifyExchange is one notification QFPay sent through the front to a
// replica, and what QFPay was told.
type notifyExchange struct {
	Body   string
	Start  time.Time
	End    time.Time
	Status int
	Answer string
}

// notifyFront is QFPay's view of the gateways' notification route: it
// spreads deliveries over the replicas that are up, as a load balancer.
type notifyFront struct {
	c      *cluster
	url    string
	client *http.Client

	mu  sync.Mutex
	n   int
	log []notifyExchange
}

func newNotifyFront(t testing.TB, c *cluster) *notifyFront {
	f := &notifyFront{c: c, client: &http.Client{Timeout: 10 * time.Second}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	f.url = srv.URL
	return f
}

func (f *notifyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.n++
	n := f.n
	f.mu.Unlock()
	g, _, _ := f.c.replica(n)
	ex := notifyExchange{Body: string(body), Start: time.Now()}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, "http://"+g.listen+r.URL.Path, bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := f.client.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ex.Status, ex.Answer = resp.StatusCode, string(b)
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(b)
	}
	ex.End = time.Now()
	f.mu.Lock()
	f.log = append(f.log, ex)
	f.mu.Unlock()
}

func (f *notifyFront) exchanges() []notifyExchange {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]notifyExchange(nil), f.log...)
}

// Application modes: what the app answers a notification.
const (
	appSuccess = "SUCCESS"
	appFail    = "FAIL" // 200 FAIL, as ThinkPHP integrations answer
	app500     = "500"
	appHang    = "hang"
)

// receipt is one notification at the application and its answer.
type receipt struct {
	Body     string
	Verified string // X-Qfsign-Verified
	Start    time.Time
	Status   int
	Answer   string
}

// application is the merchant's app: it logs every notification and
// answers according to its mode.
type application struct {
	url     string
	mu      sync.Mutex
	mode    string
	log     []receipt
	release func()
	hang    chan struct{}
}

func newApplication(t testing.TB) *application {
	a := &application{mode: appSuccess, hang: make(chan struct{})}
	var once sync.Once
	a.release = func() { once.Do(func() { close(a.hang) }) }
	srv := httptest.NewServer(a)
	t.Cleanup(func() { a.release(); srv.Close() })
	a.url = srv.URL
	return a
}

func (a *application) setMode(m string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.mode = m
}

func (a *application) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc := receipt{Body: string(body), Verified: r.Header.Get("X-Qfsign-Verified"), Start: time.Now()}
	a.mu.Lock()
	mode := a.mode
	a.mu.Unlock()
	switch mode {
	case appHang:
		select {
		case <-r.Context().Done():
		case <-a.hang:
		}
		rc.Answer = "(no answer)"
	case app500:
		rc.Status, rc.Answer = 500, "error"
	case appFail:
		rc.Status, rc.Answer = 200, "FAIL"
	default:
		rc.Status, rc.Answer = 200, "SUCCESS"
	}
	if rc.Status != 0 {
		w.WriteHeader(rc.Status)
		_, _ = io.WriteString(w, rc.Answer)
	}
	a.mu.Lock()
	a.log = append(a.log, rc)
	a.mu.Unlock()
}

func (a *application) receipts() []receipt {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]receipt(nil), a.log...)
}
