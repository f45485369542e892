package tests

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// notifyVector is the shared notification vector (QFPay's Python formatting).
type notifyVector struct {
	Body, ClientKey, MD5 string
}

func loadNotifyVector(t *testing.T) notifyVector {
	t.Helper()
	n := testvectors.Load(t).Notification[0]
	return notifyVector{Body: n.Body, ClientKey: n.ClientKey, MD5: n.MD5}
}

// application records what reaches it and answers with a settable status
// and body (default 200 SUCCESS, QFPay's acknowledgement).
type application struct {
	*httptest.Server
	mu     sync.Mutex
	bodies []string
	hdrs   []http.Header
	status atomic.Int32
	answer atomic.Value // string
	// failFirst answers 500 to that many deliveries before using status.
	failFirst atomic.Int32
	// hangUp drops the connection without an answer.
	hangUp atomic.Bool
}

func newApplication(t *testing.T) *application {
	a := &application{}
	a.status.Store(http.StatusOK)
	a.answer.Store("SUCCESS")
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.bodies = append(a.bodies, string(b))
		a.hdrs = append(a.hdrs, r.Header.Clone())
		a.mu.Unlock()
		if a.hangUp.Load() {
			panic(http.ErrAbortHandler)
		}
		if a.failFirst.Add(-1) >= 0 {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.WriteHeader(int(a.status.Load()))
		_, _ = io.WriteString(w, a.answer.Load().(string))
	}))
	t.Cleanup(a.Close)
	return a
}

func (a *application) received() ([]string, []http.Header) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.bodies...), append([]http.Header(nil), a.hdrs...)
}

func notifyGateway(t *testing.T, v notifyVector, app *application) *gateway {
	return notifyGatewayWith(t, v, app.URL, "mchid ZaMVg12345", "")
}

// notifyGatewayWith sets the merchant's mchid line and qfpay_notify's
// options; appURL is the application behind it.
func notifyGatewayWith(t *testing.T, v notifyVector, appURL, mchidLine, options string) *gateway {
	t.Helper()
	os.Setenv("QFSIGN_TEST_NOTIFY_KEY", v.ClientKey)
	t.Cleanup(func() { os.Unsetenv("QFSIGN_TEST_NOTIFY_KEY") })
	merchants := `merchant hk {
			app_code {env.QFSIGN_TEST_APPCODE}
			client_key {env.QFSIGN_TEST_NOTIFY_KEY}
			` + mchidLine + `
		}`
	return startGateway(t, "embedded", merchants, `route /qfpay/notify {
		qfpay_notify hk {
			`+options+`
		}
		reverse_proxy `+strings.TrimPrefix(appURL, "http://")+`
	}`)
}

// withSyssn is v with its own syssn, signed again: acknowledgements
// outlive config reloads, so each test needs notifications of its own.
func withSyssn(v notifyVector, syssn string) notifyVector {
	v.Body = strings.Replace(v.Body, "20200413000300020087033882", syssn, 1)
	v.MD5 = md5Upper(v.Body + v.ClientKey)
	return v
}

func md5Upper(s string) string {
	sum := md5.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestNotificationVerifiedForwardedOnce(t *testing.T) {
	v := loadNotifyVector(t)
	app := newApplication(t)
	gw := notifyGateway(t, v, app)

	resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", strings.ToLower(v.MD5),
		"Content-Type", "application/json", "X-Qfsign-Merchant", "forged")
	if resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("QFPay got %d %q", resp.StatusCode, body)
	}
	bodies, hdrs := app.received()
	if len(bodies) != 1 || bodies[0] != v.Body {
		t.Fatalf("application got %d bodies; first equal to the raw bytes: %v", len(bodies), len(bodies) > 0 && bodies[0] == v.Body)
	}
	if hdrs[0].Get("X-Qfsign-Verified") != "1" || hdrs[0].Get("X-Qfsign-Merchant") != "hk" || hdrs[0].Get("X-Qf-Sign") != strings.ToLower(v.MD5) {
		t.Errorf("application headers: %v", hdrs[0])
	}
	// QFPay retries: acknowledged again, never forwarded again.
	for range 2 {
		resp, body = gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
		if resp.StatusCode != 200 || string(body) != "SUCCESS" {
			t.Fatalf("duplicate got %d %q", resp.StatusCode, body)
		}
	}
	if bodies, _ := app.received(); len(bodies) != 1 {
		t.Fatalf("duplicate forwarded: application got %d", len(bodies))
	}
	lines := gw.waitLogLines(t, `"msg":"notification"`, `"outcome":"duplicate"`)
	if len(lines) != 2 || !strings.Contains(lines[0], `"syssn":"20200413000300020087033882"`) || !strings.Contains(lines[0], `"txamt":"300"`) {
		t.Fatalf("log lines: %v", lines)
	}
}

