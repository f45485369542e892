package caddymodule

import "testing"

func TestDuplicateKey(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"distinct", `{"syssn":"1","txamt":"300"}`, false},
		{"top-level twice", `{"syssn":"1","txamt":"300","syssn":"2"}`, true},
		{"same value twice", `{"syssn":"1","syssn":"1"}`, true},
		{"nested twice", `{"a":{"b":1,"b":2}}`, true},
		{"in an array", `{"a":[{"b":1},{"b":2,"b":3}]}`, true},
		{"same key in sibling objects", `{"a":{"b":1},"c":{"b":2}}`, false},
		{"key equal to a value", `{"a":"b","b":"a"}`, false},
		{"after a nested object", `{"a":{"x":1},"a":2}`, true},
		{"after an array", `{"a":[1,2],"a":2}`, true},
		{"empty object", `{}`, false},
		{"invalid", `{"a":`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := duplicateKey([]byte(tc.body)); got != tc.want {
				t.Fatalf("duplicateKey(%s) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// TestDuplicateKeyFolded: keys encoding/json would match to the same
// field are duplicates (issue 22.3).
func TestDuplicateKeyFolded(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       bool
	}{
		{"upper case", `{"syssn":"C1","SYSSN":"C2"}`, true},
		{"mixed case", `{"syssn":"C1","SysSn":"C1"}`, true},
		{"long s folds to s", `{"syssn":"C1","ſyssn":"C2"}`, true},
		{"kelvin folds to k", `{"kind":"a","\u212aind":"b"}`, true},
		{"escaped upper case", `{"syssn":"C1","\u0053YSSN":"C2"}`, true},
		{"nested", `{"a":{"b":1,"B":2}}`, true},
		{"distinct", `{"syssn":"C1","syssn2":"C2"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := duplicateKey([]byte(tc.body)); got != tc.want {
				t.Fatalf("duplicateKey(%s) = %v, want %v", tc.body, got, tc.want)
			}
		})
	}
}

// TestDecodeNotificationExactNames: fields are read by their exact
// names; a key that only folds to one is not QFPay's field.
func TestDecodeNotificationExactNames(t *testing.T) {
	for _, tc := range []struct {
		name, body, syssn string
		ok                bool
	}{
		{"exact", `{"syssn":"C1","notify_type":"payment"}`, "C1", true},
		{"only upper case", `{"SYSSN":"C2","notify_type":"payment"}`, "", true},
		{"only long s", `{"ſyssn":"C3","notify_type":"payment"}`, "", true},
		{"number", `{"syssn":1}`, "", false},
		{"not an object", `["syssn"]`, "", false},
		{"null", `null`, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, ok := decodeNotification([]byte(tc.body))
			if ok != tc.ok || n.Syssn != tc.syssn {
				t.Fatalf("got %+v %v, want syssn %q ok %v", n, ok, tc.syssn, tc.ok)
			}
		})
	}
}

// TestDedupeKeyCannotCollide: syssn and notify_type joined with ':'
// could make two notifications one; fields without ':' keep the key
// earlier versions stored.
func TestDedupeKeyCannotCollide(t *testing.T) {
	a := dedupeKey("m", notification{Syssn: "a:b", NotifyType: "c"})
	b := dedupeKey("m", notification{Syssn: "a", NotifyType: "b:c"})
	if a == b {
		t.Fatalf("collide: %q", a)
	}
	if got := dedupeKey("m", notification{Syssn: "123", NotifyType: "payment"}); got != "notify:m:123:payment" {
		t.Fatalf("plain key %q changed", got)
	}
	if got := dedupeKey("m", notification{Syssn: "lp", NotifyType: "5:x:y"}); got == dedupeKey("m", notification{Syssn: "x", NotifyType: "y"}) {
		t.Fatalf("collide: %q", got)
	}
}
