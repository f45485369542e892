package tests

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testvault"
)

// A correctly signed notification that names syssn twice means two things
// (encoding/json keeps the last, other parsers the first): refused with
// 400 rule json, and the application gets nothing.
func TestNotificationDuplicateKeysRefused(t *testing.T) {
	v := loadNotifyVector(t)
	if !strings.HasPrefix(v.Body, "{") {
		t.Fatalf("vector body is not an object: %.40s", v.Body)
	}
	app := newApplication(t)
	gw := notifyGateway(t, v, app)
	for name, body := range map[string]string{
		"other value first": `{"syssn": "99999999999999999999", ` + v.Body[1:],
		"same value twice":  `{"syssn": "20200413000300020087033882", ` + v.Body[1:],
	} {
		t.Run(name, func(t *testing.T) {
			resp, got := gw.post(t, "/qfpay/notify", body, "Content-Type", "application/json", "X-QF-SIGN", md5Upper(body+v.ClientKey))
			if resp.StatusCode != 400 || !strings.Contains(string(got), `"rule":"json"`) {
				t.Fatalf("got %d %s, want 400 rule json", resp.StatusCode, got)
			}
			if n, _ := app.received(); len(n) != 0 {
				t.Fatalf("application received %d", len(n))
			}
		})
	}
}

// TestNotificationFoldedKeysThroughExample: the probe's notifications,
// signed with the merchant's key, through Caddyfile.example and the built
// binary (issue 22.3). Keys encoding/json takes for one field are
// refused like a duplicate; syssn and notify_type that joined with ':'
// would make one dedupe key are two notifications.
func TestNotificationFoldedKeysThroughExample(t *testing.T) {
	app := newApplication(t)
	listen, logs := startExample(t, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey,
		"QFSIGN_NOTIFY_TO="+strings.TrimPrefix(app.URL, "http://"))
	post := func(body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "http://"+listen+"/qfpay/notify", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-QF-SIGN", md5Upper(body+testKey))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	run := testvault.RandomID(4)
	for _, body := range []string{
		`{"syssn":"C1` + run + `","SYSSN":"C2` + run + `","notify_type":"payment","txamt":"100"}`,
		`{"syssn":"C1` + run + `","ſyssn":"C3` + run + `","notify_type":"payment","txamt":"100"}`,
		`{"notify_type":"payment","syssn":"C1` + run + `","\u212Aey":"1","key":"2"}`,
	} {
		if status, got := post(body); status != 400 || !strings.Contains(got, `"rule":"json"`) {
			t.Errorf("%s: %d %s, want 400 rule json\n%s", body, status, got, tail(logs.String(), 2000))
		}
	}
	if got, _ := app.received(); len(got) != 0 {
		t.Fatalf("application received %d: %v", len(got), got)
	}
	first := `{"syssn":"a:b","notify_type":"c` + run + `"}`
	second := `{"syssn":"a","notify_type":"b:c` + run + `"}`
	for _, body := range []string{first, second} {
		if status, got := post(body); status != 200 || got != "SUCCESS" {
			t.Fatalf("%s: %d %s\n%s", body, status, got, tail(logs.String(), 2000))
		}
	}
	if got, _ := app.received(); len(got) != 2 || got[0] != first || got[1] != second {
		t.Fatalf("application received %d notifications, want both: %v", len(got), got)
	}
}
