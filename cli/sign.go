package cli

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/qfsign/qfsign/signer"
)

func init() {
	register(caddycmd.Command{
		Name:  "sign",
		Usage: "[--key-file <path> | --key-env <VAR>] [--sign-type md5|sha256] [--charset <label>] [--strict-escapes] [--app-code <code>] [--explain] [<name>=<value> ...]",
		Short: "Prints the X-QF-SIGN signature of a QFPay form",
		Long: `
Signs a QFPay request form exactly as the gateway does and prints the
X-QF-SIGN value: MD5 as upper-case hex (default), SHA-256 as lower-case hex.

The form is given either as arguments, one <name>=<value> each with the
value raw (not URL-encoded; quote it for the shell), or, with no arguments,
as an application/x-www-form-urlencoded body on standard input (trailing
newlines are ignored). Parsing is the gateway's: repeated names, invalid
UTF-8 and control characters are errors; a '%' without two hex digits is
a literal '%' (as PHP and Python read it) unless --strict-escapes, as
qfpay_gateway's strict_escapes, makes it an error. Every field is signed as
given, empty values included. As in the gateway, line breaks and tabs
are errors too, except in extend_info and goods_info (JSON text).
--charset names the encoding of the values (big5, gbk, shift_jis, ...;
default UTF-8). Standard input must be a pipe or a file: with no
arguments at a terminal the command stops rather than wait.

The key is read from --key-file (one trailing newline removed) or from the
environment variable named by --key-env (default QFPAY_CLIENT_KEY). It is
never accepted as a flag value: --key is refused.

--explain also writes to standard error the sorted canonical string with
every value masked to its length in bytes, the key's fingerprint, the sign
type and the headers that would be sent; never a value or the key.

Exit status: 0 signed, 2 usage (a flag, an argument, a terminal on
standard input), 3 input (the key or the form cannot be used).
`,
		CobraFunc: func(cmd *cobra.Command) {
			fs := cmd.Flags()
			addKeyFlags(fs, defaultKeyEnv, "Read the client key from this environment variable")
			fs.String("sign-type", "md5", "Digest: md5 (upper-case hex) or sha256 (lower-case hex)")
			fs.String("charset", "", "Encoding of the form values (default UTF-8)")
			fs.Bool("strict-escapes", false, "Refuse a '%' not followed by two hex digits, as qfpay_gateway's strict_escapes")
			fs.String("app-code", "", "App code to show in the --explain header list")
			fs.Bool("explain", false, "Explain the signature on standard error (values masked)")
			cmd.RunE = actionable(func(fl caddycmd.Flags) (int, error) {
				return runSign(fl, cmdIO(cmd))
			})
		},
	})
}

// runSign is the sign command; fs holds the parsed flags and arguments.
func runSign(fs caddycmd.Flags, st stdio) (int, error) {
	e, err := signForm(fs, st)
	if err != nil {
		return exitFor(err, exitInput), err
	}
	if _, err := fmt.Fprintln(st.out, e.sig); err != nil {
		return exitFailed, fmt.Errorf("writing the signature: %w", err)
	}
	if fs.Bool("explain") {
		if err := e.write(st.errOut); err != nil {
			return exitFailed, fmt.Errorf("writing the explanation: %w", err)
		}
	}
	return exitOK, nil
}

// signForm reads the flags, the key and the form, and signs.
func signForm(fs caddycmd.Flags, st stdio) (explanation, error) {
	e := explanation{appCode: fs.String("app-code")}
	var err error
	if e.signType, err = signer.ParseSignType(fs.String("sign-type")); err != nil {
		return e, usagef("--sign-type: %w", err)
	}
	cs, err := signer.LookupCharset(fs.String("charset"))
	if err != nil {
		return e, usagef("--charset: %w", err)
	}
	if strings.IndexFunc(e.appCode, unicode.IsControl) >= 0 {
		return e, usagef("--app-code: control characters")
	}
	if e.key, e.keySource, err = loadKey(fs, st.lookupEnv); err != nil {
		return e, err
	}
	if e.key.IsZero() {
		return e, usagef("no key: give --key-file <path> or --key-env <VAR>")
	}
	body, err := formBody(fs.Args(), st)
	if err != nil {
		return e, err
	}
	parse := signer.ParseForm
	if fs.Bool("strict-escapes") {
		parse = signer.ParseFormStrict
	}
	if e.params, err = parse(body, cs); err != nil {
		return e, fmt.Errorf("the form: %w", err)
	}
	if err := signer.CheckLines(e.params); err != nil {
		return e, fmt.Errorf("the form: %w", err)
	}
	if len(e.params) == 0 {
		return e, errors.New("the form has no fields")
	}
	e.sig = signer.Sign(e.params, e.key, e.signType)
	return e, nil
}

// formBody returns the urlencoded form: built from name=value arguments
// (values raw, escaped here), or read from standard input when there are
// none. Errors name an argument by position, never by its text.
func formBody(args []string, st stdio) ([]byte, error) {
	if len(args) == 0 {
		b, err := readInput(st.in, "the form")
		if err != nil {
			return nil, err
		}
		b = bytes.TrimRight(b, "\r\n")
		if len(b) == 0 {
			return nil, usagef("no form: give <name>=<value> arguments or a urlencoded body on standard input")
		}
		return b, nil
	}
	var b strings.Builder
	for i, arg := range args {
		name, value, ok := strings.Cut(arg, "=")
		if !ok {
			return nil, usagef("argument %d: want <name>=<value>", i+1)
		}
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(name))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(value))
	}
	return []byte(b.String()), nil
}
