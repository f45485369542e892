package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// Caddy's wrapper (caddycmd.WrapCommandFuncForCobra) prints a failed
// command's error as a log line (JSON off a terminal) holding the whole
// provisioning chain: ~600 characters of module paths before the part a
// person can act on. qfsign's commands print one line instead,
// `Error: ...`, ending with what to do; the exit status is unchanged.

// actionable wraps a command function like Caddy's wrapper, printing a
// failure as one summarised line on the command's standard error.
func actionable(f caddycmd.CommandFunc) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		status, err := f(caddycmd.Flags{FlagSet: cmd.Flags()})
		if err != nil {
			printError(cmd.ErrOrStderr(), err)
		}
		return exitStatus(cmd, status, err)
	}
}

// printError writes err as one line, summarised.
func printError(w io.Writer, err error) {
	fmt.Fprintln(w, "Error: "+summarise(err.Error()))
}

// exitStatus hands status to Caddy's main, which exits with it: Caddy's
// wrapper makes the exit error for status > 1 (given no error, it logs
// nothing); any other error exits 1, as with Caddy's wrapper; cobra must
// not print it again.
func exitStatus(cmd *cobra.Command, status int, err error) error {
	cmd.SilenceErrors = true
	if status > 1 {
		return caddycmd.WrapCommandFuncForCobra(func(caddycmd.Flags) (int, error) { return status, nil })(cmd, nil)
	}
	if err != nil {
		return errAlreadyPrinted
	}
	return nil
}

var errAlreadyPrinted = errors.New("qfsign: the error is printed above")

// provisionPrefix is how Caddy prefixes a module's provisioning error;
// the innermost one is followed by the module's own message.
var provisionPrefix = regexp.MustCompile(`(?:provision|loading module '[^']*': provision) [a-z0-9_.]+: `)

// summarise keeps the part of Caddy's error chain a person acts on: the
// innermost module's message (which names the field, the variable to set
// or the file to fix), or the adapter's message for a Caddyfile error.
func summarise(chain string) string {
	if loc := provisionPrefix.FindAllStringIndex(chain, -1); len(loc) > 0 {
		return oneLine(chain[loc[len(loc)-1][1]:])
	}
	for _, p := range []string{"loading initial config: ", "loading new config: "} {
		chain = strings.TrimPrefix(chain, p)
	}
	return oneLine(chain)
}

// oneLine joins a multi-line message (a Caddyfile parse error can span
// lines) so the error stays one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
