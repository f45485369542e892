package tests

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// appSigned is a request an application that still holds the key sends:
// its own X-QF-APPCODE and X-QF-SIGN (the seed's Python formula).
func appSigned(t *testing.T, body, appCode, key string) []string {
	return []string{"X-QF-APPCODE", appCode, "X-QF-SIGN", seedSign(t, []byte(body), key), "X-Qfsign-Verified", "forged"}
}

// TestObserveMode: the application's own signed request is forwarded
// byte for byte with its own headers; the gateway logs and counts what
// sign mode would have done, and never signs anything itself.
func TestObserveMode(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("obs", ""), `route /trade/v1/* {
		qfpay_gateway obs {
			mode observe
		}
	}`)
	wouldRefuse := "txdtm=2026-12-01+10%3A00%3A00&txamt=1600&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-3&goods_name=" + strings.Repeat("OBSVAL", 5)
	tests := []struct {
		name, body     string
		header         []string
		respcd, result string
		field, rule    string
	}{
		{name: "signed with the merchant's key", body: "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-1",
			header: appSigned(t, "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-1", testAppCode, testKey),
			respcd: "0000", result: "match"},
		{name: "signed with another key", body: "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-2",
			header: appSigned(t, "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-2", testAppCode, "OLD-KEY"),
			respcd: "1108", result: "signature_mismatch"},
		{name: "sign mode would refuse goods_name", body: wouldRefuse, header: appSigned(t, wouldRefuse, testAppCode, testKey),
			respcd: "0000", result: "would_refuse", field: "goods_name", rule: "max_length"},
		{name: "another app code", body: "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-4",
			header: appSigned(t, "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-4", "OTHER-APP", testKey),
			respcd: "1150", result: "appcode_mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.double.Count()
			resp, body := gw.post(t, "/trade/v1/payment", tt.body, tt.header...)
			if resp.StatusCode != 200 || !strings.Contains(string(body), `"respcd":"`+tt.respcd+`"`) {
				t.Fatalf("got %d %s, want respcd %s", resp.StatusCode, body, tt.respcd)
			}
			ex := up.exchanges()
			if len(ex) != before+1 {
				t.Fatalf("upstream saw %d new requests", len(ex)-before)
			}
			got := ex[len(ex)-1].req
			want := http.Header{}
			for i := 0; i+1 < len(tt.header); i += 2 {
				want.Set(tt.header[i], tt.header[i+1])
			}
			if string(got.Body) != tt.body || got.Header.Get("X-Qf-Sign") != want.Get("X-Qf-Sign") ||
				got.Header.Get("X-Qf-Appcode") != want.Get("X-Qf-Appcode") || got.Header.Get("X-Qfsign-Verified") != "" {
				t.Fatalf("not forwarded unchanged: body %q, headers %v", got.Body, got.Header)
			}
			lines := gw.waitLogLines(t, `"msg":"observed"`, `"result":"`+tt.result+`"`, `"field":"`+tt.field+`"`, `"rule":"`+tt.rule+`"`)
			if len(lines) != 1 {
				t.Fatalf("observed log lines: %v", lines)
			}
		})
	}
	if logs := string(gw.logs(t)); strings.Contains(logs, "OBSVAL") {
		t.Error("a value reached the log")
	}
	metrics := adminMetrics(t)
	for _, result := range []string{"match", "signature_mismatch", "would_refuse", "appcode_mismatch"} {
		if !strings.Contains(metrics, `qfsign_observe_total{merchant="obs",result="`+result+`"} 1`) {
			t.Errorf("metrics lack observe_total for %s", result)
		}
	}
}

// TestObserveModeRefuses: observe mode forwards nothing it cannot vouch
// was signed by the application, nor any path the gateway does not sign.
func TestObserveModeRefuses(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("obs2", ""), `route /trade/v1/* {
		qfpay_gateway obs2 {
			mode observe
			max_body 512
		}
	}`)
	body := "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-R"
	for _, tt := range []struct {
		name, path, body string
		header           []string
		status           int
		field, rule      string
	}{
		{"unsigned", "/trade/v1/payment", body, []string{"X-QF-APPCODE", testAppCode}, 400, "X-QF-SIGN", "required"},
		{"no app code", "/trade/v1/payment", body, []string{"X-QF-SIGN", seedSign(t, []byte(body), testKey)}, 400, "X-QF-APPCODE", "required"},
		{"unsigned path", "/trade/v1/anything", body, appSigned(t, body, testAppCode, testKey), 404, "", "path"},
		{"body too large", "/trade/v1/payment", body + "&goods_name=" + strings.Repeat("x", 600), appSigned(t, body, testAppCode, testKey), 413, "", "max_body"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, got := gw.post(t, tt.path, tt.body, tt.header...)
			if resp.StatusCode != tt.status || !strings.Contains(string(got), `"rule":"`+tt.rule+`"`) ||
				(tt.field != "" && !strings.Contains(string(got), `"field":"`+tt.field+`"`)) {
				t.Fatalf("got %d %s, want %d field %q rule %q", resp.StatusCode, got, tt.status, tt.field, tt.rule)
			}
		})
	}
	if n := up.double.Count(); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
	if !strings.Contains(adminMetrics(t), `qfsign_observe_total{merchant="obs2",result="refused"} 4`) {
		t.Error("refusals not counted")
	}
}

// TestObserveModeBuildsTheRequest: observe mode forwards the
// application's fields and its own QFPay headers, and nothing else of
// the caller's (cookies, tokens, forwarding and idempotency headers).
func TestObserveModeBuildsTheRequest(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("obs", ""), `route /trade/v1/* {
		qfpay_gateway obs {
			mode observe
		}
	}`)
	body := "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-H1"
	header := append(appSigned(t, body, testAppCode, testKey),
		"Cookie", "session=s3cr3t", "Authorization", "Bearer app-token", "Forwarded", "for=10.0.0.1",
		"X-Forwarded-For", "10.0.0.2", "Idempotency-Key", "k1", "User-Agent", "shop/1.0")
	if resp, b := gw.post(t, "/trade/v1/payment", body, header...); resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, b)
	}
	ex := up.exchanges()
	got := ex[len(ex)-1].req
	var names []string
	for k := range got.Header {
		names = append(names, k)
	}
	want := "Content-Length,Content-Type,User-Agent,X-Qf-Appcode,X-Qf-Sign"
	if s := strings.Join(slices.Sorted(slices.Values(names)), ","); s != want || string(got.Body) != body {
		t.Errorf("QFPay saw headers %s (want exactly %s), body %q", s, want, got.Body)
	}
}
