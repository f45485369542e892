package tests

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

func sha256Upper(s string) string {
	sum := sha256.Sum256([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// TestNotificationSignTypeIsTheMerchants: the merchant's sign_type
// decides how a notification is verified; a notification naming another
// hash in X-QF-SIGNTYPE is refused 401 rule sign_type, and one signed
// with another hash than the merchant's fails its signature (issue 22.2).
func TestNotificationSignTypeIsTheMerchants(t *testing.T) {
	v := loadNotifyVector(t)
	for _, merchant := range []string{"sha256", "md5"} {
		t.Run(merchant, func(t *testing.T) {
			app := newApplication(t)
			gw := notifyGatewayWith(t, v, app.URL, "mchid ZaMVg12345\n\t\t\tsign_type "+merchant, "")
			tests := []struct {
				name, hash, header string
				status             int
				rule               string
			}{
				{"md5 without header", "md5", "", map[string]int{"sha256": 401, "md5": 200}[merchant], map[string]string{"sha256": "signature"}[merchant]},
				{"md5 declared", "md5", "MD5", map[string]int{"sha256": 401, "md5": 200}[merchant], map[string]string{"sha256": "sign_type"}[merchant]},
				{"sha256 declared", "sha256", " sha256 ", map[string]int{"sha256": 200, "md5": 401}[merchant], map[string]string{"md5": "sign_type"}[merchant]},
				{"sha256 without header", "sha256", "", map[string]int{"sha256": 200, "md5": 401}[merchant], map[string]string{"md5": "signature"}[merchant]},
				{"unknown type declared", merchant, "SHA512", 401, "sign_type"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					n := withSyssn(v, "2026"+testvault.RandomID(8))
					sig := md5Upper(n.Body + n.ClientKey)
					if tt.hash == "sha256" {
						sig = sha256Upper(n.Body + n.ClientKey)
					}
					hdr := []string{"Content-Type", "application/json", "X-QF-SIGN", sig}
					if tt.header != "" {
						hdr = append(hdr, "X-QF-SIGNTYPE", tt.header)
					}
					before, _ := app.received()
					resp, body := gw.post(t, "/qfpay/notify", n.Body, hdr...)
					var got struct{ Rule string }
					_ = json.Unmarshal(body, &got)
					if resp.StatusCode != tt.status || got.Rule != tt.rule {
						t.Fatalf("got %d %s, want %d rule %q", resp.StatusCode, body, tt.status, tt.rule)
					}
					after, _ := app.received()
					if forwarded := len(after) - len(before); forwarded != map[bool]int{true: 1}[tt.status == 200] {
						t.Fatalf("application received %d", forwarded)
					}
				})
			}
		})
	}
}

// TestObserveSignTypeIsTheMerchants: observe mode compares with the
// merchant's sign_type: an application declaring another hash is
// reported (signature_mismatch, rule sign_type), and still forwarded
// unchanged, since sign mode would sign it, not refuse it.
func TestObserveSignTypeIsTheMerchants(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("obsst", "sign_type sha256"), `route /trade/v1/* {
		qfpay_gateway obsst {
			mode observe
		}
	}`)
	body := "txdtm=2026-12-01+10%3A00%3A00&txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=OBS-ST-" + testvault.RandomID(4)
	resp, got := gw.post(t, "/trade/v1/payment", body, append(appSigned(t, body, testAppCode, testKey), "X-QF-SIGNTYPE", "MD5")...)
	if resp.StatusCode != 200 || len(up.exchanges()) != 1 {
		t.Fatalf("got %d %s, %d forwarded", resp.StatusCode, got, len(up.exchanges()))
	}
	lines := gw.waitLogLines(t, `"msg":"observed"`, `"result":"signature_mismatch"`, `"field":"X-QF-SIGNTYPE"`, `"rule":"sign_type"`)
	if len(lines) != 1 {
		t.Fatalf("observed log lines: %v", lines)
	}
}
