package caddymodule

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
)

// decodeNotification reads QFPay's fields from a notification body, each
// exactly once: a body with two keys that encoding/json would take for
// the same field (same letters in another case, or folded like ſ and s,
// or K and k) is refused like a duplicate, and the fields are then read
// by their exact names, never by encoding/json's case-insensitive match.
func decodeNotification(body []byte) (notification, bool) {
	var n notification
	if duplicateKey(body) {
		return n, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return n, false
	}
	for name, dst := range map[string]*string{
		"syssn": &n.Syssn, "notify_type": &n.NotifyType, "out_trade_no": &n.OutTradeNo,
		"txamt": &n.Txamt, "mchid": &n.MchID,
	} {
		if raw, ok := m[name]; ok && json.Unmarshal(raw, dst) != nil {
			return n, false
		}
	}
	return n, true
}

// dedupeKey names a notification in the store. Fields without ':' keep
// the key earlier versions wrote (acknowledgements survive an upgrade);
// otherwise syssn is length-prefixed, so "a:b"+"c" and "a"+"b:c" differ.
func dedupeKey(merchant string, n notification) string {
	if !strings.Contains(n.Syssn, ":") && !strings.Contains(n.NotifyType, ":") {
		return "notify:" + merchant + ":" + n.Syssn + ":" + n.NotifyType
	}
	return "notify:" + merchant + ":lp:" + strconv.Itoa(len(n.Syssn)) + ":" + n.Syssn + ":" + n.NotifyType
}

// foldKey is a JSON object key as encoding/json matches it against a
// field name: every rune lowered, then uppered (its foldName).
func foldKey(k string) string {
	return strings.Map(func(r rune) rune { return unicode.ToUpper(unicode.ToLower(r)) }, k)
}
