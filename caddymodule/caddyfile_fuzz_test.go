package caddymodule

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// caddyfileSeeds are block bodies: realistic options of the qfpay app and
// of qfpay_gateway (each target gets every seed; most are errors for one of
// them), plus the malformed shapes users type.
var caddyfileSeeds = []string{
	"environment test\nmerchant hk_shop {\napp_code {env.QFPAY_APP_CODE}\nclient_key {file./run/secrets/qfpay_key}\nmchid ZaMVg12345\nsign_type md5\npay_types 801101 801107 801501 801512\ntimezone Asia/Hong_Kong\nrate_limit 100/s,400/m\n}",
	"environment production\nvault {\naddress https://vault.internal:8200\nauth kubernetes qfsign\nrefresh 5m\nmax_stale 1h\nretry 1s 30s\ntimeout 10s\n}\nmerchant hk_shop {\nvault secret/qfpay/hk_shop {\nkv 2\nfields app_code client_key mchid\n}\nsign_type sha256\n}",
	"vault {\nauth approle {file./vault/role_id} env SECRET_ID wrapped\nauth_mount ar\n}",
	"vault {\nauth token_file /vault/token\n}",
	"store redis 127.0.0.1:6379 {\npassword {env.REDIS_PASSWORD}\ndb 2\nprefix qfsign:\ntimeout 1s\n}",
	"store redis://10.0.0.5:6380/2",
	"store redis://:S3cr3tRedisPassw0rd@r:6379",
	"store memory",
	"store",
	"merchant m {\nrate_limit 100 400\n}",
	"merchant m {\nrate_limit 0/s\n}",
	"merchant m {\nrate_limit off\n}",
	"merchant \"\" {\n}",
	"environment",
	"environment a b",
	"nope 1",
	"merchant a {\n}\nmerchant a {\n}",
	"max_body 65536\nverify_response enforce\nendpoints /trade/v1/payment /trade/v1/query\norder_ttl 168h\non_store_error refuse\nresolve_pending 20s 3s",
	"resolve_pending off",
	"resolve_pending",
	"resolve_pending 1s 1s 1s",
	"max_body -1",
	"max_body 99999999999999999999",
	"order_ttl 0s",
	"verify_response maybe",
	"on_store_error",
	"endpoints",
	"`heredoc` {\n}",
	"\"quoted value\" { {",
	"}",
	"{",
	"",
}

// FuzzCaddyfile feeds fuzzed text, wrapped as the body of the global
// option `qfpay { ... }` and of the directive `qfpay_gateway m { ... }`, to
// their UnmarshalCaddyfile. Property: never a panic; a refusal is an
// error that names a position in the file; an accepted config marshals
// to JSON (what `caddy adapt` emits and the admin API shows), and that
// JSON loads back to the same config, byte for byte and field for field.
func FuzzCaddyfile(f *testing.F) {
	for _, s := range caddyfileSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, input string) {
		if len(input) > 2048 {
			return // longer configs reach no new code and slow minimisation
		}
		checkUnmarshal(t, "qfpay {\n"+input+"\n}", new(App))
		checkUnmarshal(t, "qfpay_gateway m {\n"+input+"\n}", new(Gateway))
	})
}

// unmarshaler is what the Caddyfile adapter calls.
type unmarshaler interface {
	UnmarshalCaddyfile(*caddyfile.Dispenser) error
}

func checkUnmarshal[T any, PT interface {
	*T
	unmarshaler
}](t *testing.T, src string, v PT) {
	t.Helper()
	// NewTestDispenser substitutes {$ENV} and calls log.Fatalf when the
	// lexer refuses the text (an unclosed quote or heredoc): both are
	// Caddy's, not ours, and an os.Exit would kill the fuzz worker.
	if strings.Contains(src, "{$") {
		return
	}
	if _, err := caddyfile.Tokenize([]byte(src), "Testfile"); err != nil {
		return
	}
	err := v.UnmarshalCaddyfile(caddyfile.NewTestDispenser(src))
	if err != nil {
		if !strings.Contains(err.Error(), "Testfile:") {
			t.Fatalf("%T: error without a position: %v", v, err)
		}
		return
	}
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("%T: parsed config does not marshal: %v", v, err)
	}
	back := PT(new(T))
	if err := json.Unmarshal(raw, back); err != nil {
		t.Fatalf("%T: its JSON %s does not load back: %v", v, raw, err)
	}
	again, err := json.Marshal(back)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, again) {
		t.Fatalf("%T: JSON round trip changed the config:\n%s\n%s", v, raw, again)
	}
	// JSON replaces invalid UTF-8 with U+FFFD; otherwise nothing the
	// parser set may be lost on the way through JSON.
	if utf8.ValidString(src) && !reflect.DeepEqual(v, back) {
		t.Fatalf("%T: JSON round trip lost a field:\n%+v\n%+v", v, v, back)
	}
}
