package tests

import (
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// TestOutTradeNoCaseIsExact: out_trade_no values differing only in case
// are two orders to the guard, as documented in requests.md: each is
// sent once, and each repeat replays its own record (issue 22).
func TestOutTradeNoCaseIsExact(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("case", ""), `route /trade/v1/* {
		qfpay_gateway case
	}`)
	run := testvault.RandomID(3)
	var marks []string
	for _, otn := range []string{"ORDER-C" + run, "order-c" + run, "ORDER-C" + run, "order-c" + run} {
		resp, body := gw.post(t, "/trade/v1/payment", "txamt=100&txcurrcd=HKD&pay_type=801512&out_trade_no="+otn)
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"respcd":"0000"`) {
			t.Fatalf("%s: %d %s, want 0000 (the double answers a bad signature 200 with 1108)", otn, resp.StatusCode, body)
		}
		marks = append(marks, resp.Header.Get("X-Qfsign-Replayed"))
	}
	if len(up.exchanges()) != 2 || marks[0] != "" || marks[1] != "" || marks[2] != "true" || marks[3] != "true" {
		t.Fatalf("%d sent, replayed marks %q; want 2 sent, then both replayed", len(up.exchanges()), marks)
	}
}
