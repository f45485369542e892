package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// stdio is what a command reads and writes besides its flags. The cobra
// wiring passes the process's streams and environment; tests pass their own.
type stdio struct {
	in        io.Reader
	out       io.Writer // results: a signature, "ok", the sandbox's address
	errOut    io.Writer // explanations and notices
	lookupEnv func(string) (string, bool)
}

func cmdIO(cmd *cobra.Command) stdio {
	return stdio{in: cmd.InOrStdin(), out: cmd.OutOrStdout(), errOut: cmd.ErrOrStderr(), lookupEnv: os.LookupEnv}
}

// Exit statuses, as caddycmd.WrapCommandFuncForCobra turns them into the
// process's (the error says more):
//
//	0 success
//	1 the check failed: a signature does not verify, a doctor check failed
//	2 usage: a flag or argument is missing, extra or malformed
//	3 input: the key, the form or standard input cannot be used
//
// Status 1 reaches the process only with an error: Caddy exits 0 for
// (1, nil), so every failure returns its error.
const (
	exitOK     = caddy.ExitCodeSuccess
	exitFailed = caddy.ExitCodeFailedStartup
	exitUsage  = 2
	exitInput  = 3
)

// usageError marks a mistake in the command line: exit status 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// exitFor is the status for err: 2 for usage errors (a terminal on
// standard input included), otherwise def.
func exitFor(err error, def int) int {
	if _, ok := errors.AsType[usageError](err); ok || errors.Is(err, errTerminal) {
		return exitUsage
	}
	return def
}

// noArgs refuses positional arguments for commands that take none, so a
// mistyped flag is not silently ignored. The arguments are counted, never
// echoed: one may be a key pasted in the wrong place.
func noArgs(fs caddycmd.Flags) error {
	if n := fs.NArg(); n > 0 {
		return usagef("%d unexpected argument(s): this command takes flags only", n)
	}
	return nil
}

// errTerminal: a command would wait silently for input typed at a
// terminal; it asks for a pipe or arguments instead.
var errTerminal = errors.New("standard input is a terminal: pipe the input in (< file) instead of typing it")

// isTerminal reports whether r is a terminal.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// maxInput caps stdin: a QFPay form or notification is a few KiB.
const maxInput = 1 << 20

// readInput reads all of r, refusing more than maxInput bytes.
func readInput(r io.Reader, what string) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: no standard input", what)
	}
	if isTerminal(r) {
		return nil, fmt.Errorf("%s: %w", what, errTerminal)
	}
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s from standard input: %w", what, err)
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("%s: %w", what, errTooLarge)
	}
	return b, nil
}

var errTooLarge = errors.New("standard input is larger than 1 MiB")
