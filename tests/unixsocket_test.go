package tests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// unixClient speaks HTTP over the unix socket at path; the URL's host
// is only the Host header.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
}

// TestUnixSocketListeners: applications reach qfsign over unix sockets
// whose file mode decides who may pay (the pod's shared emptyDir, a VM's
// group), through the built binary; each socket has its own
// listener_rate_limit, applied before anything else (issue 22.6).
func TestUnixSocketListeners(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	dir, err := os.MkdirTemp("", "qfsign-sock-") // short: a socket path has ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	shop, admin := filepath.Join(dir, "shop.sock"), filepath.Join(dir, "admin.sock")
	cf := fmt.Sprintf(`{
	admin off
	qfpay {
		environment %s
		store memory
		merchant default {
			app_code {env.QFPAY_APP_CODE}
			client_key {env.QFPAY_CLIENT_KEY}
		}
	}
}
http:// {
	bind unix/%s|0660 unix/%s|0600
	qfpay_host
	route /trade/v1/* {
		qfpay_gateway default {
			listener_rate_limit 3/m
		}
	}
}
`, up.URL, shop, admin)
	path := writeTemp(t, dir, "Caddyfile", cf)
	logs, _ := startListening(t, path, shop, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey)
	waitListening(t, admin, nil)
	for sock, mode := range map[string]os.FileMode{shop: 0o660, admin: 0o600} {
		if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != mode || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("%s: %v %v, want a socket with mode %o", sock, fi.Mode(), err, mode)
		}
	}
	post := func(sock, form string) (int, string) {
		resp, err := unixClient(sock).Post("http://localhost/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	form := "txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=SOCK-1"
	var got []int
	for range 4 {
		status, _ := post(shop, form) // a payment, then its replays: all count
		got = append(got, status)
	}
	if fmt.Sprint(got) != "[200 200 200 429]" || len(up.exchanges()) != 1 {
		t.Fatalf("shop socket: %v, %d sent, want [200 200 200 429] and 1\n%s", got, len(up.exchanges()), tail(logs.String(), 2000))
	}
	// The other socket, another application: its own budget.
	if status, body := post(admin, "txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=SOCK-2"); status != 200 || !strings.Contains(body, `"respcd":"0000"`) {
		t.Fatalf("admin socket: %d %s", status, body)
	}
	if status, body := post(shop, form); status != 429 || !strings.Contains(body, `"rule":"rate_limit"`) || !strings.Contains(body, "this listener") {
		t.Fatalf("shop socket still limited: %d %s", status, body)
	}
}
