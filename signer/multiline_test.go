package signer

import "testing"

// Line breaks are refused in single-line fields, wherever they come
// from, and kept in the JSON-text fields QFPay documents.
func TestLineBreaksOnlyInJSONTextFields(t *testing.T) {
	base := "txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=A-1&"
	for _, tt := range []struct {
		name, extra string
		wantField   string
	}{
		{"extend_info JSON with a newline", "extend_info=%7B%0A%22a%22%3A1%7D", ""},
		{"goods_info with a tab", "goods_info=a%09b", ""},
		{"pay_tag with CR", "pay_tag=A%0D", "pay_tag"},
		{"udid with LF", "udid=a%0Ab", "udid"},
		{"goods_name with CRLF", "goods_name=a%0D%0Ab", "goods_name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseForm([]byte(base+tt.extra), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = PaymentEndpoint.Validate(p, &Policy{})
			fe, _ := AsFieldError(err)
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantField != "" && (fe == nil || fe.Field != tt.wantField || fe.Rule != RuleControl):
				t.Fatalf("err = %v, want %s/%s", err, tt.wantField, RuleControl)
			}
		})
	}
}
