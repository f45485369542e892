package tests

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestEmbeddedNotifiesItself: with QFSIGN_NOTIFY_TO set, Caddyfile.example
// wires the embedded double to the gateway's own /qfpay/notify, so a
// payment without notify_url reaches the application, verified, once.
func TestEmbeddedNotifiesItself(t *testing.T) {
	got := make(chan string, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.URL.Path + " " + string(b)
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	t.Cleanup(app.Close)
	listen, logs := startExample(t, "QFSIGN_NOTIFY_TO="+strings.TrimPrefix(app.URL, "http://"))
	if a := embeddedPay(t, listen, "NOTIFY-SELF-1", "800101"); a["respcd"] != "0000" {
		t.Fatalf("payment: %v", a)
	}
	select {
	case n := <-got:
		if !strings.HasPrefix(n, "/qfpay/notify ") || !strings.Contains(n, `"out_trade_no": "NOTIFY-SELF-1"`) || !strings.Contains(n, `"notify_type": "payment"`) {
			t.Fatalf("the application got %q", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no notification within 10s\n%s", logs.String())
	}
	select {
	case n := <-got:
		t.Fatalf("a second notification: %q", n)
	case <-time.After(200 * time.Millisecond):
	}
}
