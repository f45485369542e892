package caddymodule

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestGlobalOptionParse(t *testing.T) {
	tests := []appParseCase{
		{name: "full", input: `qfpay {
			environment test
			merchant hk {
				app_code {env.A}
				client_key {env.K}
				mchid M1
				sign_type sha256
				pay_types 801101 801107
				timezone Asia/Singapore
			}
			merchant sg {
				client_key {file./run/k}
			}
		}`, check: func(t *testing.T, a *App) {
			m := a.Merchants["hk"]
			if a.Environment != "test" || m == nil || m.AppCode != "{env.A}" || m.ClientKey != "{env.K}" || m.MchID != "M1" ||
				m.SignType != "sha256" || strings.Join(m.PayTypes, ",") != "801101,801107" || m.Timezone != "Asia/Singapore" {
				t.Errorf("parsed %+v / %+v", a, m)
			}
			if a.Merchants["sg"] == nil || a.Merchants["sg"].ClientKey != "{file./run/k}" {
				t.Error("second merchant missing")
			}
		}},
		{name: "argument on qfpay", input: `qfpay x {}`, wantErr: "wrong argument count"},
		{name: "unknown option", input: `qfpay { nope 1 }`, wantErr: `unknown option "nope"`},
		{name: "environment without value", input: `qfpay { environment }`, wantErr: "wrong argument count"},
		{name: "environment two values", input: `qfpay { environment a b }`, wantErr: "wrong argument count"},
		{name: "merchant without name", input: `qfpay { merchant }`, wantErr: "wrong argument count"},
		{name: "merchant twice", input: "qfpay {\nmerchant a {\n}\nmerchant a {\n}\n}", wantErr: "defined twice"},
		{name: "merchant unknown option", input: `qfpay { merchant a { colour red } }`, wantErr: `unknown option "colour"`},
		{name: "merchant option two values", input: `qfpay { merchant a { app_code x y } }`, wantErr: "app_code takes exactly one argument"},
		{name: "client_key error does not quote the value", input: `qfpay { merchant a { client_key S3cr3tK3y extra } }`, wantErr: "client_key takes exactly one argument"},
		{name: "pay_types empty", input: `qfpay { merchant a { pay_types } }`, wantErr: "wrong argument count"},
	}
	runAppParse(t, tests)
}

// appParseCase is one qfpay global option input: the error wanted, or a
// check of what was parsed.
type appParseCase struct {
	name, input, wantErr string
	check                func(t *testing.T, a *App)
}

// runAppParse runs the cases; no error may quote a value containing
// "S3cr3t" (the tables use it for keys and passwords).
func runAppParse(t *testing.T, tests []appParseCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := new(App)
			err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(tt.input)))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "S3cr3t") {
					t.Fatalf("error quotes a secret: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, a)
		})
	}
}

func TestGlobalOptionOnce(t *testing.T) {
	_, err := parseGlobalOption(caddyfile.NewTestDispenser(`qfpay { }`), httpcaddyfile.App{})
	if err == nil || !strings.Contains(err.Error(), "only once") {
		t.Fatalf("err = %v", err)
	}
	v, err := parseGlobalOption(caddyfile.NewTestDispenser(ml(`qfpay { environment sandbox }`)), nil)
	if err != nil {
		t.Fatal(err)
	}
	app := v.(httpcaddyfile.App)
	if app.Name != "qfpay" || !strings.Contains(string(app.Value), `"environment":"sandbox"`) {
		t.Errorf("app = %s %s", app.Name, app.Value)
	}
}

func TestGatewayDirectiveParse(t *testing.T) {
	tests := []struct {
		name, input, wantErr string
		wantMax              int64
	}{
		{name: "merchant only", input: `qfpay_gateway hk`},
		{name: "max_body", input: `qfpay_gateway hk { max_body 1024 }`, wantMax: 1024},
		{name: "no merchant", input: `qfpay_gateway`, wantErr: "wrong argument count"},
		{name: "two merchants", input: `qfpay_gateway a b`, wantErr: "wrong argument count"},
		{name: "max_body zero", input: `qfpay_gateway a { max_body 0 }`, wantErr: "positive number"},
		{name: "max_body text", input: `qfpay_gateway a { max_body big }`, wantErr: "positive number"},
		{name: "max_body missing", input: `qfpay_gateway a { max_body }`, wantErr: "wrong argument count"},
		{name: "unknown", input: `qfpay_gateway a { upstream x }`, wantErr: `qfpay_gateway: unknown option "upstream"`},
		{name: "bad duration", input: `qfpay_gateway hk { dial_timeout x }`, wantErr: "positive duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := httpcaddyfile.Helper{Dispenser: caddyfile.NewTestDispenser(ml(tt.input))}
			mh, err := parseGateway(h)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			g := mh.(*Gateway)
			if err != nil || g.Merchant != "hk" || g.MaxBody != tt.wantMax {
				t.Fatalf("got %+v, %v", g, err)
			}
		})
	}
}

