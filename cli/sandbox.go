package cli

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"unicode"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/qfsign/qfsign/qfpaytest"
	"github.com/qfsign/qfsign/signer"
)

const defaultSandboxListen = "127.0.0.1:9999"

func init() {
	register(caddycmd.Command{
		Name:  "sandbox",
		Usage: "[--listen <addr>] [--ledger <path> | --throwaway] [--app-code <code>] [--key-env <VAR> | --key-file <path>] [--mchid <id>] [--notify-url <url>] [--checkout-url <url>]",
		Short: "Runs the QFPay double standalone for application CI",
		Long: `
Serves qfpaytest, the QFPay double the gateway embeds, on --listen until
SIGINT or SIGTERM: /trade/v1/payment, query, refund, reversal, close and
add_note, with signatures verified on the double's own code path.

By default it accepts the demo credentials of the embedded environment
(printed at start; they are not secrets). --app-code, and --key-env or
--key-file, replace them with your own test credentials; such a key is
shown only by its fingerprint. --mchid makes the merchant one QFPay issued
an mchid to. --notify-url sends a QFPay-style signed notification there
after each successful payment and refund.

Online Alipay payments (801101, 801501 web; 801107, 801512 WAP) get a
pay_url on the sandbox itself: a checkout page where a browser pays,
cancels or leaves the order pending, as a customer would; the payment's
notification is sent when the browser pays. --checkout-url is the
sandbox's address as that browser reaches it (default: the listen
address, with 127.0.0.1 for an unspecified host), e.g.
http://localhost:9999 when the sandbox runs in a container.

Its ledger (payments, refunds, the syssn counter, checkout pages) is
kept in a file, by default in Caddy's data directory
($XDG_DATA_HOME/caddy/qfsign/sandbox-qfpay.db), so after a restart old
pay_urls open, queries find old orders and syssns do not repeat; one
sandbox per file. --ledger names another file; --throwaway keeps the
ledger in memory, gone when the sandbox stops.

Point the gateway at it with QFPAY_ENV=http://<listen address>.
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("listen", defaultSandboxListen, "Address to listen on")
			fs.String("ledger", "", "File the ledger is kept in (default: sandbox-qfpay.db in Caddy's data directory)")
			fs.Bool("throwaway", false, "Keep the ledger in memory only: gone when the sandbox stops")
			fs.String("app-code", qfpaytest.DemoAppCode, "App code the double accepts")
			addKeyFlags(fs, "", "Read the client key from this environment variable (default: the demo key)")
			fs.String("mchid", "", "mchid the merchant must send (default: none, and mchid is refused)")
			fs.String("notify-url", "", "Send notifications of successful payments and refunds to this URL")
			fs.String("checkout-url", "", "Base of the checkout page's pay_url, as a browser reaches the sandbox (default: the listen address)")
			cmd.RunE = actionable(func(fl caddycmd.Flags) (int, error) {
				ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				return runSandbox(ctx, fl, cmdIO(cmd))
			})
		},
	})
}

// sandboxConfig is the sandbox's merchant and settings, from the flags.
type sandboxConfig struct {
	listen    string
	ledger    string // "" with --throwaway
	merchant  qfpaytest.Merchant
	keyDesc   string // what to print for the key: the demo value or a fingerprint
	keyExport string // the QFPAY_CLIENT_KEY=... part of the example line
	notifyURL *url.URL
	checkout  string // base of pay_url; "" until the listener's address is known
}

func newSandboxConfig(fs caddycmd.Flags, st stdio) (sandboxConfig, error) {
	c := sandboxConfig{listen: fs.String("listen"), ledger: fs.String("ledger")}
	if err := noArgs(fs); err != nil {
		return c, err
	}
	switch {
	case fs.Bool("throwaway") && c.ledger != "":
		return c, usagef("--ledger and --throwaway: give one")
	case fs.Bool("throwaway"):
	case c.ledger == "":
		c.ledger = filepath.Join(caddy.AppDataDir(), "qfsign", "sandbox-qfpay.db")
	}
	appCode := fs.String("app-code")
	if appCode == "" || strings.IndexFunc(appCode, unicode.IsControl) >= 0 {
		return c, usagef("--app-code: empty or with control characters")
	}
	key, source, err := keyText(fs, st.lookupEnv)
	if err != nil {
		return c, err
	}
	c.keyDesc, c.keyExport = qfpaytest.DemoClientKey+" (demo value, not a secret)", qfpaytest.DemoClientKey
	if key == "" {
		key = qfpaytest.DemoClientKey
	} else {
		c.keyDesc, c.keyExport = signer.NewSecret(key).Fingerprint()+" (from "+source+")", keyReference(fs)
	}
	c.merchant = qfpaytest.Merchant{AppCode: appCode, ClientKey: key, MchID: fs.String("mchid")}
	if n := fs.String("notify-url"); n != "" {
		u, err := url.Parse(n)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, usagef("--notify-url: want an absolute http(s) URL")
		}
		c.notifyURL = u
	}
	if v := fs.String("checkout-url"); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return c, usagef("--checkout-url: want an http(s) base URL without path, query or credentials")
		}
		c.checkout = u.Scheme + "://" + u.Host
	}
	return c, nil
}

// browserBase is where a browser on this machine reaches a listener on
// addr: an unspecified host (0.0.0.0, ::) becomes 127.0.0.1.
func browserBase(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// keyReference is how the example line refers to a non-demo key without
// printing it: the variable or the file it came from.
func keyReference(fs caddycmd.Flags) string {
	if f := fs.String("key-file"); f != "" {
		return `"$(cat '` + f + `')"`
	}
	return `"$` + fs.String("key-env") + `"`
}

// runSandbox serves the double until ctx ends, then closes it.
func runSandbox(ctx context.Context, fs caddycmd.Flags, st stdio) (int, error) {
	c, err := newSandboxConfig(fs, st)
	if err != nil {
		return exitFor(err, exitInput), err
	}
	run, err := c.start()
	if err != nil {
		return exitFailed, fmt.Errorf("sandbox: %w", err)
	}
	if c.notifyURL != nil {
		run.SetNotifyURL(c.notifyURL.String())
	}
	if c.checkout == "" {
		c.checkout = browserBase(run.Addr)
	}
	run.SetCheckoutURL(c.checkout)
	if err := c.print(st.out, run.URL); err != nil {
		_ = run.Close()
		return exitFailed, fmt.Errorf("sandbox: writing the banner: %w", err)
	}
	<-ctx.Done()
	fmt.Fprintln(st.errOut, "qfsign sandbox: stopping")
	if err := run.Close(); err != nil {
		return exitFailed, fmt.Errorf("sandbox: closing: %w", err)
	}
	return exitOK, nil
}

// start serves the double on its ledger file, or in memory (--throwaway).
func (c sandboxConfig) start() (*qfpaytest.Running, error) {
	if c.ledger == "" {
		return qfpaytest.Start(c.listen, c.merchant)
	}
	return qfpaytest.StartPersistent(c.ledger, c.listen, c.merchant)
}

func (c sandboxConfig) print(w io.Writer, base string) error {
	notify := "(none)"
	if c.notifyURL != nil {
		notify = c.notifyURL.Redacted()
	}
	ledger := c.ledger + " (kept across restarts; --throwaway for none)"
	if c.ledger == "" {
		ledger = "(memory: gone when the sandbox stops)"
	}
	mchid := "(none: requests must not send mchid)"
	if c.merchant.MchID != "" {
		mchid = c.merchant.MchID
	}
	_, err := fmt.Fprintf(w, `qfsign sandbox: QFPay double listening
  base URL:    %s
  app code:    %s
  client key:  %s
  mchid:       %s
  sign types:  md5 (default) or sha256 with X-QF-SIGNTYPE: SHA256
  notify URL:  %s
  checkout:    %s/checkout/<id> (pay_url of 801101, 801501, 801107, 801512: open it in a browser)
  ledger:      %s
point the gateway at it:
  QFPAY_ENV=%s QFPAY_APP_CODE=%s QFPAY_CLIENT_KEY=%s qfsign run --config Caddyfile.example
stop with Ctrl-C or SIGTERM
`, base, c.merchant.AppCode, c.keyDesc, mchid, notify, c.checkout, ledger, base, c.merchant.AppCode, c.keyExport)
	return err
}
