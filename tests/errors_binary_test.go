package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaryErrorsAreOneLine: run and validate of Caddyfile.example
// answer a missing credential or an environment typo with one line,
// `Error: ...`, naming the variable to set, and exit 1; Caddy's
// provisioning chain is not printed.
func TestBinaryErrorsAreOneLine(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want []string // in the one line
		not  string   // not in it
	}{
		{"QFPAY_APP_CODE missing", []string{"QFPAY_ENV=test", "QFPAY_CLIENT_KEY=k"}, []string{"set the environment variable QFPAY_APP_CODE"}, "QFPAY_CLIENT_KEY"},
		{"QFPAY_CLIENT_KEY missing", []string{"QFPAY_ENV=test", "QFPAY_APP_CODE=A"}, []string{"set the environment variable QFPAY_CLIENT_KEY"}, "QFPAY_APP_CODE"},
		{"both missing", []string{"QFPAY_ENV=production"}, []string{"QFPAY_APP_CODE", "QFPAY_CLIENT_KEY"}, "provision"},
		{"embedded, one given", []string{"QFPAY_APP_CODE=A"}, []string{"QFPAY_CLIENT_KEY", "demo credentials"}, "provision"},
		{"environment typo", []string{"QFPAY_ENV=prod"}, []string{`environment "prod"`, "did you mean production?", "set by QFPAY_ENV in Caddyfile.example"}, "app_code"},
		{"environment typo with credentials", []string{"QFPAY_ENV=tset", "QFPAY_APP_CODE=A", "QFPAY_CLIENT_KEY=k"}, []string{"did you mean test?"}, "provision"},
	}
	for _, tt := range tests {
		for _, command := range []string{"run", "validate"} {
			t.Run(tt.name+"/"+command, func(t *testing.T) {
				code, out := binaryExit(t, nil, tt.env, command, "--config", "Caddyfile.example")
				line := strings.TrimSuffix(out, "\n")
				if code != 1 || strings.Contains(line, "\n") || !strings.HasPrefix(line, "Error: qfpay: ") {
					t.Fatalf("exit %d, want 1 and one line `Error: qfpay: ...`:\n%s", code, out)
				}
				for _, w := range tt.want {
					if !strings.Contains(line, w) {
						t.Errorf("no %q in %q", w, line)
					}
				}
				if strings.Contains(line, tt.not) {
					t.Errorf("%q in %q", tt.not, line)
				}
			})
		}
	}
}

// TestBinaryErrorChainAtDebug: with the config's `debug` option, the
// whole provisioning chain follows the one line.
func TestBinaryErrorChainAtDebug(t *testing.T) {
	example, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "Caddyfile")
	debug := strings.Replace(string(example), "{\n\tadmin", "{\n\tdebug\n\tadmin", 1)
	if err := os.WriteFile(config, []byte(debug), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out := binaryExit(t, nil, []string{"QFPAY_ENV=test"}, "validate", "--config", config, "--adapter", "caddyfile")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 1 || len(lines) != 2 || !strings.HasPrefix(lines[0], "Error: qfpay: merchant default: app_code") ||
		!strings.HasPrefix(lines[1], "Debug: ") || !strings.Contains(lines[1], "provision qfpay: qfpay: merchant default") {
		t.Fatalf("exit %d, want the error line and the chain:\n%s", code, out)
	}
}

// TestBinaryCommandErrorIsOneLine: qfsign's own commands print one
// `Error:` line too, with their documented exit status.
func TestBinaryCommandErrorIsOneLine(t *testing.T) {
	code, out := binaryExit(t, nil, nil, "sign", "--key-env", "QFSIGN_TEST_UNSET", "a=1")
	if code != 3 || out != "Error: no key: environment variable QFSIGN_TEST_UNSET is not set or empty (or give --key-file <path>)\n" {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
