package cli

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/qfsign/qfsign/signer"
)

func init() {
	register(caddycmd.Command{
		Name:  "verify-notify",
		Usage: "--sign <X-QF-SIGN> [--key-file <path> | --key-env <VAR>] [--sign-type md5|sha256] < body",
		Short: "Verifies the signature of a QFPay notification",
		Long: `
Checks a QFPay asynchronous notification: --sign is the X-QF-SIGN header it
came with, standard input its body, byte for byte. QFPay signs the raw body
followed by the key, so nothing is trimmed or re-serialised: save the body
exactly as received (a newline added by an editor or echo breaks it).

Prints "ok" and exits 0 when the signature verifies; exits 1 with
"signature does not verify" when it does not. Hex case is ignored. Exit
status 2 is a usage error (a flag, an extra argument, a terminal on
standard input), 3 a key or body that cannot be read.

The key is read from --key-file (one trailing newline removed) or from the
environment variable named by --key-env (default QFPAY_CLIENT_KEY); it is
never accepted as a flag value and never printed.
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			fs.String("sign", "", "The notification's X-QF-SIGN header value (required)")
			fs.String("sign-type", "md5", "Digest: md5 (QFPay's notifications) or sha256")
			addKeyFlags(fs, defaultKeyEnv, "Read the client key from this environment variable")
			cmd.RunE = actionable(func(fl caddycmd.Flags) (int, error) {
				return runVerifyNotify(fl, cmdIO(cmd))
			})
		},
	})
}

var errNotVerified = errors.New("signature does not verify")

// runVerifyNotify is the verify-notify command.
func runVerifyNotify(fs caddycmd.Flags, st stdio) (int, error) {
	key, sig, signType, err := verifyInputs(fs, st)
	if err != nil {
		return exitFor(err, exitInput), err
	}
	body, err := readInput(st.in, "the notification body")
	if err != nil {
		return exitFor(err, exitInput), err
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

// verifyInputs reads the flags and the key.
func verifyInputs(fs caddycmd.Flags, st stdio) (signer.Secret, string, signer.SignType, error) {
	if err := noArgs(fs); err != nil {
		return signer.Secret{}, "", 0, err
	}
	sig := strings.TrimSpace(fs.String("sign"))
	if sig == "" {
		return signer.Secret{}, "", 0, usagef("--sign is required: the notification's X-QF-SIGN header value")
	}
	if strings.IndexFunc(sig, unicode.IsControl) >= 0 {
		return signer.Secret{}, "", 0, usagef("--sign: control characters")
	}
	signType, err := signer.ParseSignType(fs.String("sign-type"))
	if err != nil {
		return signer.Secret{}, "", 0, usagef("--sign-type: %w", err)
	}
	key, _, err := loadKey(fs, st.lookupEnv)
	if err == nil && key.IsZero() {
		err = usagef("no key: give --key-file <path> or --key-env <VAR>")
	}
	return key, sig, signType, err
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