func TestNotificationRefusals(t *testing.T) {
	v := loadNotifyVector(t)
	app := newApplication(t)
	gw := notifyGateway(t, v, app)
	flipped := strings.Replace(v.Body, `"txamt": "300"`, `"txamt": "900"`, 1)
	notJSON := "not json"
	otherMch := strings.Replace(v.Body, "ZaMVg12345", "ZaMVg99999", 1)
	noSyssn := strings.Replace(v.Body, `"syssn": "20200413000300020087033882"`, `"syssn": ""`, 1)
	tests := []struct {
		name, body, sign string
		status           int
		rule             string
	}{
		{"flipped byte", flipped, v.MD5, 401, "signature"},
		{"missing header", v.Body, "", 401, "signature"},
		{"wrong key", v.Body, md5Upper(v.Body + "another-key"), 401, "signature"},
		{"truncated body", v.Body[:len(v.Body)-1], v.MD5, 401, "signature"},
		{"signature of other body", v.Body, md5Upper(flipped + v.ClientKey), 401, "signature"},
		{"valid signature, not JSON", notJSON, md5Upper(notJSON + v.ClientKey), 400, "json"},
		{"valid signature, other mchid", otherMch, md5Upper(otherMch + v.ClientKey), 400, "mismatch"},
		{"valid signature, no syssn", noSyssn, md5Upper(noSyssn + v.ClientKey), 400, "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{"Content-Type", "application/json", "X-Qfsign-Verified", "1"}
			if tt.sign != "" {
				hdr = append(hdr, "X-QF-SIGN", tt.sign)
			}
			resp, body := gw.post(t, "/qfpay/notify", tt.body, hdr...)
			var got struct{ Rule string }
			_ = json.Unmarshal(body, &got)
			if resp.StatusCode != tt.status || got.Rule != tt.rule {
				t.Errorf("got %d %s, want %d rule %s", resp.StatusCode, body, tt.status, tt.rule)
			}
			if n, _ := app.received(); len(n) != 0 {
				t.Fatalf("application received %d", len(n))
			}
		})
	}
	metrics := adminMetrics(t)
	for _, want := range []string{`qfsign_notifications_total{merchant="hk",outcome="signature"}`, `qfsign_notifications_total{merchant="hk",outcome="json"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("admin /metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, v.ClientKey) {
		t.Error("metrics contain the key")
	}
}

// adminMetrics reads Caddy's admin /metrics.
func adminMetrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", adminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestNotificationAppFailureIsRetried: the application fails, QFPay is
// told 502 (so it retries), and the retry is forwarded exactly once.
func TestNotificationAppFailureIsRetried(t *testing.T) {
	v := withSyssn(loadNotifyVector(t), "20200413000300020087039999")
	app := newApplication(t)
	gw := notifyGateway(t, v, app)
	app.status.Store(http.StatusInternalServerError)
	resp, _ := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5)
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("app failure answered %d", resp.StatusCode)
	}
	app.status.Store(http.StatusOK)
	for range 2 {
		resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5)
		if resp.StatusCode != 200 || string(body) != "SUCCESS" {
			t.Fatalf("retry answered %d %q", resp.StatusCode, body)
		}
	}
	if bodies, _ := app.received(); len(bodies) != 2 {
		t.Fatalf("application received %d deliveries, want 2 (failed + retried)", len(bodies))
	}
}

// TestPaymentThenNotificationEndToEnd: an unsigned payment goes out signed,
// the QFPay double notifies back, the gateway verifies it, the application
// fails once, QFPay's retry is forwarded, and the double records SUCCESS.
func TestPaymentThenNotificationEndToEnd(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	app := newApplication(t)
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}
	route /qfpay/notify {
		qfpay_notify shop
		reverse_proxy `+strings.TrimPrefix(app.URL, "http://")+`
	}`)
	up.double.SetNotifyURL(gw.base + "/qfpay/notify")
	up.double.SetRetryScale(0.0001) // 2 min -> 12 ms
	app.failFirst.Store(1)          // QFPay must retry once
	_, body := gw.post(t, "/trade/v1/payment", "txamt=880&txcurrcd=HKD&pay_type=801512&out_trade_no=E2E-NOTIFY-1")
	if !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("payment: %s", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ds, err := up.double.WaitDeliveries(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].Acked || ds[0].Status != http.StatusBadGateway {
		t.Fatalf("first delivery (application failed): %+v", ds[0])
	}
	if !ds[1].Acked || ds[1].Answer != "SUCCESS" || ds[1].NotifyType != "payment" || ds[1].Attempt != 2 {
		t.Fatalf("retried delivery: %+v", ds[1])
	}
	bodies, hdrs := app.received()
	if len(bodies) != 2 || bodies[1] != string(ds[1].Body) || hdrs[1].Get("X-Qfsign-Verified") != "1" {
		t.Fatalf("application got %d notifications, want 2 (failed, then the retry)", len(bodies))
	}
	if !strings.Contains(bodies[0], `"out_trade_no": "E2E-NOTIFY-1"`) {
		t.Errorf("notification body: %s", bodies[0])
	}
}
