package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/pflag"

	"github.com/qfsign/qfsign/signer"
)

// defaultKeyEnv is where sign and verify-notify look for the key by
// default: the same variable Caddyfile.example reads.
const defaultKeyEnv = "QFPAY_CLIENT_KEY"

// maxKeyFile bounds a key file; QFPay keys are 32 characters.
const maxKeyFile = 4096

// refusedKeyFlags would put the key on the command line, where shell
// history and ps show it. They exist only to be refused with a clear error.
var refusedKeyFlags = []string{"key", "client-key"}

var errPlainKey = errors.New("the key is never accepted as a flag value (shell history and ps would show it): " +
	"use --key-file <path> or --key-env <VAR>")

// addKeyFlags defines --key-file, --key-env (default envDefault) and the
// hidden, refused --key and --client-key.
func addKeyFlags(fs *pflag.FlagSet, envDefault, envUsage string) {
	fs.String("key-file", "", "Read the client key from this file (one trailing newline is removed)")
	fs.String("key-env", envDefault, envUsage)
	for _, name := range refusedKeyFlags {
		fs.String(name, "", "refused: use --key-file or --key-env")
		_ = fs.MarkHidden(name)
	}
}

// loadKey returns the key named by the flags and a description of where it
// came from, for messages. With no --key-file and an empty --key-env it
// returns a zero Secret and no error: the caller decides (sandbox: demo key).
func loadKey(fs caddycmd.Flags, lookupEnv func(string) (string, bool)) (signer.Secret, string, error) {
	text, source, err := keyText(fs, lookupEnv)
	if err != nil || text == "" {
		return signer.Secret{}, source, err
	}
	return signer.NewSecret(text), source, nil
}

// keyText is loadKey's plain string. Only the sandbox keeps it (the double
// compares keys itself, in this process); everything else wraps it at once.
func keyText(fs caddycmd.Flags, lookupEnv func(string) (string, bool)) (string, string, error) {
	for _, name := range refusedKeyFlags {
		if fs.Changed(name) {
			return "", "", usageError{fmt.Errorf("--%s: %w", name, errPlainKey)}
		}
	}
	file, env := fs.String("key-file"), fs.String("key-env")
	if file != "" && fs.Changed("key-env") {
		return "", "", usagef("give --key-file or --key-env, not both")
	}
	if file != "" {
		key, err := readKeyFile(file)
		return key, "file " + file, err
	}
	if env == "" {
		return "", "", nil
	}
	v, ok := lookupEnv(env)
	if !ok || v == "" {
		return "", "", fmt.Errorf("no key: environment variable %s is not set or empty (or give --key-file <path>)", env)
	}
	key, err := cleanKey(v)
	if err != nil {
		return "", "", fmt.Errorf("key from environment variable %s: %w", env, err)
	}
	return key, "environment variable " + env, nil
}

func readKeyFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("reading the key file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return "", fmt.Errorf("reading the key file %s: %w", path, err)
	}
	if len(b) > maxKeyFile {
		return "", fmt.Errorf("key file %s: larger than %d bytes: not a QFPay client key", path, maxKeyFile)
	}
	key, err := cleanKey(string(b))
	if err != nil {
		return "", fmt.Errorf("key file %s: %w", path, err)
	}
	return key, nil
}

var (
	errKeyEmpty      = errors.New("the key is empty")
	errKeyWhitespace = errors.New("the key has surrounding whitespace (only one trailing newline is removed)")
	errKeyControl    = errors.New("the key contains control characters")
)

// cleanKey applies the gateway's rules (keys.NewCredentials): one trailing
// newline is removed; any other surrounding whitespace or control
// character is an error, so a key that signs here also loads there.
func cleanKey(v string) (string, error) {
	v = strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
	switch {
	case v == "":
		return "", errKeyEmpty
	case strings.TrimSpace(v) != v:
		return "", errKeyWhitespace
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "", errKeyControl
	}
	return v, nil
}
