package tests

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/qfpaytest"
)

// The request and notification shapes of public QFPay integrations,
// through the real Caddy. Each case names the integration it mirrors;
// the shapes are written from their documented behaviour.

// integrationCase is one request an integration sends to what used to
// be QFPay's base URL and is now qfsign.
type integrationCase struct {
	name  string
	build func(t *testing.T, base string) *http.Request
	// want: the fields QFPay must read when the request is accepted;
	// nil when it must be refused with status, field and rule.
	want        map[string]string
	status      int
	field, rule string
}

func newRequest(t *testing.T, method, target, ctype, body string, header ...string) *http.Request {
	t.Helper()
	var rd io.Reader
	if method != http.MethodGet {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// integrationRequests returns every case; mchid is the merchant's and
// now the current time in Hong Kong, as the integrations format txdtm.
func integrationRequests(mchid string) []integrationCase {
	now := time.Now().In(time.FixedZone("HKT", 8*3600)).Format("2006-01-02 15:04:05")
	var all []integrationCase
	for _, cases := range [][]integrationCase{
		qfpayGlobalCases(mchid, now), phpClientCases(mchid), omnipayCases(mchid, now), qfpayslimCases(mchid),
	} {
		all = append(all, cases...)
	}
	return all
}

// qfpayGlobalCases: the shapes of QFPay's own legacy samples
// (QFPay/QFPAY_Global, and the seed's Java).
func qfpayGlobalCases(mchid, now string) []integrationCase {
	return []integrationCase{
		{
			// QFPay/QFPAY_Global Code/Python/payment.py: requests.post(url,
			// headers={X-QF-APPCODE, X-QF-SIGN}, params=data): every field in the
			// query string, no body, the app's own (now empty) headers.
			// The sample predates txcurrcd being required; it is added here,
			// and the next case sends the sample's fields exactly.
			name: "QFPAY_Global Python requests.post(params=...)",
			build: func(t *testing.T, base string) *http.Request {
				q := pythonURLEncode([]kv{{"pay_type", "800207"}, {"out_trade_no", "INT-PY-1"}, {"txdtm", now},
					{"product_name", "香港測試：INT-PY-1"}, {"txamt", "10"}, {"txcurrcd", "HKD"}, {"mchid", mchid},
					{"sub_openid", "om3Tivln_Z8-ohW4lCiko50h3Svw"}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment?"+q, "", "", "X-QF-APPCODE", "", "X-QF-SIGN", "ABC")
			},
			want: map[string]string{"product_name": "香港測試：INT-PY-1", "txamt": "10", "mchid": mchid, "txdtm": now},
		},
		{
			// QFPAY_Global Code/Python/payment.py's fields exactly: no txcurrcd,
			// which QFPay's current API requires.
			name: "QFPAY_Global Python sample as written",
			build: func(t *testing.T, base string) *http.Request {
				q := pythonURLEncode([]kv{{"pay_type", "800207"}, {"out_trade_no", "INT-PY-2"}, {"txdtm", now}, {"txamt", "10"}, {"mchid", mchid}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment?"+q, "", "")
			},
			status: 400, field: "txcurrcd", rule: "required",
		},
		{
			// QFPay/QFPAY_Global Code/PHP/payment.php: a body concatenated from
			// "k=v&" with urlencode() on some values and txdtm raw, sent with
			// CURLOPT_POSTFIELDS as a string (curl's form Content-Type). Its
			// pay_type 800151 is retired and it sends no txcurrcd: both are
			// brought up to date here; the next case sends them as written.
			name: "QFPAY_Global PHP concatenated body, raw txdtm",
			build: func(t *testing.T, base string) *http.Request {
				body := phpConcat([]kv{{"mchid", url.QueryEscape(mchid)}, {"out_trade_no", "INTPHP000000000000001"},
					{"pay_type", "801101"}, {"txamt", "10"}, {"txcurrcd", "HKD"}, {"txdtm", now}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded", body,
					"X-QF-APPCODE", "123456", "X-QF-SIGN", "0123456789ABCDEF0123456789ABCDEF")
			},
			want: map[string]string{"txdtm": now, "pay_type": "801101", "mchid": mchid},
		},
		{
			// QFPAY_Global Code/PHP/payment.php's fields exactly.
			name: "QFPAY_Global PHP sample as written",
			build: func(t *testing.T, base string) *http.Request {
				body := phpConcat([]kv{{"mchid", mchid}, {"out_trade_no", "INTPHP000000000000002"},
					{"pay_type", "800151"}, {"txamt", "10"}, {"txdtm", now}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded", body)
			},
			status: 400, field: "pay_type", rule: "one_of",
		},
		{
			// The seed's Java sample (and QFPAY_Global's Java TestMain): the body
			// written unencoded to an HttpURLConnection, so a product name with a
			// literal '%' arrives as "50% off".
			name: "Java raw body with a literal percent",
			build: func(t *testing.T, base string) *http.Request {
				body := phpConcat([]kv{{"mchid", mchid}, {"out_trade_no", "INT-JAVA-1"}, {"pay_type", "801101"},
					{"txamt", "2000"}, {"txcurrcd", "HKD"}, {"txdtm", now}, {"product_name", "50% off 100%"}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded;charset=UTF-8", body)
			},
			want: map[string]string{"product_name": "50% off 100%", "txamt": "2000"},
		},
	}
}

// phpClientCases: the shapes of PHP clients built on curl and file_get_contents.
func phpClientCases(mchid string) []integrationCase {
	return []integrationCase{
		{
			// A PHP curl client passing an array as CURLOPT_POSTFIELDS: curl
			// sends multipart/form-data, one plain part per field.
			name: "PHP curl array POSTFIELDS (multipart)",
			build: func(t *testing.T, base string) *http.Request {
				var buf bytes.Buffer
				w := multipart.NewWriter(&buf)
				for _, f := range []kv{{"mchid", mchid}, {"out_trade_no", "INT-CURL-1"}, {"pay_type", "801512"},
					{"txamt", "300"}, {"txcurrcd", "HKD"}, {"goods_name", "Tea & cake"}, {"return_url", "https://shop.example/done?o=1"}} {
					_ = w.WriteField(f[0], f[1])
				}
				_ = w.Close()
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", w.FormDataContentType(), buf.String())
			},
			want: map[string]string{"goods_name": "Tea & cake", "return_url": "https://shop.example/done?o=1"},
		},
		{
			// A PHP integration polling the order status with
			// file_get_contents($base.'/trade/v1/query?out_trade_no='.$no).
			name: "PHP GET /trade/v1/query",
			build: func(t *testing.T, base string) *http.Request {
				return newRequest(t, http.MethodGet, base+"/trade/v1/query?out_trade_no=INT-CURL-1&mchid="+mchid, "", "")
			},
			want: map[string]string{"out_trade_no": "INT-CURL-1", "mchid": mchid},
		},
		{
			// A PHP client whose array keys were upper-cased by a framework
			// helper: TXAMT beside txamt would escape txamt's rule.
			name: "upper-case duplicate of txamt",
			build: func(t *testing.T, base string) *http.Request {
				body := "txamt=1&TXAMT=100000&txcurrcd=HKD&pay_type=801101&out_trade_no=INT-CASE-1&mchid=" + mchid
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded", body)
			},
			status: 400, field: "TXAMT", rule: "case",
		},
	}
}

// omnipayCases: the shapes of wjminions/omnipay-qfpay.
func omnipayCases(mchid, now string) []integrationCase {
	return []integrationCase{
		{
			// wjminions/omnipay-qfpay TradePurchaseRequest without a key: its
			// field set (plus txcurrcd, which QFPay now requires), ksort +
			// http_build_query, Content-Type ";charset=UTF-8" without a space.
			name: "omnipay-qfpay purchase field set",
			build: func(t *testing.T, base string) *http.Request {
				body := phpHTTPBuildQuery([]kv{{"mchid", mchid}, {"out_trade_no", "INT-OMNI-1"}, {"pay_type", "801107"},
					{"txamt", "1234"}, {"txcurrcd", "HKD"}, {"txdtm", now}, {"notify_url", "https://shop.example/qfpay/notify"},
					{"return_url", "https://shop.example/ok"}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded;charset=UTF-8", body)
			},
			want: map[string]string{"notify_url": "https://shop.example/qfpay/notify", "txamt": "1234"},
		},
		{
			// omnipay-qfpay with a key set: it adds its own "sign" field to the
			// form. A credential in the form is never signed or forwarded.
			name: "omnipay-qfpay with its sign field",
			build: func(t *testing.T, base string) *http.Request {
				body := phpHTTPBuildQuery([]kv{{"mchid", mchid}, {"out_trade_no", "INT-OMNI-2"}, {"pay_type", "801107"},
					{"txamt", "1234"}, {"txdtm", now}, {"sign", "0123456789ABCDEF0123456789ABCDEF"}})
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded;charset=UTF-8", body)
			},
			status: 400, field: "sign", rule: "forbidden",
		},
	}
}

// qfpayslimCases: the shapes of caiguanhao/qfpayslim (Go).
func qfpayslimCases(mchid string) []integrationCase {
	return []integrationCase{
		{
			// caiguanhao/qfpayslim MakePayment: url.Values.Encode() body, its own
			// X-QF-APPCODE, X-QF-SIGN and X-QF-SIGNTYPE: MD5, txdtm in UTC.
			name: "qfpayslim MakePayment",
			build: func(t *testing.T, base string) *http.Request {
				v := url.Values{"txamt": {"880"}, "txcurrcd": {"HKD"}, "pay_type": {"801512"}, "out_trade_no": {"INT-SLIM-1"},
					"goods_name": {"slim"}, "txdtm": {time.Now().UTC().Format("2006-01-02 15:04:05")}, "mchid": {mchid}}
				return newRequest(t, http.MethodPost, base+"/trade/v1/payment", "application/x-www-form-urlencoded", v.Encode(),
					"X-QF-APPCODE", "SLIM", "X-QF-SIGN", "FFFF", "X-QF-SIGNTYPE", "MD5")
			},
			want: map[string]string{"goods_name": "slim", "txamt": "880"},
		},
		{
			// caiguanhao/qfpayslim Query: out_trade_no as a comma-joined list.
			name: "qfpayslim Query with a list",
			build: func(t *testing.T, base string) *http.Request {
				v := url.Values{"out_trade_no": {"INT-SLIM-1,INT-CURL-1"}, "mchid": {mchid}}
				return newRequest(t, http.MethodPost, base+"/trade/v1/query", "application/x-www-form-urlencoded", v.Encode())
			},
			want: map[string]string{"out_trade_no": "INT-SLIM-1,INT-CURL-1"},
		},
	}
}

// TestIntegrationRequestShapes: each integration's request is accepted
// and signed over exactly what QFPay receives, or refused naming field
// and rule with nothing forwarded.
func TestIntegrationRequestShapes(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey, MchID: testMchID})
	gw := startGateway(t, up.URL, merchantBlock("shop", "mchid "+testMchID), `route /trade/v1/* {
		qfpay_gateway shop
	}`)
	for _, tc := range integrationRequests(testMchID) {
		t.Run(tc.name, func(t *testing.T) {
			before := up.double.Count()
			resp, body := gw.do(t, tc.build(t, gw.base))
			if tc.want != nil {
				checkForwarded(t, up, resp, body, tc.want)
				return
			}
			if resp.StatusCode != tc.status || !strings.Contains(string(body), `"field":"`+tc.field+`"`) ||
				!strings.Contains(string(body), `"rule":"`+tc.rule+`"`) {
				t.Fatalf("got %d %s, want %d field %s rule %s", resp.StatusCode, body, tc.status, tc.field, tc.rule)
			}
			if n := up.double.Count(); n != before {
				t.Fatalf("forwarded %d requests", n-before)
			}
		})
	}
}

// TestIntegrationObserveQfpayslim: qfpayslim, which signs for itself,
// goes through observe mode unchanged and is counted a match.
func TestIntegrationObserveQfpayslim(t *testing.T) {
	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	gw := startGateway(t, up.URL, merchantBlock("slim", ""), `route /trade/v1/* {
		qfpay_gateway slim {
			mode observe
		}
	}`)
	// qfpayslim's GenerateSign: "k=v" for each key, sorted, joined, key appended, %X of MD5.
	v := url.Values{"txamt": {"880"}, "txcurrcd": {"HKD"}, "pay_type": {"801512"}, "out_trade_no": {"INT-SLIM-OBS"},
		"goods_name": {"slim"}, "txdtm": {time.Now().UTC().Format("2006-01-02 15:04:05")}}
	sign := seedSign(t, []byte(v.Encode()), testKey)
	req := newRequest(t, http.MethodPost, gw.base+"/trade/v1/payment", "application/x-www-form-urlencoded", v.Encode(),
		"X-QF-APPCODE", testAppCode, "X-QF-SIGN", sign, "X-QF-SIGNTYPE", "MD5")
	resp, body := gw.do(t, req)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"respcd":"0000"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	got := up.exchanges()[0].req
	if string(got.Body) != v.Encode() || got.Header.Get("X-Qf-Sign") != sign || got.Header.Get("X-Qf-Signtype") != "MD5" {
		t.Fatalf("not forwarded unchanged: %q %v", got.Body, got.Header)
	}
	if lines := gw.waitLogLines(t, `"msg":"observed"`, `"result":"match"`); len(lines) != 1 {
		t.Fatalf("observed lines: %v", lines)
	}
}

// TestIntegrationNotifications: notification handlers of the public
// integrations behind qfsign.
func TestIntegrationNotifications(t *testing.T) {
	base := loadNotifyVector(t)
	tests := []struct {
		name, options, syssn string
		decide               func([]byte, http.Header) (int, string)
		acked                bool
	}{
		// Odoo's pos_qfpay controller verifies X-QF-SIGN over the raw body
		// itself: qfsign forwards QFPay's header and bytes, so it answers SUCCESS.
		{"Odoo pos_qfpay verifying X-QF-SIGN", "", "20200413000300020087500001", odooNotify(base.ClientKey), true},
		// With strip_signature Odoo's own check fails and it answers an
		// empty 200: QFPay is not told SUCCESS and retries.
		{"Odoo pos_qfpay with strip_signature", "strip_signature", "20200413000300020087500002", odooNotify(base.ClientKey), false},
		// QFPay's legacy PHP notify sample checks another formula and echoes
		// "签名错误" or lower-case "success": neither is QFPay's SUCCESS, so
		// QFPay retries exactly as it would without qfsign.
		{"QFPAY_Global PHP notify sample", "", "20200413000300020087500003", qfpayPHPNotify(base.ClientKey), false},
		// The same application under ack status_2xx: its 200 is taken.
		{"QFPAY_Global PHP notify sample, ack status_2xx", "ack status_2xx", "20200413000300020087500004", qfpayPHPNotify(base.ClientKey), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := withSyssn(base, tt.syssn)
			app := newNotifyApp(t, tt.decide)
			gw := notifyGatewayWith(t, v, app.URL, "", tt.options)
			for attempt := range 2 { // QFPay's first delivery and one retry
				resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5, "Content-Type", "application/json")
				if acked := resp.StatusCode == 200 && string(body) == "SUCCESS"; acked != tt.acked {
					t.Fatalf("attempt %d: QFPay got %d %q, want acknowledged = %v", attempt+1, resp.StatusCode, body, tt.acked)
				}
			}
			want := 2 // not acknowledged: the retry is forwarded again
			if tt.acked {
				want = 1 // acknowledged: the retry is answered from the record
			}
			if got := app.got(); len(got) != want {
				t.Fatalf("application answered %q, want %d deliveries", got, want)
			}
		})
	}
}