// TestClientOptionsParse: the timeouts under Caddy's names (and the
// transport's former response_timeout), and the egress proxy.
func TestClientOptionsParse(t *testing.T) {
	g := new(Gateway)
	if err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(`qfpay_gateway hk { dial_timeout 2s
	response_header_timeout 1m
	forward_proxy_url http://proxy.corp:3128 }`))); err != nil {
		t.Fatal(err)
	}
	c := g.Client
	if time.Duration(c.DialTimeout) != 2*time.Second || time.Duration(c.ResponseHeaderTimeout) != time.Minute || c.ForwardProxyURL != "http://proxy.corp:3128" {
		t.Errorf("got %+v", c)
	}
	g = new(Gateway)
	if err := g.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(`qfpay_gateway hk { response_timeout 20s
	forward_proxy http://p:1 }`))); err != nil || time.Duration(g.ResponseHeaderTimeout) != 20*time.Second || g.ForwardProxyURL != "http://p:1" {
		t.Errorf("aliases: %+v %v", g.Client, err)
	}
	for input, want := range map[string]string{
		`qfpay_gateway hk { dial_timeout soon }`:                   "positive duration",
		`qfpay_gateway hk { dial_timeout -1s }`:                    "positive duration",
		`qfpay_gateway hk { keepalive 1s }`:                        `unknown option "keepalive"`,
		`qfpay_gateway hk { response_header_timeout }`:             "wrong argument count",
		`qfpay_gateway hk { dial_timeout 1s 2s }`:                  "wrong argument count",
		`qfpay_gateway hk { response_header_timeout 0s }`:          "positive duration",
		`qfpay_gateway hk { response_timeout 10x }`:                "positive duration",
		`qfpay_gateway hk { forward_proxy_url }`:                   "wrong argument count",
		`qfpay_gateway hk { forward_proxy_url http://a http://b }`: "wrong argument count",
	} {
		err := new(Gateway).UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(input)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", input, err, want)
		}
	}
	for _, bad := range []string{"proxy.corp:3128", "socks5://p:1", "http://"} {
		if _, err := (&Client{ForwardProxyURL: bad}).sender(&url.URL{Scheme: "https", Host: "q:443"}); err == nil {
			t.Errorf("forward_proxy_url %q accepted", bad)
		}
	}
}

// ml puts braces on their own lines, as Caddyfiles write them.
func ml(s string) string {
	return strings.NewReplacer("{ ", "{\n", " }", "\n}").Replace(s)
}

func TestNotifyDirectiveParse(t *testing.T) {
	h := new(NotifyHandler)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser("qfpay_notify hk {\nmax_body 512\nack status_2xx\nstrip_signature\n}")); err != nil {
		t.Fatal(err)
	}
	if h.Merchant != "hk" || h.MaxBody != 512 || h.Ack != "status_2xx" || !h.StripSignature {
		t.Errorf("got %+v", h)
	}
	for input, want := range map[string]string{
		`qfpay_notify`:                           "wrong argument count",
		`qfpay_notify a b`:                       "wrong argument count",
		`qfpay_notify a { forward_to x }`:        `qfpay_notify: unknown option "forward_to"`,
		`qfpay_notify a { max_body -1 }`:         "positive number",
		`qfpay_notify a { ack }`:                 "wrong argument count",
		`qfpay_notify a { ack 200 }`:             "ack must be success_body or status_2xx",
		`qfpay_notify a { ack a b }`:             "wrong argument count",
		`qfpay_notify a { strip_signature yes }`: "wrong argument count",
	} {
		err := new(NotifyHandler).UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(input)))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", input, err, want)
		}
	}
}

