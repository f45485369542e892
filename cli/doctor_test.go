package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/qfsign/qfsign/doctor"
	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

const (
	doctorAppCode = "APPCODE-DOCTOR-1"
	doctorKey     = "LEAKCANARY-doctor-key-7c1e"
)

func runDoctorFunc(fs caddycmd.Flags, st stdio) (int, error) {
	return runDoctor(context.Background(), fs, st)
}

// doctorConfig writes a Caddyfile: global options, the qfpay app's body,
// and a site with the gateway and a notification route.
func doctorConfig(t *testing.T, global, app, notify string) string {
	t.Helper()
	cfg := fmt.Sprintf(`{
	%s
	qfpay {
		%s
	}
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway shop
	}
	route /qfpay/notify {
		qfpay_notify shop
		%s
	}
}
`, global, app, testredis.FreePort(t), notify)
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func staticMerchant(env string) string {
	return fmt.Sprintf(`environment %s
		merchant shop {
			app_code {env.QFSIGN_DOCTOR_APP}
			client_key {env.QFSIGN_DOCTOR_KEY}
		}`, env)
}

// doctorOutcome runs the doctor in JSON and decodes the report.
type doctorOutcome struct {
	outcome
	report struct {
		OK     bool           `json:"ok"`
		Checks []doctor.Check `json:"checks"`
	}
}

func (d doctorOutcome) check(scope, name string) doctor.Check {
	for _, c := range d.report.Checks {
		if c.Scope == scope && c.Name == name {
			return c
		}
	}
	return doctor.Check{Status: "absent"}
}

func runDoctorJSON(t *testing.T, config string) doctorOutcome {
	t.Helper()
	t.Setenv("QFSIGN_DOCTOR_APP", doctorAppCode)
	t.Setenv("QFSIGN_DOCTOR_KEY", doctorKey)
	o := doctorOutcome{outcome: run(t, runDoctorFunc, "doctor", env{}, "", "--config", config, "--json", "--timeout", "2s")}
	if err := json.Unmarshal([]byte(o.out), &o.report); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, o.out)
	}
	if strings.Contains(o.all(), doctorKey) {
		t.Errorf("the key shows in the doctor's output")
	}
	if (o.code == 0) != o.report.OK || (o.code == 0) != (o.err == nil) {
		t.Errorf("exit %d, err %v, report ok %v: they disagree", o.code, o.err, o.report.OK)
	}
	return o
}

func startDouble(t *testing.T, key string) string {
	t.Helper()
	run, err := qfpaytest.Start("127.0.0.1:0", qfpaytest.Merchant{AppCode: doctorAppCode, ClientKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = run.Close() })
	return run.URL
}

func wantCheck(t *testing.T, o doctorOutcome, scope, name string, status doctor.Status, detail string) {
	t.Helper()
	c := o.check(scope, name)
	if c.Status != status || !strings.Contains(c.Detail, detail) {
		t.Errorf("%s / %s: %s %q, want %s containing %q", scope, name, c.Status, c.Detail, status, detail)
	}
}

