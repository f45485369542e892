package tests

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

const seedForm = "txamt=1500&txcurrcd=hkd&pay_type=801101&out_trade_no=SEED-%s&goods_name=%E6%B8%AC%E8%A9%A6+test&return_url=https%3A%2F%2Fshop.example%2Fdone"

// seedSign is the seed's Python sample transcribed: sorted raw k=v joined
// by '&', key appended, MD5, upper-case hex. Independent of package signer.
func seedSign(t *testing.T, body []byte, key string) string {
	t.Helper()
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(vals))
	for k := range vals {
		names = append(names, k)
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, k+"="+vals.Get(k))
	}
	sum := md5.Sum([]byte(strings.Join(parts, "&") + key))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestPaymentSignedEndToEnd(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	for _, pt := range []string{"801101", "801107", "801501", "801512"} {
		t.Run(pt, func(t *testing.T) {
			form := strings.Replace(strings.Replace(seedForm, "%s", pt, 1), "801101", pt, 1)
			resp, body := gw.post(t, "/trade/v1/payment", form,
				"X-QF-SIGN", "FORGED", "X-Qf-Appcode", "EVIL", "X-QF-SIGNTYPE", "SHA256")
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			ex := up.exchanges()
			last := ex[len(ex)-1]
			if string(last.resp) != string(body) {
				t.Fatalf("caller got a different body than QFPay sent:\n%s\n%s", body, last.resp)
			}
			var ans map[string]string
			if err := json.Unmarshal(body, &ans); err != nil {
				t.Fatal(err)
			}
			if ans["respcd"] != "0000" || !strings.HasPrefix(ans["pay_url"], "https://") || ans["txcurrcd"] != "HKD" {
				t.Fatalf("QFPay answer: %s", body)
			}
			h := last.req.Header
			if h.Get("X-Qf-Appcode") != testAppCode || h.Get("X-Qf-Signtype") != "" {
				t.Errorf("upstream headers: %v", h)
			}
			if got, want := h.Get("X-Qf-Sign"), seedSign(t, last.req.Body, testKey); got != want || len(h["X-Qf-Sign"]) != 1 {
				t.Errorf("X-QF-SIGN = %v, seed sample computes %s", h["X-Qf-Sign"], want)
			}
			if !strings.Contains(string(last.req.Body), "txdtm=") {
				t.Errorf("txdtm not filled in: %s", last.req.Body)
			}
		})
	}
	lines := gw.waitLogLines(t, `"msg":"transaction"`, `"out_trade_no":"SEED-801512"`)
	if len(lines) != 1 {
		t.Fatalf("want one transaction line, got %d", len(lines))
	}
	for _, want := range []string{`"merchant":"shop"`, `"respcd":"0000"`, `"pay_type":"801512"`, `"txamt":"1500"`,
		`"status":200`, `"syssn":"2`, `"kid":"sha256:`, `"validate":`, `"upstream":`, `"total":`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
}

func TestSHA256AndMchID(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey, MchID: testMchID})
	gw := startGateway(t, up.URL, merchantBlock("hk", "sign_type sha256\n\t\t\tmchid "+testMchID), `route /trade/v1/* {
		qfpay_gateway hk
	}`)
	resp, body := gw.post(t, "/trade/v1/payment", "txamt=200&txcurrcd=HKD&pay_type=801512&out_trade_no=SHA-1")
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	last := up.exchanges()[0].req
	if last.Header.Get("X-Qf-Signtype") != "SHA256" || len(last.Header.Get("X-Qf-Sign")) != 64 {
		t.Errorf("headers %v", last.Header)
	}
	if !strings.Contains(string(last.Body), "mchid="+testMchID) {
		t.Errorf("mchid not set: %s", last.Body)
	}
	resp, body = gw.post(t, "/trade/v1/payment", "txamt=200&txcurrcd=HKD&pay_type=801512&out_trade_no=SHA-2&mchid=OTHER")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"rule":"mismatch"`) || len(up.exchanges()) != 1 {
		t.Errorf("foreign mchid: %d %s, upstream saw %d", resp.StatusCode, body, len(up.exchanges()))
	}
}

// TestQFPayRejectsWrongKey proves the double really verifies: a gateway
// holding another key gets 1108 from it.
func TestQFPayRejectsWrongKey(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: "another-key"})
	gw := startGateway(t, up.URL, merchantBlock("shop", ""), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	_, body := gw.post(t, "/trade/v1/payment", "txamt=200&txcurrcd=HKD&pay_type=801101&out_trade_no=K-1")
	if !strings.Contains(string(body), `"respcd":"1108"`) {
		t.Fatalf("want 1108, got %s", body)
	}
}
