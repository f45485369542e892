package tests

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
)

// arrival is one request as QFPay's side of the wire saw it.
type arrival struct {
	host   string
	header http.Header
	body   string
	reused bool // came on a connection that had carried a request before
}

// droppingUpstream answers 0000, except for an out_trade_no containing
// "DROP": it reads the whole request, then hangs up without an answer.
type droppingUpstream struct {
	*httptest.Server
	mu       sync.Mutex
	arrivals []arrival
	perConn  map[net.Conn]int
}

type connKey struct{}

func newDroppingUpstream(t *testing.T) *droppingUpstream {
	t.Helper()
	u := &droppingUpstream{perConn: map[net.Conn]int{}}
	u.Server = httptest.NewUnstartedServer(http.HandlerFunc(u.serve))
	u.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		return context.WithValue(ctx, connKey{}, c)
	}
	u.Start()
	t.Cleanup(u.Close)
	return u
}

func (u *droppingUpstream) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	conn := r.Context().Value(connKey{}).(net.Conn)
	u.mu.Lock()
	u.perConn[conn]++
	a := arrival{host: r.Host, header: r.Header.Clone(), body: string(body), reused: u.perConn[conn] > 1}
	u.arrivals = append(u.arrivals, a)
	u.mu.Unlock()
	if strings.Contains(a.body, "DROP") {
		c, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			c.Close()
		}
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"respcd":"0000","respmsg":"","resperr":"success","syssn":"1"}`)
}

// count is the number of requests that arrived.
func (u *droppingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.arrivals)
}

// of returns the arrivals of one out_trade_no.
func (u *droppingUpstream) of(otn string) []arrival {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []arrival
	for _, a := range u.arrivals {
		if strings.Contains(a.body, "out_trade_no="+otn+"&") || strings.HasSuffix(a.body, "out_trade_no="+otn) {
			out = append(out, a)
		}
	}
	return out
}

func startOnDroppingUpstream(t *testing.T) (*droppingUpstream, *gateway) {
	t.Helper()
	up := newDroppingUpstream(t)
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	return up, gw
}

// TestDroppedConnectionArrivesOnce: QFPay's side reads a payment on a
// reused keep-alive connection and hangs up. Whatever idempotency header
// the caller sent, the payment arrives once, and the caller is told the
// outcome is unknown (never that it may simply send again).
func TestDroppedConnectionArrivesOnce(t *testing.T) {
	up, gw := startOnDroppingUpstream(t)
	run := testvault.RandomID(4)
	for _, hdr := range []string{"", "Idempotency-Key", "X-Idempotency-Key"} {
		t.Run("header="+hdr, func(t *testing.T) {
			warm := "W-" + run + "-" + hdr
			if resp, body := gw.post(t, "/trade/v1/payment", payForm(warm, 100)); resp.StatusCode != 200 {
				t.Fatalf("warm-up: %d %s", resp.StatusCode, body)
			}
			otn := "DROP-" + run + "-" + hdr
			var extra []string
			if hdr != "" {
				extra = []string{hdr, "key-" + otn}
			}
			resp, body := gw.post(t, "/trade/v1/payment", payForm(otn, 100), extra...)
			got := up.of(otn)
			if len(got) != 1 {
				t.Fatalf("payment arrived %d times, want once", len(got))
			}
			if !got[0].reused {
				t.Fatal("the payment came on a new connection: the test did not exercise a reused one")
			}
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), `"rule":"outcome_unknown"`) {
				t.Fatalf("caller got %d %s", resp.StatusCode, body)
			}
		})
	}
}

// TestOnlyQFPayHeadersLeave: nothing the caller sends besides the form
// reaches QFPay: not its cookies, credentials, forwarding headers, own
// secrets or Host.
func TestOnlyQFPayHeadersLeave(t *testing.T) {
	up, gw := startOnDroppingUpstream(t)
	otn := "H-" + testvault.RandomID(4)
	req, _ := http.NewRequest(http.MethodPost, gw.base+"/trade/v1/payment", strings.NewReader(payForm(otn, 100)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range map[string]string{
		"Cookie": "session=s3cr3t", "Authorization": "Bearer app-token", "Forwarded": "for=10.0.0.1",
		"X-Forwarded-For": "10.0.0.2", "X-Secret": "app-secret", "Idempotency-Key": "k1", "Accept-Encoding": "gzip, br",
		"User-Agent": "shop/1.0", "Accept": "*/*", "X-Request-Id": "r1",
	} {
		req.Header.Set(k, v)
	}
	req.Host = strings.Replace(strings.TrimPrefix(gw.base, "http://"), "127.0.0.1:", "127.0.0.1:1", 1)
	if resp, body := gw.do(t, req); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	got := up.of(otn)
	if len(got) != 1 {
		t.Fatalf("%d arrivals", len(got))
	}
	var names []string
	for k := range got[0].header {
		names = append(names, k)
	}
	want := "Content-Length,Content-Type,User-Agent,X-Qf-Appcode,X-Qf-Sign"
	if s := strings.Join(slices.Sorted(slices.Values(names)), ","); s != want {
		t.Errorf("QFPay saw headers %s, want exactly %s", s, want)
	}
	if ua := got[0].header.Get("User-Agent"); !strings.HasPrefix(ua, "qfsign/") {
		t.Errorf("User-Agent %q", ua)
	}
	if h := got[0].host; h != strings.TrimPrefix(up.URL, "http://") {
		t.Errorf("QFPay saw Host %q, want its own %q", h, strings.TrimPrefix(up.URL, "http://"))
	}
	for _, secret := range []string{"s3cr3t", "app-token", "10.0.0.", "app-secret", "shop/1.0"} {
		if strings.Contains(got[0].body, secret) {
			t.Errorf("%q reached QFPay in the body", secret)
		}
	}
}
