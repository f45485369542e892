package tests

import (
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestCaseVariantNames: a known field's name in another case is refused
// with rule case and nothing is forwarded (PHP's and Java's form readers
// may take TXAMT where QFPay reads txamt); the name reaches the JSON
// answer but never a metric label.
func TestCaseVariantNames(t *testing.T) {
	const mchid = "MCH-CASE-01"
	runRefusals(t, []refusalCase{
		{"TXAMT beside txamt", "", "", "", okForm + "&TXAMT=100000", 400, "TXAMT", "case"},
		{"Txamt alone", "", "", "", "Txamt=1&txcurrcd=HKD&pay_type=801101&out_trade_no=R-1", 400, "Txamt", "case"},
		{"MCHID without a configured mchid", "", "", "", okForm + "&MCHID=" + mchid, 400, "MCHID", "case"},
		{"Mchid", "", "", "", okForm + "&Mchid=" + mchid, 400, "Mchid", "case"},
		{"Sign", "", "", "", okForm + "&Sign=ABC", 400, "Sign", "case"},
		{"Out_Trade_No empty", "", "", "", okForm + "&Out_Trade_No=", 400, "Out_Trade_No", "case"},
		{"REFUND Syssn", "", "/trade/v1/refund", "", "syssn=S&Syssn=T&out_trade_no=RF-9&txamt=1", 400, "Syssn", "case"},
	})
	metrics := adminMetrics(t)
	if !strings.Contains(metrics, `field="other",merchant="shop",rule="case"`) {
		t.Errorf("no case refusal counted under field other")
	}
	for _, name := range []string{"TXAMT", "Txamt", "MCHID", "Mchid", "Sign", "Out_Trade_No", "Syssn"} {
		if strings.Contains(metrics, `field="`+name+`"`) {
			t.Errorf("metric label carries the caller's name %s", name)
		}
	}
}

// TestCaseVariantNamesWithMchID: with a configured mchid, MCHID carrying
// another merchant's id is refused, not signed beside the merchant's own.
func TestCaseVariantNamesWithMchID(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey, MchID: testMchID})
	gw := startGateway(t, up.URL, merchantBlock("shop", "mchid "+testMchID), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	resp, body := gw.post(t, "/trade/v1/payment", okForm+"&MCHID=OTHER-MCH")
	if resp.StatusCode != 400 || !strings.Contains(string(body), `"field":"MCHID"`) || !strings.Contains(string(body), `"rule":"case"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if n := up.double.Count(); n != 0 {
		t.Fatalf("upstream saw %d requests", n)
	}
}
