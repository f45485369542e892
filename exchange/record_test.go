package exchange

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
	base := OrderHash("/trade/v1/payment", form("out_trade_no=A&txamt=1&txdtm=2026-01-01+00:00:00"))
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
			if got := OrderHash(tt.path, form(tt.form)) == base; got != tt.same {
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

func TestRecordRoundTrip(t *testing.T) {
	for _, rec := range []Record{
		{State: "inflight", Hash: "abc", At: 1_800_000_000},
		{State: "done", Hash: "h", At: 1, Status: 200, Type: "application/json", Body: `{"a":"x|y|z"}`},
		{State: "done", Hash: "h", At: 1, Status: 200, Type: "text/plain", Body: ""},
	} {
		got, ok := DecodeRecord(rec.Encode())
		if !ok || got != rec {
			t.Errorf("%+v -> %+v (%v)", rec, got, ok)
		}
	}
	if got, _ := DecodeRecord(Record{Type: "a|b", Body: "x"}.Encode()); got.Type != "" || got.Body != "x" {
		t.Errorf("a Content-Type with the separator must be dropped, not shift the body: %+v", got)
	}
	for _, bad := range []string{"", "inflight", `{"s":"done"}`, "2|done|h|1|200||x", "1|done|h|x|200||b", "1|done|h|1"} {
		if _, ok := DecodeRecord(bad); ok {
			t.Errorf("%q decoded", bad)
		}
	}
}
