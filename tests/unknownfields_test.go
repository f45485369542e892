package tests

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// TestUnknownFieldsOperatorsChoice: the probe's fields (code=X,
// sign_type=sha256, a.b) through Caddyfile.example and the built binary
// (issue 22.5). pass signs them as sent; refuse answers 400
// unknown_field naming the first; either way the names (never values)
// are logged and counted.
func TestUnknownFieldsOperatorsChoice(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	const unknown = "&code=UNKVALUE&sign_type=sha256&a.b=UNKVALUE&extend_info=%7B%7D&product_name=x"
	for _, tt := range []struct {
		choice, action string
		status         int
	}{
		{"pass", "passed", 200},
		{"refuse", "refused", 400},
	} {
		t.Run(tt.choice, func(t *testing.T) {
			listen, logs := startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey,
				"QFSIGN_UNKNOWN_FIELDS="+tt.choice)
			before := len(up.exchanges())
			form := "txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no=UNK-" + testvault.RandomID(4) + unknown
			resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var got struct{ Field, Rule string }
			_ = json.Unmarshal(b, &got)
			sent := len(up.exchanges()) - before
			switch {
			case resp.StatusCode != tt.status:
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.status)
			case tt.status == 400 && (got.Field != "a.b" || got.Rule != "unknown_field" || sent != 0):
				t.Fatalf("refusal %s, %d sent; want field a.b rule unknown_field, none sent", b, sent)
			case tt.status == 200 && (sent != 1 || !strings.Contains(string(up.exchanges()[before].req.Body), "sign_type=sha256") ||
				!strings.Contains(string(b), `"respcd":"0000"`)):
				t.Fatalf("%d sent, answer %s; want the unknown fields signed as sent and QFPay's 0000", sent, b)
			}
			waitLog(t, logs, `"unknown_fields":["a.b","code","sign_type"],"unknown_count":3`)
			if strings.Contains(logs.String(), "UNKVALUE") {
				t.Error("a value of an unknown field reached the log")
			}
			metrics := scrape(t, "http://"+listen+"/metrics")
			if want := `qfsign_unknown_fields_total{action="` + tt.action + `",endpoint="/trade/v1/payment",merchant="default"}`; metrics[want] != 3 {
				t.Errorf("%s = %v, want 3", want, metrics[want])
			}
			for series := range metrics {
				if strings.Contains(series, `endpoint=""`) {
					t.Errorf(`metrics carry a series with endpoint="": %s`, series)
				}
			}
		})
	}
}

// TestUnknownFieldsObserved: observe mode forwards the application's
// request unchanged and reports would_refuse for an unknown field under
// refuse (issue 22.5).
func TestUnknownFieldsObserved(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("obsunk", ""), `route /trade/v1/* {
		qfpay_gateway obsunk {
			mode observe
			unknown_fields refuse
		}
	}`)
	body := "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-UNK-" + testvault.RandomID(4) + "&zz=1"
	resp, got := gw.post(t, "/trade/v1/payment", body, appSigned(t, body, testAppCode, testKey)...)
	if resp.StatusCode != 200 || len(up.exchanges()) != 1 {
		t.Fatalf("got %d %s, %d forwarded", resp.StatusCode, got, len(up.exchanges()))
	}
	lines := gw.waitLogLines(t, `"msg":"observed"`, `"result":"would_refuse"`, `"field":"zz"`, `"rule":"unknown_field"`, `"unknown_fields":["zz"]`)
	if len(lines) != 1 {
		t.Fatalf("observed log lines: %v", lines)
	}
}
