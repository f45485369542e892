package caddymodule

import (
	"encoding/json"
	"testing"

	"github.com/qfsign/qfsign/signer"
)

func TestOrderHash(t *testing.T) {
	form := func(s string) signer.Params {
		p, err := signer.ParseForm([]byte(s), nil)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := orderHash("/trade/v1/payment", form("out_trade_no=A&txamt=1&txdtm=2026-01-01+00:00:00"))
	for _, tt := range []struct {
		name, path, form string
		same             bool
	}{
		{"new txdtm is the same order", "/trade/v1/payment", "out_trade_no=A&txamt=1&txdtm=2026-02-02+10:00:00", true},
		{"no txdtm is the same order", "/trade/v1/payment", "out_trade_no=A&txamt=1", true},
		{"other amount", "/trade/v1/payment", "out_trade_no=A&txamt=2", false},
		{"refund of the same number", "/trade/v1/refund", "out_trade_no=A&txamt=1", false},
		{"extra field", "/trade/v1/payment", "out_trade_no=A&txamt=1&udid=x", false},
		{"name/value boundary", "/trade/v1/payment", "out_trade_no=A&txamt=1&u=did", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := orderHash(tt.path, form(tt.form)) == base; got != tt.same {
				t.Fatalf("same = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestMergeRow(t *testing.T) {
	row := map[string]json.RawMessage{"respcd": json.RawMessage(`"0000"`), "syssn": json.RawMessage(`"S1"`),
		"txamt": json.RawMessage(`"1500"`), "cancel": json.RawMessage(`"0"`), "order_type": json.RawMessage(`"payment"`)}
	for _, tt := range []struct {
		name, base string
		want       map[string]string
	}{
		{name: "payment answer updated", base: `{"respcd":"1143","resperr":"paying","syssn":"S1","pay_url":"https://x"}`,
			want: map[string]string{"respcd": "0000", "syssn": "S1", "pay_url": "https://x", "cancel": "0", "order_type": ""}},
		{name: "no payment answer: the row", base: ``,
			want: map[string]string{"respcd": "0000", "txamt": "1500", "order_type": "payment"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got map[string]string
			if err := json.Unmarshal(mergeRow([]byte(tt.base), row), &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (%v)", k, got[k], v, got)
				}
			}
		})
	}
}

func TestParseAnswer(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       qfpayAnswer
	}{
		{"payment", `{"respcd":"0000","resperr":"success","syssn":"S1","pay_url":"https://x?a=1&b=\u0026"}`, qfpayAnswer{"0000", "success", "S1"}},
		{"spaces and order", " {\n \"syssn\" : \"S2\" ,\"respcd\":\"1143\"}\n", qfpayAnswer{Respcd: "1143", Syssn: "S2"}},
		{"nested values skipped", `{"data":[{"respcd":"9999"}],"x":{"respcd":"8888","s":"}"},"n":12.5,"b":true,"z":null,"respcd":"0000"}`, qfpayAnswer{Respcd: "0000"}},
		{"escaped value", `{"resperr":"a \"quoted\" \u6e2c"}`, qfpayAnswer{Resperr: `a "quoted" 測`}},
		{"escaped quote in key", `{"re\"spcd":"1","respcd":"2"}`, qfpayAnswer{Respcd: "2"}},
		{"non-string respcd ignored", `{"respcd":1108}`, qfpayAnswer{}},
		{"not an object", `["respcd","0000"]`, qfpayAnswer{}},
		{"truncated", `{"respcd":"0000","resperr":"succ`, qfpayAnswer{}},
		{"garbage after value", `{"respcd":"0000" x}`, qfpayAnswer{}},
		{"empty", ``, qfpayAnswer{}},
		{"html", `<html>502</html>`, qfpayAnswer{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseAnswer([]byte(tt.body)); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzParseAnswer: the scanner agrees with encoding/json on every
// well-formed object's top-level string fields, and never panics.
func FuzzParseAnswer(f *testing.F) {
	f.Add(`{"respcd":"0000","resperr":"success","syssn":"S1"}`)
	f.Add(`{"data":[{"respcd":"1"}],"respcd":"\u0030"}`)
	f.Fuzz(func(t *testing.T, body string) {
		got := parseAnswer([]byte(body))
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(body), &m) != nil {
			return
		}
		want := qfpayAnswer{}
		for k, dst := range map[string]*string{"respcd": &want.Respcd, "resperr": &want.Resperr, "syssn": &want.Syssn} {
			_ = json.Unmarshal(m[k], dst)
		}
		if got != want {
			t.Fatalf("%q: got %+v, encoding/json says %+v", body, got, want)
		}
	})
}

func TestOrderRecordRoundTrip(t *testing.T) {
	for _, rec := range []orderRecord{
		{State: "inflight", Hash: "abc", At: 1_800_000_000},
		{State: "done", Hash: "h", At: 1, Status: 200, Type: "application/json", Body: `{"a":"x|y|z"}`},
		{State: "done", Hash: "h", At: 1, Status: 200, Type: "text/plain", Body: ""},
	} {
		got, ok := decodeOrder(rec.encode())
		if !ok || got != rec {
			t.Errorf("%+v -> %+v (%v)", rec, got, ok)
		}
	}
	if got, _ := decodeOrder(orderRecord{Type: "a|b", Body: "x"}.encode()); got.Type != "" || got.Body != "x" {
		t.Errorf("a Content-Type with the separator must be dropped, not shift the body: %+v", got)
	}
	for _, bad := range []string{"", "inflight", `{"s":"done"}`, "2|done|h|1|200||x", "1|done|h|x|200||b", "1|done|h|1"} {
		if _, ok := decodeOrder(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}
