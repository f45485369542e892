package signer

import (
	"testing"
	"time"
)

// benchBody is a ~140-byte seed payment form, the shape the load tests use.
var benchBody = []byte("txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=ORDER-20251117-000001&goods_name=%E6%B8%AC%E8%A9%A6&txdtm=2025-11-17+18%3A00%3A00")

func BenchmarkParseValidateSign(b *testing.B) {
	key := NewSecret("0123456789ABCDEF0123456789ABCDEF")
	pol := &Policy{MchID: "ZaMVg12345", Now: func() time.Time { return fixedNow }}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchBody)))
	for b.Loop() {
		p, err := ParseForm(benchBody, nil)
		if err != nil {
			b.Fatal(err)
		}
		if p, err = PaymentEndpoint.Validate(p, pol); err != nil {
			b.Fatal(err)
		}
		_ = p.Encode()
		_ = Sign(p, key, MD5)
	}
}

func BenchmarkSign(b *testing.B) {
	p, _ := ParseForm(benchBody, nil)
	key := NewSecret("0123456789ABCDEF0123456789ABCDEF")
	for _, st := range []SignType{MD5, SHA256} {
		b.Run(st.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = Sign(p, key, st)
			}
		})
	}
}

func BenchmarkParseForm(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseForm(benchBody, nil); err != nil {
			b.Fatal(err)
		}
	}
}