// TestDoctorQFPayOutcomes: the QFPay double with the right key, with
// another key, and not listening.
func TestDoctorQFPayOutcomes(t *testing.T) {
	fingerprint := signer.NewSecret(doctorKey).Fingerprint()
	t.Run("right key", func(t *testing.T) {
		o := runDoctorJSON(t, doctorConfig(t, "admin off", staticMerchant(startDouble(t, doctorKey)), "reverse_proxy 127.0.0.1:9"))
		if o.code != exitOK {
			t.Fatalf("exit %d: %s", o.code, o.out)
		}
		wantCheck(t, o, "merchant shop", "credentials", doctor.OK, "app_code "+doctorAppCode+", key "+fingerprint)
		wantCheck(t, o, "merchant shop", "signed query", doctor.OK, "respcd 0000")
		wantCheck(t, o, "qfpay", "http", doctor.OK, "answered HTTP 404")
	})
	t.Run("wrong key", func(t *testing.T) {
		o := runDoctorJSON(t, doctorConfig(t, "admin off", staticMerchant(startDouble(t, doctorKey+"-other")), "reverse_proxy 127.0.0.1:9"))
		if o.code != exitFailed || !errors.Is(o.err, errDoctorFailed) {
			t.Fatalf("exit %d, err %v", o.code, o.err)
		}
		wantCheck(t, o, "merchant shop", "signed query", doctor.Fail, "respcd 1108")
		wantCheck(t, o, "merchant shop", "credentials", doctor.OK, fingerprint)
	})
	t.Run("unreachable", func(t *testing.T) {
		closed := fmt.Sprintf("http://127.0.0.1:%d", testredis.FreePort(t))
		o := runDoctorJSON(t, doctorConfig(t, "admin off", staticMerchant(closed), "reverse_proxy 127.0.0.1:9"))
		if o.code != exitFailed {
			t.Fatalf("exit %d", o.code)
		}
		wantCheck(t, o, "qfpay", "tcp", doctor.Fail, "connection refused")
		wantCheck(t, o, "qfpay", "http", doctor.Skip, "TCP failed")
		wantCheck(t, o, "merchant shop", "signed query", doctor.Skip, "not reachable")
	})
}

// TestDoctorVault: credentials come through the Vault double the way the
// gateway loads them; with Vault down both login and read fail.
func TestDoctorVault(t *testing.T) {
	e := testvault.Start(t)
	e.Put(t, "qfpay/shop", map[string]any{"app_code": doctorAppCode, "client_key": doctorKey})
	t.Setenv("QFSIGN_DOCTOR_VAULT_TOKEN", e.Admin.Token())
	app := fmt.Sprintf(`environment %s
		vault {
			address %s
			auth token {env.QFSIGN_DOCTOR_VAULT_TOKEN}
		}
		merchant shop {
			vault %s/qfpay/shop
		}`, startDouble(t, doctorKey), e.Addr, e.Mount)
	config := doctorConfig(t, "admin off", app, "reverse_proxy 127.0.0.1:9")
	o := runDoctorJSON(t, config)
	if o.code != exitOK {
		t.Fatalf("exit %d: %s", o.code, o.out)
	}
	wantCheck(t, o, "vault", "login", doctor.OK, "auth token")
	wantCheck(t, o, "merchant shop", "credentials", doctor.OK, "vault "+e.Mount+"/qfpay/shop: app_code "+doctorAppCode+", key "+signer.NewSecret(doctorKey).Fingerprint()+", version v1")
	wantCheck(t, o, "merchant shop", "signed query", doctor.OK, "respcd 0000")
	if strings.Contains(o.all(), e.Admin.Token()) {
		t.Error("the Vault token shows")
	}

	e.SetDown(true)
	o = runDoctorJSON(t, config)
	if o.code != exitFailed {
		t.Fatalf("Vault down: exit %d", o.code)
	}
	wantCheck(t, o, "vault", "login", doctor.Fail, "login")
	wantCheck(t, o, "merchant shop", "credentials", doctor.Fail, "vault "+e.Mount+"/qfpay/shop")
	wantCheck(t, o, "merchant shop", "signed query", doctor.Skip, "no credentials")
}

// TestDoctorStore: a real Redis takes the probe record; a dead one fails.
func TestDoctorStore(t *testing.T) {
	double := startDouble(t, doctorKey)
	for _, tt := range []struct {
		name, addr string
		status     doctor.Status
		detail     string
	}{
		{"redis", testredis.Addr(t), doctor.OK, "written, read back and deleted"},
		{"redis down", fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t)), doctor.Fail, "write:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			app := staticMerchant(double) + "\n\t\tstore redis " + tt.addr + " {\n\t\t\tprefix qfsign-doctor-" + testvault.RandomID(4) + ":\n\t\t}"
			o := runDoctorJSON(t, doctorConfig(t, "admin off", app, "reverse_proxy 127.0.0.1:9"))
			wantCheck(t, o, "store", "write/read/delete", tt.status, "redis "+tt.addr)
			wantCheck(t, o, "store", "write/read/delete", tt.status, tt.detail)
			if want := tt.status == doctor.OK; o.report.OK != want {
				t.Errorf("report ok %v, want %v", o.report.OK, want)
			}
		})
	}
}

