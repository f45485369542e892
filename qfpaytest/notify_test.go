package qfpaytest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// answer is what a receiver replies to one notification.
type answer struct {
	status int
	body   string
}

// hit is one notification as a receiver got it.
type hit struct {
	method string
	header http.Header
	body   []byte
}

// receiver is a merchant endpoint answering the i-th request with
// answers[i], repeating the last answer; it reports every request on hits.
type receiver struct {
	*httptest.Server
	hits chan hit
}

func newReceiver(t *testing.T, answers ...answer) *receiver {
	t.Helper()
	r := &receiver{hits: make(chan hit, 64)}
	var mu sync.Mutex
	n := 0
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.hits <- hit{method: req.Method, header: req.Header.Clone(), body: body}
		mu.Lock()
		a := answers[min(n, len(answers)-1)]
		n++
		mu.Unlock()
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(r.Close)
	return r
}

// notifyServer is a test server with a tiny retry scale, closed at cleanup.
func notifyServer(t *testing.T, ms ...Merchant) *Server {
	t.Helper()
	s := newTestServer(ms...)
	s.SetRetryScale(1e-6)
	t.Cleanup(s.Close)
	return s
}

// pay makes a successful payment and returns its syssn.
func pay(t *testing.T, s *Server, params url.Values, m Merchant) string {
	t.Helper()
	_, resp := send(t, s, signed(t, pathPayment, params, m))
	if resp["respcd"] != "0000" {
		t.Fatalf("payment: %v", resp)
	}
	return resp["syssn"].(string)
}

func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitIdle waits until no delivery goroutine runs, so counts are final.
func waitIdle(t *testing.T, s *Server) {
	t.Helper()
	if err := s.waitFor(waitCtx(t), func() bool { return s.n.active == 0 }); err != nil {
		t.Fatal(err)
	}
}

func TestNotifyOnPayment(t *testing.T) {
	withID := Merchant{AppCode: "M1", ClientKey: "K1", MchID: "ZaMVg12345"}
	tests := []struct {
		name  string
		m     Merchant
		goods string
		mchid string // "" = no mchid field
	}{
		{"merchant with mchid", withID, "測試 é", "ZaMVg12345"},
		{"merchant without mchid", merchant, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, answer{200, "SUCCESS"})
			s := notifyServer(t, tc.m)
			s.SetNotifyURL(rcv.URL)
			params := payParams("N1", "801101")
			if tc.mchid != "" {
				params.Set("mchid", tc.mchid)
			}
			if tc.goods != "" {
				params.Set("goods_name", tc.goods)
			}
			syssn := pay(t, s, params, tc.m)
			ds, err := s.WaitDeliveries(waitCtx(t), 1)
			waitIdle(t, s)
			got := <-rcv.hits
			if err != nil || len(ds) != 1 || len(rcv.hits) != 0 {
				t.Fatalf("deliveries %+v, %v; more hits: %d", ds, err, len(rcv.hits))
			}
			keys := notificationKeys
			if tc.mchid == "" {
				keys = append(keys[:7:7], keys[8:]...)
			}
			want := EncodeNotification(keys, map[string]string{
				"status": "1", "pay_type": "801101", "sysdtm": "2025-11-17 18:00:05",
				"paydtm": "2025-11-17 18:00:05", "goods_name": tc.goods, "txcurrcd": "HKD",
				"txdtm": "2025-11-17 18:00:00", "mchid": tc.mchid, "txamt": "2200",
				"out_trade_no": "N1", "syssn": syssn, "cancel": "0", "respcd": "0000",
				"notify_type": "payment",
			})
			sign := md5Upper([]byte(string(want) + tc.m.ClientKey))
			if got.method != http.MethodPost || string(got.body) != string(want) {
				t.Errorf("got %s %s\nwant body %s", got.method, got.body, want)
			}
			if ct, sg := got.header.Get("Content-Type"), got.header.Get("X-QF-SIGN"); ct != "application/json" || sg != sign {
				t.Errorf("Content-Type %q, X-QF-SIGN %q, want application/json, %s", ct, sg, sign)
			}
			var fields map[string]string
			if err := json.Unmarshal(got.body, &fields); err != nil || fields["goods_name"] != tc.goods {
				t.Errorf("body decodes to %v, %v", fields, err)
			}
			d := ds[0]
			if d.Syssn != syssn || d.NotifyType != "payment" || d.Attempt != 1 || string(d.Body) != string(want) ||
				d.Sign != sign || d.Status != 200 || d.Answer != "SUCCESS" || d.Err != "" || !d.Acked {
				t.Errorf("delivery = %+v", d)
			}
		})
	}
}

