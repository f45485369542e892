package tests

import (
	"strings"
	"testing"
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
