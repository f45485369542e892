package cli

import (
	"errors"
	"fmt"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/qfsign/qfsign/signer"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "verify-notify",
		Usage: "--sign <X-QF-SIGN> [--key-file <path> | --key-env <VAR>] [--sign-type md5|sha256] < body",
		Short: "Verifies the signature of a QFPay notification",
		Long: `
Checks a QFPay asynchronous notification: --sign is the X-QF-SIGN header it
came with, standard input its body, byte for byte. QFPay signs the raw body
followed by the key, so nothing is trimmed or re-serialised: save the body
exactly as received (a newline added by an editor or echo breaks it).

Prints "ok" and exits 0 when the signature verifies; otherwise exits
non-zero with "signature does not verify". Hex case is ignored.

The key is read from --key-file (one trailing newline removed) or from the
environment variable named by --key-env (default QFPAY_CLIENT_KEY); it is
never accepted as a flag value and never printed.
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("sign", "", "The notification's X-QF-SIGN header value (required)")
			fs.String("sign-type", "md5", "Digest: md5 (QFPay's notifications) or sha256")
			addKeyFlags(fs, defaultKeyEnv, "Read the client key from this environment variable")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
				return runVerifyNotify(fl, cmdIO(cmd))
			})
		},
	})
}

var errNotVerified = errors.New("signature does not verify")

// runVerifyNotify is the verify-notify command.
func runVerifyNotify(fs caddycmd.Flags, st stdio) (int, error) {
	sig := strings.TrimSpace(fs.String("sign"))
	if sig == "" {
		return exitFailed, errors.New("--sign is required: the notification's X-QF-SIGN header value")
	}
	signType, err := signer.ParseSignType(fs.String("sign-type"))
	if err != nil {
		return exitFailed, fmt.Errorf("--sign-type: %w", err)
	}
	key, _, err := loadKey(fs, st.lookupEnv)
	if err != nil {
		return exitFailed, err
	}
	if key.IsZero() {
		return exitFailed, errors.New("no key: give --key-file <path> or --key-env <VAR>")
	}
	body, err := readInput(st.in, "the notification body")
	if err != nil {
		return exitFailed, err
	}
	if !signer.VerifyNotification(body, key, signType, sig) {
		return exitFailed, fmt.Errorf("%w (%s over %d bytes, key %s%s)",
			errNotVerified, signType, len(body), key.Fingerprint(), mismatchHint(body, sig, signType))
	}
	if _, err := fmt.Fprintln(st.out, "ok"); err != nil {
		return exitFailed, fmt.Errorf("writing the result: %w", err)
	}
	return exitOK, nil
}

// mismatchHint names the usual mistakes; it never weakens the verdict.
func mismatchHint(body []byte, sig string, t signer.SignType) string {
	switch {
	case t == signer.MD5 && len(sig) == 64:
		return "; the signature has 64 hex digits: --sign-type sha256?"
	case t == signer.SHA256 && len(sig) == 32:
		return "; the signature has 32 hex digits: --sign-type md5?"
	case len(body) > 0 && body[len(body)-1] == '\n':
		return "; the body ends with a newline: was it in what QFPay sent?"
	}
	return ""
}
