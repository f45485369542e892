package caddymodule

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

// TestEdgeOptionsParse: the options issue 22 added (max_fields,
// unknown_fields, listener_rate_limit, store max_bytes, qfpay_host).
func TestEdgeOptionsParse(t *testing.T) {
	g := new(Gateway)
	err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`qfpay_gateway hk {
		max_fields 32
		unknown_fields refuse
		listener_rate_limit 5/s,20/m
	}`))
	if err != nil || g.MaxFields != 32 || g.UnknownFields != unknownRefuse || g.ListenerRateLimit == nil ||
		g.ListenerRateLimit.PerSecond != 5 || g.ListenerRateLimit.PerMinute != 20 {
		t.Fatalf("parsed %+v, %v", g, err)
	}
	for input, want := range map[string]string{
		"qfpay_gateway hk { max_fields 0 }":              "max_fields must be a positive number",
		"qfpay_gateway hk { max_fields }":                "wrong argument count",
		"qfpay_gateway hk { unknown_fields drop }":       "unknown_fields must be pass or refuse",
		"qfpay_gateway hk { listener_rate_limit 5/h }":   "unit must be s or m",
		"qfpay_gateway hk { listener_rate_limit a b c }": "wrong argument count",
	} {
		h := httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(ml(input))}
		if _, err := parseGateway(h); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: err = %v, want %q", input, err, want)
		}
	}
	if err := (&Gateway{ListenerRateLimit: &RateLimit{PerSecond: -1}}).Validate(); err == nil || !strings.Contains(err.Error(), "listener_rate_limit") {
		t.Errorf("negative listener_rate_limit: %v", err)
	}
	a := new(App)
	if err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser("qfpay {\nstore file {\nmax_bytes 4096\n}\n}")); err != nil || a.Store.MaxBytes != 4096 {
		t.Fatalf("max_bytes: %+v %v", a.Store, err)
	}
	for _, input := range []string{"qfpay {\nstore file {\nmax_bytes 0\n}\n}", "qfpay {\nstore file {\nmax_bytes 1G\n}\n}"} {
		if err := new(App).UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err == nil || !strings.Contains(err.Error(), "max_bytes must be a positive number") {
			t.Errorf("%q: err = %v", input, err)
		}
	}
}

// TestHostCheck: which Host values qfpay_host serves.
func TestHostCheck(t *testing.T) {
	h := &HostCheck{Names: []string{"Pay.Internal", "[fd00::1]"}}
	if err := h.Provision(caddy.Context{}); err != nil {
		t.Fatal(err)
	}
	for host, want := range map[string]int{
		"localhost:8080": 0, "LOCALHOST": 0, "127.0.0.1": 0, "127.1.2.3:80": 0, "[::1]:8080": 0, "[::ffff:127.0.0.1]:1": 0,
		"pay.internal:8080": 0, "[fd00::1]:8080": 0,
		"": 400, "shop.example": 421, "localhost.shop.example": 421, "127.0.0.1.nip.io": 421, "[::2]": 421, "10.0.0.1:8080": 421,
	} {
		got := 0
		if rf := h.check(host); rf != nil {
			got = rf.Status
			if rf.Rule != ruleHost || rf.Field != "Host" {
				t.Errorf("%q: %+v", host, rf)
			}
		}
		if got != want {
			t.Errorf("%q: %d, want %d", host, got, want)
		}
	}
	if err := (&HostCheck{Names: []string{"http://pay.internal"}}).Provision(caddy.Context{}); err == nil {
		t.Error("a URL accepted as a host name")
	}
}
