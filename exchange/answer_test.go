package exchange

import (
	"encoding/json"
	"testing"
)

func TestDecodeAnswer(t *testing.T) {
	for _, tt := range []struct {
		name, body string
		want       Answer
	}{
		{"payment", `{"respcd":"0000","resperr":"success","syssn":"S1","pay_url":"https://x?a=1&b=\u0026"}`, Answer{"0000", "success", "S1"}},
		{"spaces and order", " {\n \"syssn\" : \"S2\" ,\"respcd\":\"1143\"}\n", Answer{Respcd: "1143", Syssn: "S2"}},
		{"nested values skipped", `{"data":[{"respcd":"9999"}],"x":{"respcd":"8888","s":"}"},"n":12.5,"b":true,"z":null,"respcd":"0000"}`, Answer{Respcd: "0000"}},
		{"escaped value", `{"resperr":"a \"quoted\" \u6e2c"}`, Answer{Resperr: `a "quoted" 測`}},
		{"escaped quote in key", `{"re\"spcd":"1","respcd":"2"}`, Answer{Respcd: "2"}},
		{"non-string respcd ignored", `{"respcd":1108,"syssn":"S3"}`, Answer{Syssn: "S3"}},
		// The hand-written scanner this replaces answered "1" here.
		{"malformed nested value", `{"a":[}, "respcd":"1"}`, Answer{}},
		{"duplicate key: the last wins", `{"respcd":"1143","respcd":"0000"}`, Answer{Respcd: "0000"}},
		{"not an object", `["respcd","0000"]`, Answer{}},
		{"truncated", `{"respcd":"0000","resperr":"succ`, Answer{}},
		{"garbage after value", `{"respcd":"0000" x}`, Answer{}},
		{"trailing data", `{"respcd":"0000"} {}`, Answer{}},
		{"empty", ``, Answer{}},
		{"html", `<html>502</html>`, Answer{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := DecodeAnswer([]byte(tt.body)); got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// FuzzDecodeAnswer: never panics, and anything that is not JSON gives
// an empty answer.
func FuzzDecodeAnswer(f *testing.F) {
	f.Add(`{"respcd":"0000","resperr":"success","syssn":"S1"}`)
	f.Add(`{"data":[{"respcd":"1"}],"respcd":"\u0030"}`)
	f.Add(`{"a":[}, "respcd":"1"}`)
	f.Fuzz(func(t *testing.T, body string) {
		got := DecodeAnswer([]byte(body))
		if !json.Valid([]byte(body)) && got != (Answer{}) {
			t.Fatalf("%q is not JSON, decoded %+v", body, got)
		}
	})
}

func BenchmarkDecodeAnswer(b *testing.B) {
	body := []byte(`{"respcd":"0000","respmsg":"","resperr":"success","syssn":"20251117000300020087033882","out_trade_no":"B-1","pay_type":"801101","txamt":"1500","txcurrcd":"HKD","pay_url":"https://openapi-int.qfapi.com/checkstand/alipay?syssn=20251117000300020087033882"}`)
	b.ReportAllocs()
	for b.Loop() {
		if DecodeAnswer(body).Respcd != "0000" {
			b.Fatal("respcd")
		}
	}
}
