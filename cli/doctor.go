package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/qfsign/qfsign/caddymodule"
	"github.com/qfsign/qfsign/doctor"
	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/store"
)

func init() {
	register(caddycmd.Command{
		Name:  "doctor",
		Usage: "--config <Caddyfile|config.json> [--adapter <name>] [--json] [--timeout <duration>]",
		Short: "Checks that a config will work: keys, QFPay, store, risks",
		Long: `
Checks a qfsign config the way the gateway would run it, without serving:

  config    adapts and validates it; warns about an admin API over TCP, a
            secret written literally, a qfpay_notify route that reaches no
            application
  store     writes, reads back and deletes a probe record
  qfpay     reaches QFPay's host step by step: DNS, TCP, TLS, HTTP
  merchant  loads each merchant's credentials the configured way (Vault
            login and KV read, or the environment and files), shows the
            key's fingerprint (never the key), and sends one signed
            /trade/v1/query for an out_trade_no that cannot exist: QFPay
            answering 0000 proves it accepts the app_code and signature

Prints a report (--json: one JSON object, for CI). Exit status: 0 when no
check failed (warnings allowed), 1 when one did, 2 for a usage error.
The query touches no order; it counts against QFPay's rate limit once.
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("config", "", "The config to check: a Caddyfile or JSON (required)")
			fs.String("adapter", "", "Config adapter (default: caddyfile unless the file name ends in .json)")
			fs.Bool("json", false, "Print the report as JSON")
			fs.Duration("timeout", 5*time.Second, "Timeout of each network step")
			cmd.RunE = actionable(func(fl caddycmd.Flags) (int, error) {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return runDoctor(ctx, fl, cmdIO(cmd))
			})
		},
	})
}

var errDoctorFailed = errors.New("doctor: at least one check failed")

// runDoctor is the doctor command.
func runDoctor(ctx context.Context, fs caddycmd.Flags, st stdio) (int, error) {
	path := fs.String("config")
	if path == "" {
		return exitUsage, errors.New("--config is required: the Caddyfile or JSON config to check")
	}
	if err := noArgs(fs); err != nil {
		return exitUsage, err
	}
	r := &doctor.Report{Config: path}
	if app := loadApp(ctx, r, path, fs.String("adapter")); app != nil {
		defer app.Cleanup()
		diagnose(ctx, r, app, doctor.Network{Timeout: fs.Duration("timeout")})
	}
	write := r.WriteText
	if fs.Bool("json") {
		write = r.WriteJSON
	}
	if err := write(st.out); err != nil {
		return exitFailed, fmt.Errorf("writing the report: %w", err)
	}
	if r.Failed() {
		return exitFailed, errDoctorFailed
	}
	return exitOK, nil
}

// loadApp adapts and validates the config, reads it for risks, and
// provisions its qfpay app. nil means a failure already in the report.
func loadApp(ctx context.Context, r *doctor.Report, path, adapter string) *caddymodule.App {
	if adapter == "" && !strings.EqualFold(filepath.Ext(path), ".json") {
		adapter = "caddyfile"
	}
	cfgJSON, _, _, err := caddycmd.LoadConfig(path, adapter)
	if err != nil {
		r.Add("config", "adapt", doctor.Fail, "%v", err)
		return nil
	}
	var cfg caddy.Config
	if err := caddy.StrictUnmarshalJSON(cfgJSON, &cfg); err != nil {
		r.Add("config", "decode", doctor.Fail, "%v", err)
		return nil
	}
	cfg.Logging = discardLogs()
	if err := caddy.Validate(&cfg); err != nil {
		r.Add("config", "validate", doctor.Fail, "%v", err)
		return nil
	}
	r.Add("config", "validate", doctor.OK, "adapted (%s) and validated: every module provisions", adapterName(adapter))
	r.Checks = append(r.Checks, doctor.ConfigChecks(cfgJSON)...)
	var apps struct {
		Apps struct {
			QFPay json.RawMessage `json:"qfpay"`
		} `json:"apps"`
	}
	_ = json.Unmarshal(cfgJSON, &apps)
	if len(apps.Apps.QFPay) == 0 {
		r.Add("config", "qfpay app", doctor.Fail, "the config has no qfpay app: nothing to sign for")
		return nil
	}
	// The qfpay app alone, provisioned as in the gateway but not started:
	// nothing serves and no key refresher runs.
	cctx, err := caddy.ProvisionContext(&caddy.Config{AppsRaw: caddy.ModuleMap{"qfpay": apps.Apps.QFPay}, Logging: discardLogs()})
	if err != nil {
		r.Add("config", "qfpay app", doctor.Fail, "%v", err)
		return nil
	}
	app, err := cctx.App("qfpay")
	if err != nil {
		r.Add("config", "qfpay app", doctor.Fail, "%v", err)
		return nil
	}
	return app.(*caddymodule.App)
}

// discardLogs keeps Caddy's logging (and any log file the config names)
// closed: the report is the output.
func discardLogs() *caddy.Logging {
	return &caddy.Logging{Logs: map[string]*caddy.CustomLog{"default": {BaseLog: caddy.BaseLog{WriterRaw: json.RawMessage(`{"output":"discard"}`)}}}}
}

func adapterName(a string) string {
	if a == "" {
		return "JSON"
	}
	return a
}

// diagnose runs the store, QFPay and per-merchant checks.
func diagnose(ctx context.Context, r *doctor.Report, app *caddymodule.App, nw doctor.Network) {
	v, err := app.Doctor()
	if err != nil {
		r.Add("config", "qfpay app", doctor.Fail, "%v", err)
		return
	}
	switch {
	case errors.Is(v.StoreOpen, store.ErrLocked):
		r.Add("store", "write/read/delete", doctor.Warn, "%s: held by a running qfsign (one owner per file), not probed", v.StoreDesc)
	case v.StoreOpen != nil:
		r.Add("store", "write/read/delete", doctor.Fail, "%s: open: %v", v.StoreDesc, v.StoreOpen)
	default:
		r.Checks = append(r.Checks, doctor.ProbeStore(ctx, v.Store, v.StoreDesc))
	}
	if v.Embedded {
		r.Add("qfpay", "environment", doctor.Warn, "embedded: the in-process QFPay double answers at %s; no payment leaves this process", v.Upstream)
	} else {
		r.Add("qfpay", "environment", doctor.OK, "%s", v.Upstream)
	}
	checks, reachable := nw.Reach(ctx, v.Upstream, v.Client)
	r.Checks = append(r.Checks, checks...)
	if v.VaultLogin != nil {
		if err := v.VaultLogin(ctx); err != nil {
			r.Add("vault", "login", doctor.Fail, "%s: %v", v.VaultDesc, err)
		} else {
			r.Add("vault", "login", doctor.OK, "%s", v.VaultDesc)
		}
	}
	for _, m := range v.Merchants {
		merchant(ctx, r, v, m, reachable)
	}
}

// merchant loads one merchant's credentials and has QFPay judge them.
func merchant(ctx context.Context, r *doctor.Report, v caddymodule.DoctorView, m caddymodule.DoctorMerchant, reachable bool) {
	scope := "merchant " + m.Name
	creds, err := m.Credentials(ctx)
	if err != nil {
		r.Add(scope, "credentials", doctor.Fail, "%s: %v", m.Source, err)
		r.Add(scope, "signed query", doctor.Skip, "not run: no credentials")
		return
	}
	mchid := "none"
	if creds.MchID != "" {
		mchid = creds.MchID
	}
	r.Add(scope, "credentials", doctor.OK, "%s: app_code %s, key %s, version %s, mchid %s, sign_type %s",
		m.Source, creds.AppCode, creds.Key.Fingerprint(), creds.Version, mchid, m.SignType)
	if !reachable {
		r.Add(scope, "signed query", doctor.Skip, "not run: QFPay is not reachable")
		return
	}
	status, detail := query(ctx, v, m, &creds)
	r.Add(scope, "signed query", status, "%s", detail)
}

func query(ctx context.Context, v caddymodule.DoctorView, m caddymodule.DoctorMerchant, creds *keys.Credentials) (doctor.Status, string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req := caddymodule.NewQueryRequest(ctx, v.Upstream, creds, m.SignType, doctor.ProbeOrderNo())
	resp, err := v.Client.Do(req)
	if err != nil {
		return doctor.Fail, fmt.Sprintf("POST /trade/v1/query: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return doctor.Fail, fmt.Sprintf("reading QFPay's answer: %v", err)
	}
	return doctor.QueryVerdict(resp.StatusCode, body)
}
