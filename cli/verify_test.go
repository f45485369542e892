package cli

import (
	"github.com/qfsign/qfsign/internal/testvectors"

	"errors"
	"strings"
	"testing"
)

func TestVerifyNotify(t *testing.T) {
	for _, v := range testvectors.Load(t).Notification {
		e := env{"QFPAY_CLIENT_KEY": v.ClientKey}
		t.Run(v.Name+"/ok", func(t *testing.T) {
			for _, sig := range []string{v.MD5, strings.ToLower(v.MD5), " " + v.MD5 + "\n"} {
				o := run(t, runVerifyNotify, "verify-notify", e, v.Body, "--sign", sig)
				if o.err != nil || o.code != 0 || o.out != "ok\n" {
					t.Errorf("sign %q: code %d, out %q, err %v", sig, o.code, o.out, o.err)
				}
			}
		})
		t.Run(v.Name+"/key file", func(t *testing.T) {
			o := run(t, runVerifyNotify, "verify-notify", env{}, v.Body, "--sign", v.MD5, "--key-file", writeFile(t, v.ClientKey+"\n"))
			if o.err != nil || o.out != "ok\n" {
				t.Errorf("out %q, err %v", o.out, o.err)
			}
		})
		flipped := []byte(v.Body)
		flipped[len(flipped)/2] ^= 0x01
		badSig := []byte(v.MD5)
		badSig[0] ^= 0x01
		fails := []struct {
			name, body string
			args       []string
		}{
			{"flipped body byte", string(flipped), []string{"--sign", v.MD5}},
			{"flipped signature byte", v.Body, []string{"--sign", string(badSig)}},
			{"trailing newline added", v.Body + "\n", []string{"--sign", v.MD5}},
			{"wrong sign type", v.Body, []string{"--sign", v.MD5, "--sign-type", "sha256"}},
			{"other key", v.Body, []string{"--sign", v.MD5, "--key-env", "OTHER"}},
			{"empty body", "", []string{"--sign", v.MD5}},
		}
		for _, f := range fails {
			t.Run(v.Name+"/"+f.name, func(t *testing.T) {
				e := env{"QFPAY_CLIENT_KEY": v.ClientKey, "OTHER": v.ClientKey + "x"}
				o := run(t, runVerifyNotify, "verify-notify", e, f.body, f.args...)
				if o.code == 0 || !errors.Is(o.err, errNotVerified) {
					t.Fatalf("code %d, err %v: want signature does not verify", o.code, o.err)
				}
				if !strings.Contains(o.err.Error(), "signature does not verify") || o.out != "" {
					t.Errorf("out %q, err %q", o.out, o.err)
				}
				if strings.Contains(o.all(), v.ClientKey) {
					t.Errorf("the key shows: %q", o.all())
				}
			})
		}
	}
}

func TestVerifyNotifyNeedsSign(t *testing.T) {
	o := run(t, runVerifyNotify, "verify-notify", env{"QFPAY_CLIENT_KEY": "k"}, "{}")
	if o.err == nil || !strings.Contains(o.err.Error(), "--sign is required") {
		t.Fatalf("err = %v", o.err)
	}
}