func TestVerifyResponseParse(t *testing.T) {
	h := new(Gateway)
	if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(ml(`qfpay_gateway hk { verify_response enforce }`))); err != nil || h.VerifyResponse != "enforce" {
		t.Fatalf("got %q %v", h.VerifyResponse, err)
	}
	for input, want := range map[string]string{
		`qfpay_gateway hk { verify_response maybe }`: "must be off, log or enforce",
		`qfpay_gateway hk { verify_response }`:       "wrong argument count",
		`qfpay_notify hk { verify_response log }`:    `unknown option "verify_response"`,
	} {
		d := caddyfile.NewTestDispenser(ml(input))
		var err error
		if strings.HasPrefix(input, "qfpay_notify") {
			err = new(NotifyHandler).UnmarshalCaddyfile(d)
		} else {
			err = new(Gateway).UnmarshalCaddyfile(d)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", input, err, want)
		}
	}
	if err := (&Gateway{VerifyResponse: "sometimes"}).Validate(); err == nil {
		t.Error("Validate accepted a bad mode")
	}
}

func TestStoreOptionParse(t *testing.T) {
	a := new(App)
	err := a.UnmarshalCaddyfile(caddyfile.NewTestDispenser(`qfpay {
		store redis 127.0.0.1:6379 {
			password {env.REDIS_PASSWORD}
			db 2
			prefix pay:
			timeout 500ms
		}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	s := a.Store
	if s.Backend != "redis" || s.Address != "127.0.0.1:6379" || s.Password != "{env.REDIS_PASSWORD}" || s.DB != 2 ||
		s.Prefix != "pay:" || time.Duration(s.Timeout) != 500*time.Millisecond {
		t.Fatalf("parsed %+v", s)
	}
	for input, want := range map[string]string{
		"qfpay {\nstore disk\n}":                                      "file, memory or redis",
		"qfpay {\nstore file /a /b\n}":                                "wrong argument count",
		"qfpay {\nstore file {\nsync maybe\n}\n}":                     "sync must be on or off",
		"qfpay {\nstore file {\npath\n}\n}":                           "wrong argument count",
		"qfpay {\nstore file {\nprefix x\n}\n}":                       `unknown option "prefix"`,
		"qfpay {\nstore redis h:1 {\ncluster yes\n}\n}":               "cluster takes no argument",
		"qfpay {\nstore redis h:1 {\nusername\n}\n}":                  "username takes exactly one argument",
		"qfpay {\nstore rediss://h:1 extra\n}":                        "wrong argument count",
		"qfpay {\nstore redis h:1 {\nmin_replicas -1\n}\n}":           "min_replicas must be a non-negative integer",
		"qfpay {\nstore memory extra\n}":                              "wrong argument count",
		"qfpay {\nstore redis\n}":                                     "wrong argument count",
		"qfpay {\nstore memory {\nprefix x\n}\n}":                     "takes no options",
		"qfpay {\nstore redis h:1 {\ndb -1\n}\n}":                     "non-negative",
		"qfpay {\nstore redis h:1 {\ncolour red\n}\n}":                `unknown option "colour"`,
		"qfpay {\nstore redis h:1 {\ntimeout x\n}\n}":                 "positive duration",
		"qfpay {\nstore memory\nstore redis h:1\n}":                   "set twice",
		"qfpay {\nstore redis h:1 {\npassword\n}\n}":                  "password takes exactly one argument",
		"qfpay {\nstore redis h:1 {\npassword S3cr3tP4ss extra\n}\n}": "password takes exactly one argument",
	} {
		if err := new(App).UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("%q: err = %v, want %q and no secret", input, err, want)
		}
	}
	for name, c := range map[string]*StoreConfig{
		"redis without address": {Backend: "redis"},
		"db with a cluster":     {Backend: "redis", Address: "a:1", Addresses: []string{"b:1"}, DB: 1},
		"WAIT with a cluster":   {Backend: "redis", Address: "a:1", Cluster: true, MinReplicas: 1},
		"tls_ca missing":        {Backend: "redis", Address: "a:1", TLSCA: "/nonexistent/ca.pem"},
		"tls_ca not PEM":        {Backend: "redis", Address: "a:1", TLSCA: "storeconfig.go"},
		"address not host:port": {Backend: "redis", Address: "a", TLS: true},
	} {
		if _, _, err := c.provision(); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}
