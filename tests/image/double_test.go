//go:build image

package image

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

const (
	testAppCode = "APPCODE-IMAGE-0001"
	testKey     = "IMAGETESTKEY-3c9d0a7e51f2"
)

// double is QFPay's double on the host's loopback (the container shares
// the host's network), counting what reached it. An order whose
// out_trade_no starts with "SLOW-" is held until release is closed, after
// arrived is closed: a slow QFPay.
type double struct {
	qfpay   *qfpaytest.Server
	addr    string
	arrived chan struct{}
	release chan struct{}
	once    sync.Once // closes release
	arrival sync.Once // closes arrived: a second SLOW- request must not panic
}

func startDouble(t *testing.T) *double {
	t.Helper()
	d := &double{qfpay: qfpaytest.New(qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey}),
		arrived: make(chan struct{}), release: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(d.serve)}
	go srv.Serve(ln)
	t.Cleanup(func() {
		d.once.Do(func() { close(d.release) })
		srv.Close()
		d.qfpay.Close()
	})
	return d
}

func (d *double) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if v, err := url.ParseQuery(string(body)); err == nil && strings.HasPrefix(v.Get("out_trade_no"), "SLOW-") {
		d.arrival.Do(func() { close(d.arrived) })
		<-d.release
	}
	r.Body = io.NopCloser(bytes.NewReader(body)) // the bytes as sent: they are signed
	d.qfpay.ServeHTTP(w, r)
}

// env points the image's Caddyfile at this double with its merchant.
func (d *double) env() []string {
	return []string{"QFPAY_ENV=http://" + d.addr, "QFPAY_APP_CODE=" + testAppCode, "QFPAY_CLIENT_KEY=" + testKey}
}

// payments counts the payment requests for out_trade_no that reached QFPay.
func (d *double) payments(order string) int {
	n := 0
	for _, r := range d.qfpay.Requests() {
		if v, err := url.ParseQuery(string(r.Body)); r.Path == "/trade/v1/payment" && err == nil && v.Get("out_trade_no") == order {
			n++
		}
	}
	return n
}
