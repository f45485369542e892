package caddymodule

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestSignSafetyOptionsParse(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
		want                 SignHandler
	}{
		{name: "all", input: `qfpay_sign hk {
			endpoints /trade/v1/payment /trade/v1/query
			order_ttl 720h
			on_store_error allow
			resolve_pending 20s 4s
		}`, want: SignHandler{Endpoints: []string{"/trade/v1/payment", "/trade/v1/query"}, OrderTTL: caddy.Duration(720 * time.Hour),
			OnStoreError: "allow", ResolvePending: &ResolvePending{MaxWait: caddy.Duration(20 * time.Second), Interval: caddy.Duration(4 * time.Second)}}},
		{name: "resolve_pending max only", input: `qfpay_sign hk { resolve_pending 10s }`,
			want: SignHandler{ResolvePending: &ResolvePending{MaxWait: caddy.Duration(10 * time.Second)}}},
		{name: "resolve_pending off", input: `qfpay_sign hk { resolve_pending off }`},
		{name: "strict_escapes", input: `qfpay_sign hk { strict_escapes }`, want: SignHandler{StrictEscapes: true}},
		{name: "mode observe", input: `qfpay_sign hk { mode observe }`, want: SignHandler{Mode: "observe"}},
		{name: "mode sign", input: `qfpay_sign hk { mode sign }`, want: SignHandler{Mode: "sign"}},
		{name: "mode other", input: `qfpay_sign hk { mode shadow }`, wantErr: "mode must be sign or observe"},
		{name: "mode none", input: `qfpay_sign hk { mode }`, wantErr: "wrong argument count"},
		{name: "strict_escapes with an argument", input: `qfpay_sign hk { strict_escapes on }`, wantErr: "wrong argument count"},
		{name: "resolve_pending empty (unset env)", input: `qfpay_sign hk { resolve_pending }`},
		{name: "resolve_pending bad", input: `qfpay_sign hk { resolve_pending soon }`, wantErr: `positive duration, got "soon"`},
		{name: "resolve_pending three", input: `qfpay_sign hk { resolve_pending 1s 1s 1s }`, wantErr: "wrong argument count"},
		{name: "on_store_error other", input: `qfpay_sign hk { on_store_error maybe }`, wantErr: "refuse or allow"},
		{name: "on_store_error none", input: `qfpay_sign hk { on_store_error }`, wantErr: "wrong argument count"},
		{name: "endpoints none", input: `qfpay_sign hk { endpoints }`, wantErr: "wrong argument count"},
		{name: "order_ttl bad", input: `qfpay_sign hk { order_ttl 0s }`, wantErr: "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := new(SignHandler)
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(tt.input)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			tt.want.Merchant = "hk"
			if err != nil || !reflect.DeepEqual(*h, tt.want) {
				t.Fatalf("got %+v (%v), want %+v", h, err, tt.want)
			}
		})
	}
}

func TestSignValidateAndEndpoints(t *testing.T) {
	for _, tt := range []struct {
		name    string
		h       SignHandler
		wantErr string
	}{
		{name: "unknown endpoint", h: SignHandler{Endpoints: []string{"/trade/v1/payment", "/trade/v1/anything"}}, wantErr: `"/trade/v1/anything" is not a QFPay endpoint`},
		{name: "on_store_error", h: SignHandler{OnStoreError: "sometimes"}, wantErr: "refuse or allow"},
		{name: "mode", h: SignHandler{Mode: "shadow"}, wantErr: "mode must be sign or observe"},
		{name: "resolve_pending zero", h: SignHandler{ResolvePending: &ResolvePending{}}, wantErr: "max_wait must be positive"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.h.Validate()
			if err == nil {
				err = tt.h.provisionEndpoints()
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestRateLimitAndStoreURLParse(t *testing.T) {
	tests := []appParseCase{
		{name: "rate_limit numbers", input: `qfpay { merchant m { rate_limit 100 400 } }`, check: func(t *testing.T, a *App) {
			if rl := a.Merchants["m"].RateLimit; rl == nil || *rl != (RateLimit{PerSecond: 100, PerMinute: 400}) {
				t.Errorf("rate limit = %+v", rl)
			}
		}},
		{name: "rate_limit env form", input: `qfpay { merchant m { rate_limit 100/s,400/m } }`, check: func(t *testing.T, a *App) {
			if rl := a.Merchants["m"].RateLimit; rl == nil || *rl != (RateLimit{PerSecond: 100, PerMinute: 400}) {
				t.Errorf("rate limit = %+v", rl)
			}
		}},
		{name: "rate_limit per minute only", input: `qfpay { merchant m { rate_limit 30/m } }`, check: func(t *testing.T, a *App) {
			if rl := a.Merchants["m"].RateLimit; rl == nil || *rl != (RateLimit{PerMinute: 30}) {
				t.Errorf("rate limit = %+v", rl)
			}
		}},
		{name: "rate_limit off", input: `qfpay { merchant m { rate_limit off } }`, check: func(t *testing.T, a *App) {
			if a.Merchants["m"].RateLimit != nil {
				t.Error("off must be no limit")
			}
		}},
		{name: "store redis URL", input: `qfpay { store redis://10.0.0.5:6380/2 }`, check: func(t *testing.T, a *App) {
			if s := a.Store; s.Backend != "redis" || s.Address != "10.0.0.5:6380" || s.DB != 2 {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store redis URL with options", input: "qfpay {\nstore redis://r:6379 {\nprefix x:\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; s.Address != "r:6379" || s.Prefix != "x:" || s.DB != 0 {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store without argument (empty variable) is memory", input: "qfpay {\nstore\n}", check: func(t *testing.T, a *App) {
			if a.Store == nil || a.Store.Backend != "memory" {
				t.Errorf("store = %+v", a.Store)
			}
		}},
		{name: "rate_limit unit", input: `qfpay { merchant m { rate_limit 5/h } }`, wantErr: "unit must be s or m"},
		{name: "rate_limit zero", input: `qfpay { merchant m { rate_limit 0/s } }`, wantErr: "want <n>/s or <n>/m"},
		{name: "rate_limit words", input: `qfpay { merchant m { rate_limit a b } }`, wantErr: "want <per_second> <per_minute>"},
		{name: "rate_limit three", input: `qfpay { merchant m { rate_limit 1 2 3 } }`, wantErr: "wrong argument count"},
		{name: "store URL with password", input: `qfpay { store redis://:S3cr3tP4ss@r:6379 }`, wantErr: "without credentials"},
		{name: "store URL bad db", input: `qfpay { store redis://r:6379/x }`, wantErr: "non-negative integer"},
		{name: "store URL extra arg", input: `qfpay { store redis://r:6379 r2 }`, wantErr: "wrong argument count"},
	}
	runAppParse(t, tests)
}
