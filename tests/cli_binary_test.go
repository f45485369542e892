package tests

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testpty"
	"github.com/qfsign/qfsign/qfpaytest"
)

// binaryExit runs the built binary and returns its exit status and output;
// stdin nil means /dev/null.
func binaryExit(t *testing.T, stdin *os.File, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, qfsignBinary(t), args...)
	cmd.Dir = ".."
	cmd.Env = append(cleanEnv(), env...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("qfsign %s: still running after 30s (waiting for input?)", strings.Join(args, " "))
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), string(out)
}

// TestBinaryExitStatuses: the statuses the CLI documents reach the shell
// (Caddy's wrapper turns a status 1 without an error into 0).
func TestBinaryExitStatuses(t *testing.T) {
	double, err := qfpaytest.Start("127.0.0.1:0", qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = double.Close() })
	tty := testpty.Open(t)
	gateway := []string{"QFPAY_ENV=" + double.URL, "QFPAY_APP_CODE=" + testAppCode, "QFSIGN_ADMIN=localhost:0"}
	tests := []struct {
		name  string
		stdin *os.File
		env   []string
		args  []string
		want  int
		out   string
	}{
		{"doctor, right key", nil, append(gateway, "QFPAY_CLIENT_KEY="+testKey), []string{"doctor", "--config", "Caddyfile.example"}, 0, "QFPay accepted app_code and signature"},
		{"doctor, wrong key", nil, append(gateway, "QFPAY_CLIENT_KEY=other-key"), []string{"doctor", "--config", "Caddyfile.example"}, 1, "respcd 1108"},
		{"doctor, no config", nil, nil, []string{"doctor"}, 2, "--config is required"},
		{"sign at a terminal", tty, []string{"QFPAY_CLIENT_KEY=k"}, []string{"sign"}, 2, "terminal"},
		{"verify-notify at a terminal", tty, []string{"QFPAY_CLIENT_KEY=k"}, []string{"verify-notify", "--sign", "00"}, 2, "terminal"},
		{"verify-notify, extra argument", nil, []string{"QFPAY_CLIENT_KEY=k"}, []string{"verify-notify", "--sign", "00", "extra"}, 2, "unexpected argument"},
		{"verify-notify, mismatch", nil, []string{"QFPAY_CLIENT_KEY=k"}, []string{"verify-notify", "--sign", "00"}, 1, "signature does not verify"},
		{"sign, key unset", nil, nil, []string{"sign", "a=1"}, 3, "QFPAY_CLIENT_KEY"},
		{"sign, tab in goods_name", nil, []string{"QFPAY_CLIENT_KEY=k"}, []string{"sign", "goods_name=a\tb"}, 3, "control"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := binaryExit(t, tt.stdin, tt.env, tt.args...)
			if code != tt.want || !strings.Contains(out, tt.out) {
				t.Fatalf("exit %d, want %d with %q:\n%s", code, tt.want, tt.out, tail(out, 2000))
			}
			if strings.Contains(out, testKey) {
				t.Error("the key shows")
			}
		})
	}
}

// TestBinaryHelpIsQfsigns: the root help is qfsign's, without Caddy's
// advice to upgrade or add packages, examples or documentation link.
func TestBinaryHelpIsQfsigns(t *testing.T) {
	code, out := binaryExit(t, nil, nil, "help")
	if code != 0 || !strings.Contains(out, "qfsign is a signing gateway for the QFPay API") || !strings.Contains(out, "qfsign doctor --config") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "Caddy is an extensible server platform") || strings.Contains(out, "caddyserver.com") || strings.Contains(out, "$ caddy") {
		t.Errorf("Caddy's own help text:\n%s", out)
	}
}

// TestBinaryTimezoneWithoutSystemZoneinfo: the binary carries the time
// zone database (time/tzdata), so a merchant timezone loads in an image
// with no /usr/share/zoneinfo; ZONEINFO pointing nowhere changes nothing.
func TestBinaryTimezoneWithoutSystemZoneinfo(t *testing.T) {
	raw, err := os.ReadFile(qfsignBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	// A zone name only the embedded tzdata zip holds as text.
	if !bytes.Contains(raw, []byte("Pacific/Chatham")) {
		t.Fatal("the binary has no embedded time zone database (import _ \"time/tzdata\")")
	}
	for _, tt := range []struct {
		zone string
		want int
		out  string
	}{
		{"Asia/Tokyo", 0, "Valid configuration"},
		{"Mars/Olympus_Mons", 1, "timezone"},
	} {
		cfg := filepath.Join(t.TempDir(), "Caddyfile")
		err := os.WriteFile(cfg, []byte(fmt.Sprintf(`{
	admin off
	qfpay {
		environment embedded
		merchant m {
			timezone %s
		}
	}
}
http://127.0.0.1:%d {
	qfpay_gateway m
}
`, tt.zone, freePort(t))), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		code, out := binaryExit(t, nil, []string{"ZONEINFO=/nonexistent/zoneinfo.zip"}, "validate", "--config", cfg, "--adapter", "caddyfile")
		if code != tt.want || !strings.Contains(out, tt.out) {
			t.Errorf("timezone %s: exit %d, want %d with %q:\n%s", tt.zone, code, tt.want, tt.out, tail(out, 2000))
		}
	}
}
