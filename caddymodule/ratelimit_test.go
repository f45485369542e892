package caddymodule

import (
	"strings"
	"testing"
)

func TestRateLimitBounds(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rl      *RateLimit
		wantErr string
	}{
		{name: "none", rl: nil},
		{name: "QFPay's own", rl: &RateLimit{PerSecond: 100, PerMinute: 400}},
		{name: "at the bound", rl: &RateLimit{PerMinute: maxRate}},
		{name: "over the bound", rl: &RateLimit{PerSecond: maxRate + 1}, wantErr: "between 0 and 100000, got 100001/s"},
		{name: "negative (JSON)", rl: &RateLimit{PerMinute: -1}, wantErr: "between 0 and 100000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := (&Merchant{name: "m", RateLimit: tt.rl}).provisionPolicy()
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