// TestDoctorConfigRisks: what the config says about the admin API,
// literal secrets and notification routes; warnings do not fail.
func TestDoctorConfigRisks(t *testing.T) {
	double := startDouble(t, doctorKey)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	tests := []struct {
		name, global, app, notify string
		scope, check              string
		status                    doctor.Status
		detail                    string
	}{
		{"admin default", "", staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "admin API", doctor.Warn, "on tcp localhost:2019"},
		{"admin off", "admin off", staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "admin API", doctor.OK, "off"},
		{"admin unix", "admin unix/" + sock, staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "admin API", doctor.OK, "unix socket " + sock},
		{"admin on all interfaces", "admin 0.0.0.0:2019", staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "admin API", doctor.Fail, "beyond loopback"},
		{"notify without application", "admin off", staticMerchant(double), "", "config", "notify routes", doctor.Warn, "qfpay_notify shop has no reverse_proxy"},
		{"notify with application", "admin off", staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "notify routes", doctor.OK, "1 qfpay_notify"},
		{"literal key (embedded)", "admin off", "environment embedded\n\t\tmerchant shop {\n\t\t\tapp_code DEMOAPP\n\t\t\tclient_key not-a-placeholder\n\t\t}", "reverse_proxy 127.0.0.1:9", "config", "literal secrets", doctor.Warn, "merchant shop client_key"},
		{"placeholders only", "admin off", staticMerchant(double), "reverse_proxy 127.0.0.1:9", "config", "literal secrets", doctor.OK, "none"},
		{"embedded double", "admin off", "environment embedded\n\t\tmerchant shop {\n\t\t}", "reverse_proxy 127.0.0.1:9", "qfpay", "environment", doctor.Warn, "embedded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := runDoctorJSON(t, doctorConfig(t, tt.global, tt.app, tt.notify))
			wantCheck(t, o, tt.scope, tt.check, tt.status, tt.detail)
			if want := tt.status != doctor.Fail; o.report.OK != want {
				t.Errorf("report ok %v, want %v: %s", o.report.OK, want, o.out)
			}
		})
	}
}

// TestDoctorUsageAndBadConfig: usage errors exit 2; a config that does not
// validate fails the report (exit 1) and names the problem.
func TestDoctorUsageAndBadConfig(t *testing.T) {
	if o := run(t, runDoctorFunc, "doctor", env{}, ""); o.code != exitUsage || !strings.Contains(o.err.Error(), "--config") {
		t.Errorf("no --config: exit %d, err %v", o.code, o.err)
	}
	if o := run(t, runDoctorFunc, "doctor", env{}, "", "--config", "x", doctorKey); o.code != exitUsage || strings.Contains(o.all(), doctorKey) {
		t.Errorf("extra argument: exit %d, output %q", o.code, o.all())
	}
	bad := doctorConfig(t, "admin off", "environment embedded\n\t\tmerchant shop {\n\t\t\tsign_type sha1\n\t\t}", "")
	o := runDoctorJSON(t, bad)
	if o.code != exitFailed {
		t.Fatalf("bad config: exit %d", o.code)
	}
	wantCheck(t, o, "config", "validate", doctor.Fail, "sign")
	missing := run(t, runDoctorFunc, "doctor", env{}, "", "--config", filepath.Join(t.TempDir(), "none"))
	if missing.code != exitFailed || !strings.Contains(missing.out, "FAIL") {
		t.Errorf("missing file: exit %d, out %q", missing.code, missing.out)
	}
}