func TestNotifyRetries(t *testing.T) {
	fail := answer{500, "error"}
	tests := []struct {
		name    string
		answers []answer
		acked   []bool // per attempt
	}{
		{"acked at once", []answer{{200, "SUCCESS"}}, []bool{true}},
		{"whitespace trimmed", []answer{{200, " SUCCESS\r\n"}}, []bool{true}},
		{"500 twice then SUCCESS", []answer{fail, fail, {200, "SUCCESS"}}, []bool{false, false, true}},
		{"lower-case success never acked", []answer{{200, "success"}}, make([]bool, 8)},
		{"SUCCESS with 201 never acked", []answer{{201, "SUCCESS"}}, make([]bool, 8)},
		{"always 500 gives up after 8", []answer{fail}, make([]bool, 8)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rcv := newReceiver(t, tc.answers...)
			s := notifyServer(t)
			s.SetNotifyURL(rcv.URL)
			syssn := pay(t, s, payParams("R1", "800201"), merchant)
			waitIdle(t, s)
			ds := s.Deliveries()
			if len(ds) != len(tc.acked) || len(rcv.hits) != len(tc.acked) {
				t.Fatalf("%d deliveries, %d hits, want %d", len(ds), len(rcv.hits), len(tc.acked))
			}
			for i, d := range ds {
				a := tc.answers[min(i, len(tc.answers)-1)]
				if d.Attempt != i+1 || d.Syssn != syssn || d.Acked != tc.acked[i] ||
					d.Status != a.status || d.Answer != a.body || string(d.Body) != string(ds[0].Body) {
					t.Errorf("attempt %d = %+v", i+1, d)
				}
			}
		})
	}
}

func TestNotifyURLChoice(t *testing.T) {
	tests := []struct {
		name       string
		serverURL  bool
		requestURL bool
		respcd     string
		wantServer int
		wantReq    int
	}{
		{"server URL", true, false, "0000", 1, 0},
		{"notify_url overrides server URL", true, true, "0000", 0, 1},
		{"notify_url without server URL", false, true, "0000", 0, 1},
		{"no URL, no notification", false, false, "0000", 0, 0},
		{"failed payment, no notification", true, true, "1101", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srvRcv, reqRcv := newReceiver(t, answer{200, "SUCCESS"}), newReceiver(t, answer{200, "SUCCESS"})
			s := notifyServer(t)
			if tc.serverURL {
				s.SetNotifyURL(srvRcv.URL)
			}
			params := payParams("U1", "800201")
			if tc.requestURL {
				params.Set("notify_url", reqRcv.URL+"/hook?x=1")
			}
			if tc.respcd != "0000" {
				params.Del("txamt")
			}
			if _, resp := send(t, s, signed(t, pathPayment, params, merchant)); resp["respcd"] != tc.respcd {
				t.Fatalf("respcd = %v", resp["respcd"])
			}
			waitIdle(t, s)
			if len(srvRcv.hits) != tc.wantServer || len(reqRcv.hits) != tc.wantReq {
				t.Fatalf("server URL got %d, notify_url got %d; want %d, %d",
					len(srvRcv.hits), len(reqRcv.hits), tc.wantServer, tc.wantReq)
			}
			if got := len(s.Deliveries()); got != tc.wantServer+tc.wantReq {
				t.Fatalf("%d deliveries", got)
			}
		})
	}
}

func TestNotifyByHand(t *testing.T) {
	rcv := newReceiver(t, answer{200, "SUCCESS"})
	s := notifyServer(t)
	syssn := pay(t, s, payParams("H1", "800201"), merchant)
	tests := []struct {
		name                  string
		setup                 func()
		appCode, syssn, nType string
		wantErr               bool
		wantDeliveries        int
	}{
		{"no URL set", func() {}, "APP1", syssn, "payment", true, 0},
		{"refund", func() { s.SetNotifyURL(rcv.URL) }, "APP1", syssn, "refund", false, 1},
		{"payment again", func() {}, "APP1", syssn, "payment", false, 2},
		{"unknown type", func() {}, "APP1", syssn, "cancel", true, 2},
		{"unknown syssn", func() {}, "APP1", "nope", "payment", true, 2},
		{"other app code", func() {}, "APP2", syssn, "payment", true, 2},
		{"after Close", s.Close, "APP1", syssn, "payment", true, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.setup()
			err := s.Notify(tc.appCode, tc.syssn, tc.nType)
			waitIdle(t, s)
			ds := s.Deliveries()
			if (err != nil) != tc.wantErr || len(ds) != tc.wantDeliveries {
				t.Fatalf("Notify = %v, %d deliveries; want error %v, %d", err, len(ds), tc.wantErr, tc.wantDeliveries)
			}
			if !tc.wantErr {
				last := ds[len(ds)-1]
				if last.NotifyType != tc.nType || !strings.Contains(string(last.Body), `"notify_type": "`+tc.nType+`"`) {
					t.Fatalf("last delivery = %+v", last)
				}
			}
		})
	}
}
