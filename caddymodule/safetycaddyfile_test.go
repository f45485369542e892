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
		want                 Gateway
	}{
		{name: "all", input: `qfpay_gateway hk {
			endpoints /trade/v1/payment /trade/v1/query
			order_ttl 720h
			on_store_error allow
			resolve_pending 20s 4s
		}`, want: Gateway{Endpoints: []string{"/trade/v1/payment", "/trade/v1/query"}, OrderTTL: caddy.Duration(720 * time.Hour),
			OnStoreError: "allow", ResolvePending: &ResolvePending{MaxWait: caddy.Duration(20 * time.Second), Interval: caddy.Duration(4 * time.Second)}}},
		{name: "resolve_pending max only", input: `qfpay_gateway hk { resolve_pending 10s }`,
			want: Gateway{ResolvePending: &ResolvePending{MaxWait: caddy.Duration(10 * time.Second)}}},
		{name: "resolve_pending off", input: `qfpay_gateway hk { resolve_pending off }`},
		{name: "strict_escapes", input: `qfpay_gateway hk { strict_escapes }`, want: Gateway{StrictEscapes: true}},
		{name: "mode observe", input: `qfpay_gateway hk { mode observe }`, want: Gateway{Mode: "observe"}},
		{name: "mode sign", input: `qfpay_gateway hk { mode sign }`, want: Gateway{Mode: "sign"}},
		{name: "mode other", input: `qfpay_gateway hk { mode shadow }`, wantErr: "mode must be sign or observe"},
		{name: "mode none", input: `qfpay_gateway hk { mode }`, wantErr: "wrong argument count"},
		{name: "strict_escapes with an argument", input: `qfpay_gateway hk { strict_escapes on }`, wantErr: "wrong argument count"},
		{name: "resolve_pending empty (unset env)", input: `qfpay_gateway hk { resolve_pending }`},
		{name: "resolve_pending bad", input: `qfpay_gateway hk { resolve_pending soon }`, wantErr: `positive duration, got "soon"`},
		{name: "resolve_pending three", input: `qfpay_gateway hk { resolve_pending 1s 1s 1s }`, wantErr: "wrong argument count"},
		{name: "on_store_error other", input: `qfpay_gateway hk { on_store_error maybe }`, wantErr: "refuse or allow"},
		{name: "on_store_error none", input: `qfpay_gateway hk { on_store_error }`, wantErr: "wrong argument count"},
		{name: "endpoints none", input: `qfpay_gateway hk { endpoints }`, wantErr: "wrong argument count"},
		{name: "order_ttl bad", input: `qfpay_gateway hk { order_ttl 0s }`, wantErr: "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := new(Gateway)
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
		h       Gateway
		wantErr string
	}{
		{name: "unknown endpoint", h: Gateway{Endpoints: []string{"/trade/v1/payment", "/trade/v1/anything"}}, wantErr: `"/trade/v1/anything" is not a QFPay endpoint`},
		{name: "on_store_error", h: Gateway{OnStoreError: "sometimes"}, wantErr: "refuse or allow"},
		{name: "mode", h: Gateway{Mode: "shadow"}, wantErr: "mode must be sign or observe"},
		{name: "resolve_pending zero", h: Gateway{ResolvePending: &ResolvePending{}}, wantErr: "max_wait must be positive"},
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
		{name: "store without argument (empty variable) is the file store", input: "qfpay {\nstore\n}", check: func(t *testing.T, a *App) {
			if a.Store == nil || a.Store.Backend != "file" || a.Store.Path != "" || a.Store.NoSync {
				t.Errorf("store = %+v", a.Store)
			}
		}},
		{name: "store file with path and sync off", input: "qfpay {\nstore file /var/lib/qfsign/s.db {\nsync off\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; s.Backend != "file" || s.Path != "/var/lib/qfsign/s.db" || !s.NoSync {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store file path option", input: "qfpay {\nstore file {\npath {env.STATE}\nsync on\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; s.Path != "{env.STATE}" || s.NoSync {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store memory", input: "qfpay {\nstore memory\n}", check: func(t *testing.T, a *App) {
			if a.Store.Backend != "memory" {
				t.Errorf("store = %+v", a.Store)
			}
		}},
		{name: "store rediss URL is TLS", input: "qfpay {\nstore rediss://r:6380 {\ntls_ca /etc/ca.pem\nusername qfsign\npassword {env.P}\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; !s.TLS || s.TLSCA != "/etc/ca.pem" || s.Username != "qfsign" || s.Password != "{env.P}" || s.Address != "r:6380" {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store redis sentinel", input: "qfpay {\nstore redis s1:26379 s2:26379 s3:26379 {\nmaster_name mymaster\nmin_replicas 1\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; s.Address != "s1:26379" || len(s.Addresses) != 2 || s.MasterName != "mymaster" || s.Cluster || s.MinReplicas != 1 {
				t.Errorf("store = %+v", s)
			}
		}},
		{name: "store redis cluster", input: "qfpay {\nstore redis c1:7000 {\ncluster\ntls\ntls_server_name redis.internal\n}\n}", check: func(t *testing.T, a *App) {
			if s := a.Store; !s.Cluster || !s.TLS || s.TLSServerName != "redis.internal" {
				t.Errorf("store = %+v", s)
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
