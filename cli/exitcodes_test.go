package cli

import (
	"crypto/md5"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/qfsign/qfsign/internal/testpty"
)

// TestExitStatuses: 1 for a failed check, 2 for usage, 3 for input that
// cannot be used; errors never echo an argument.
func TestExitStatuses(t *testing.T) {
	const argKey = "KEY-PASTED-AS-ARGUMENT"
	e := env{"QFPAY_CLIENT_KEY": "k3y", "BAD": " k3y"}
	sum := md5.Sum([]byte(`{"a":"1"}` + "k3y"))
	sig := strings.ToUpper(hex.EncodeToString(sum[:]))
	tests := []struct {
		name  string
		f     runFunc
		cmd   string
		stdin string
		args  []string
		want  int
	}{
		{"sign ok", runSign, "sign", "", []string{"txamt=1"}, exitOK},
		{"sign bad sign type", runSign, "sign", "", []string{"--sign-type", "sha1", "a=1"}, exitUsage},
		{"sign bad charset", runSign, "sign", "", []string{"--charset", "nope", "a=1"}, exitUsage},
		{"sign --key", runSign, "sign", "", []string{"--key", argKey, "a=1"}, exitUsage},
		{"sign argument without =", runSign, "sign", "", []string{"a=1", argKey}, exitUsage},
		{"sign empty stdin", runSign, "sign", "\n", nil, exitUsage},
		{"sign app code with escape", runSign, "sign", "", []string{"--app-code", "A\x1b[31m", "a=1"}, exitUsage},
		{"sign key with whitespace", runSign, "sign", "", []string{"--key-env", "BAD", "a=1"}, exitInput},
		{"sign key unset", runSign, "sign", "", []string{"--key-env", "UNSET", "a=1"}, exitInput},
		{"sign invalid UTF-8", runSign, "sign", "a=%FF", nil, exitInput},
		{"sign bad escape, strict", runSign, "sign", "a=%ZZ", []string{"--strict-escapes"}, exitInput},
		{"sign tab in a one-line field", runSign, "sign", "", []string{"goods_name=a\tb"}, exitInput},
		{"sign newline in a one-line field", runSign, "sign", "goods_name=a%0Ab", nil, exitInput},
		{"sign newline in extend_info", runSign, "sign", "", []string{"extend_info={\n\"a\":1}"}, exitOK},
		{"verify ok", runVerifyNotify, "verify-notify", `{"a":"1"}`, []string{"--sign", sig}, exitOK},
		{"verify fails", runVerifyNotify, "verify-notify", `{"a":"2"}`, []string{"--sign", sig}, exitFailed},
		{"verify extra argument", runVerifyNotify, "verify-notify", `{"a":"1"}`, []string{"--sign", sig, argKey}, exitUsage},
		{"verify without --sign", runVerifyNotify, "verify-notify", `{"a":"1"}`, nil, exitUsage},
		{"verify control in --sign", runVerifyNotify, "verify-notify", `{"a":"1"}`, []string{"--sign", "AB\x07"}, exitUsage},
		{"verify key unset", runVerifyNotify, "verify-notify", `{"a":"1"}`, []string{"--sign", sig, "--key-env", "UNSET"}, exitInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, tt.f, tt.cmd, e, tt.stdin, tt.args...)
			if o.code != tt.want || (o.code != exitOK) != (o.err != nil) {
				t.Fatalf("exit %d err %v, want %d", o.code, o.err, tt.want)
			}
			if strings.Contains(o.all(), argKey) {
				t.Errorf("an argument is echoed: %q", o.all())
			}
		})
	}
}

func TestSandboxRefusesArguments(t *testing.T) {
	sandbox := func(fs caddycmd.Flags, st stdio) (int, error) {
		_, err := newSandboxConfig(fs, st)
		return exitFor(err, exitInput), err
	}
	o := run(t, sandbox, "sandbox", env{}, "", "extra")
	if o.code != exitUsage {
		t.Fatalf("exit %d, err %v", o.code, o.err)
	}
}

// TestTerminalStdinRefused: with standard input at a terminal, sign
// without arguments and verify-notify stop at once with a usage error
// instead of waiting for typing.
func TestTerminalStdinRefused(t *testing.T) {
	tty := testpty.Open(t)
	for _, c := range []struct {
		name string
		f    runFunc
		args []string
	}{
		{"sign", runSign, nil},
		{"verify-notify", runVerifyNotify, []string{"--sign", "00"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			fl := parse(t, c.name, c.args...)
			done := make(chan outcome, 1)
			go func() {
				st := stdio{in: tty, out: new(strings.Builder), errOut: new(strings.Builder), lookupEnv: env{"QFPAY_CLIENT_KEY": "k"}.lookup}
				code, err := c.f(fl, st)
				done <- outcome{code: code, err: err}
			}()
			select {
			case o := <-done:
				if o.code != exitUsage || o.err == nil || !strings.Contains(o.err.Error(), "terminal") {
					t.Fatalf("exit %d, err %v", o.code, o.err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("waited on the terminal")
			}
		})
	}
}
