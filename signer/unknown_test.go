package signer

import "testing"

func TestUnknown(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ep      *Endpoint
		field   string
		unknown bool
	}{
		{"a payment field", PaymentEndpoint, "txamt", false},
		{"mchid", PaymentEndpoint, "mchid", false},
		{"documented optional", PaymentEndpoint, "extend_info", false},
		{"QFPay's Python sample", PaymentEndpoint, "product_name", false},
		{"credential name (refused by Validate)", PaymentEndpoint, "Sign", false},
		{"known field in another case (refused by Validate)", PaymentEndpoint, "TXAMT", false},
		{"invented", PaymentEndpoint, "a.b", true},
		{"sign_type in the form", PaymentEndpoint, "sign_type", true},
		{"add_note's code on payment", PaymentEndpoint, "code", true},
		{"another endpoint's field", PaymentEndpoint, "note", true},
		{"optional payment field on refund", RefundEndpoint, "pay_tag", true},
		{"add_note's note", AddNoteEndpoint, "note", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.ep.Unknown(tc.field); got != tc.unknown {
				t.Fatalf("%s.Unknown(%q) = %v, want %v", tc.ep.Path, tc.field, got, tc.unknown)
			}
		})
	}
}
