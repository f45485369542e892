package tests

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// The environment has no default: `qfsign validate` fails when it is
// missing, empty, or an unresolved placeholder, and demo credentials
// never complete half-given ones.
func TestEnvironmentRequired(t *testing.T) {
	dir := t.TempDir()
	config := func(env string) string {
		p := filepath.Join(dir, "Caddyfile-"+strings.NewReplacer("{", "", "}", "", ".", "-", " ", "").Replace(env))
		body := "{\n\tadmin off\n\tqfpay {\n\t\t" + env + "\n\t\tmerchant m {\n\t\t\tapp_code {env.QFPAY_APP_CODE}\n\t\t\tclient_key {env.QFPAY_CLIENT_KEY}\n\t\t}\n\t}\n}\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, config string
		env          []string
		want         string // in the output; "Valid configuration" when it must pass
	}{
		{"no environment", config(""), nil, "environment is required"},
		{"unset placeholder", config("environment {env.QFSIGN_TEST_NO_SUCH_ENV}"), nil, "resolves to nothing"},
		{"example with QFPAY_ENV empty", "Caddyfile.example", []string{"QFPAY_ENV="}, "after 'environment'"},
		{"embedded, key without app code", "Caddyfile.example", []string{"QFPAY_CLIENT_KEY=a-real-key"}, "app_code: unresolved or empty"},
		{"embedded, app code without key", "Caddyfile.example", []string{"QFPAY_APP_CODE=A"}, "client_key: unresolved or empty"},
		{"production without credentials", "Caddyfile.example", []string{"QFPAY_ENV=production"}, "app_code: unresolved or empty"},
		{"embedded chosen, no credentials", "Caddyfile.example", nil, "Valid configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runBinaryClean(t, tc.env, "validate", "--config", tc.config, "--adapter", "caddyfile")
			valid := tc.want == "Valid configuration"
			if (err == nil) != valid || !strings.Contains(out, tc.want) {
				t.Fatalf("err %v, want %q in:\n%s", err, tc.want, out)
			}
		})
	}
}

// runBinaryClean is runBinary without any QFPAY_ or QFSIGN_ variable of
// this process: only env.
func runBinaryClean(t *testing.T, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := execBinary(t, args...)
	cmd.Env = append(cleanEnv(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// With environment embedded (chosen explicitly), every answer says so:
// a payment, a replay and a refusal; with a real upstream none does.
func TestEmbeddedMarksEveryAnswer(t *testing.T) {
	listen, logs := startExample(t)
	post := func(form string) *http.Response {
		t.Helper()
		resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	form := "txamt=1500&txcurrcd=HKD&pay_type=801101&out_trade_no=MARK-1"
	for name, resp := range map[string]*http.Response{
		"payment": post(form), "replay": post(form), "refusal": post("txamt=-1"),
	} {
		if got := resp.Header.Get("X-Qfsign-Environment"); got != "embedded" {
			t.Errorf("%s (%d): X-Qfsign-Environment %q, want embedded", name, resp.StatusCode, got)
		}
	}
	if !strings.Contains(logs.String(), "environment embedded: payments go to the in-process QFPay double") {
		t.Errorf("no warning at start:\n%s", logs.String())
	}

	up := newUpstream(t, qfpaytest.Merchant{AppCode: testAppCode, ClientKey: testKey})
	listen, _ = startExample(t, "QFPAY_ENV="+up.URL, "QFPAY_APP_CODE="+testAppCode, "QFPAY_CLIENT_KEY="+testKey)
	resp, err := http.Post("http://"+listen+"/trade/v1/payment", "application/x-www-form-urlencoded", strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("X-Qfsign-Environment") != "" {
		t.Fatalf("real upstream: %d, X-Qfsign-Environment %q", resp.StatusCode, resp.Header.Get("X-Qfsign-Environment"))
	}
}
