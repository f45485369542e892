package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"
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
// process's: 0 success, 1 any failure (the error says which).
const (
	exitOK     = caddy.ExitCodeSuccess
	exitFailed = caddy.ExitCodeFailedStartup
)

// maxInput caps stdin: a QFPay form or notification is a few KiB.
const maxInput = 1 << 20

// readInput reads all of r, refusing more than maxInput bytes.
func readInput(r io.Reader, what string) ([]byte, error) {
	if r == nil {
		return nil, fmt.Errorf("%s: no standard input", what)
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
