package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// Caddy's run and validate log a provisioning failure themselves (inside
// caddycmd.WrapCommandFuncForCobra, through a logger the failed config
// set up), so qfsign cannot shorten that line after the fact. Instead it
// loads and provisions the config first, as `validate` does, with every
// log discarded: a failure is printed as one line and Caddy's command is
// not run; a config that provisions is handed to Caddy's command as is.

// register is caddycmd.RegisterCommand for qfsign's commands. Caddy
// offers no hook on its root command, but it adds each command to the
// root as it builds it: a command of ours built after another finds the
// root through that one's parent (by then Caddy's own are added too).
func register(c caddycmd.Command) {
	build := c.CobraFunc
	c.CobraFunc = func(cmd *cobra.Command) {
		build(cmd)
		for _, prev := range built {
			if root := prev.Root(); prev.HasParent() && !adopted[root] {
				adopted[root] = true
				adoptRoot(root)
			}
		}
		built = append(built, cmd)
	}
	caddycmd.RegisterCommand(c)
}

var (
	built   []*cobra.Command
	adopted = map[*cobra.Command]bool{}
)

// adoptRoot makes the root's help qfsign's and puts the pre-check in
// front of Caddy's run and validate.
func adoptRoot(root *cobra.Command) {
	root.Example = rootExample
	root.SetHelpTemplate(strings.Replace(root.HelpTemplate(),
		"https://caddyserver.com/docs/command-line", "README.md and docs/ of https://github.com/qfsign/qfsign", 1))
	for _, sub := range root.Commands() {
		if sub.Name() == "run" || sub.Name() == "validate" {
			sub.RunE = precheck(sub.RunE)
		}
	}
}

const rootExample = `  $ qfsign run --config Caddyfile.example
  $ QFPAY_ENV=test QFPAY_APP_CODE=... QFPAY_CLIENT_KEY=... qfsign run --config Caddyfile.example
  $ qfsign validate --config Caddyfile.example
  $ qfsign doctor --config Caddyfile.example`

// precheck provisions the config before Caddy's command runs. Configs it
// cannot load the way Caddy would (from standard input, with --envfile
// or --resume) go straight to Caddy's command.
func precheck(caddyRunE func(*cobra.Command, []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		fs := caddycmd.Flags{FlagSet: cmd.Flags()}
		config := fs.String("config")
		if config == "-" || flagSet(cmd, "envfile") || flagSet(cmd, "resume") {
			return caddyRunE(cmd, args)
		}
		if chain, err := provision(config, fs.String("adapter")); err != nil {
			printError(cmd.ErrOrStderr(), err)
			if chain.debug {
				fmt.Fprintln(cmd.ErrOrStderr(), "Debug: "+err.Error())
			}
			return exitStatus(cmd, caddy.ExitCodeFailedStartup, err)
		}
		return caddyRunE(cmd, args)
	}
}

func flagSet(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// loaded is what the pre-check learnt of the config.
type loaded struct {
	debug bool // the config's default log is at debug level: show the whole chain
}

// provision adapts and provisions the config with its logs discarded, as
// `caddy validate` does. An environment typo's error names the variable
// the Caddyfile reads it from.
func provision(config, adapter string) (loaded, error) {
	var l loaded
	_, orig, _ := caddy.BufferedLog() // LoadConfig's "using config" lines: dropped
	defer caddy.UnbufferDefaultLogger(orig)
	input, file, _, err := caddycmd.LoadConfig(config, adapter)
	if err != nil {
		return l, err
	}
	var cfg *caddy.Config
	if err := caddy.StrictUnmarshalJSON(caddy.RemoveMetaFields(input), &cfg); err != nil {
		return l, fmt.Errorf("decoding config: %w", err)
	}
	if cfg == nil {
		return l, nil // no config: Caddy's command runs with none
	}
	if cfg.Logging != nil && cfg.Logging.Logs["default"] != nil {
		l.debug = strings.EqualFold(cfg.Logging.Logs["default"].Level, "debug")
	}
	cfg.Logging = quietLogs()
	if err := caddy.Validate(cfg); err != nil {
		return l, withEnvironmentVariable(err, file)
	}
	return l, nil
}

// environmentFrom finds `environment {$VAR...}` in a Caddyfile: the
// adapter substitutes {$VAR} before qfsign sees it.
var environmentFrom = regexp.MustCompile(`(?m)^\s*environment\s+\{\$([A-Za-z0-9_]+)`)

// withEnvironmentVariable adds, to an environment error, the variable the
// config file takes the environment from.
func withEnvironmentVariable(err error, file string) error {
	if file == "" || !strings.Contains(err.Error(), "qfpay: environment ") {
		return err
	}
	f, ferr := os.Open(file)
	if ferr != nil {
		return err
	}
	defer f.Close()
	text, ferr := io.ReadAll(io.LimitReader(f, 1<<20))
	if m := environmentFrom.FindSubmatch(text); ferr == nil && m != nil {
		return fmt.Errorf("%w (set by %s in %s)", err, m[1], file)
	}
	return err
}

// quietLogs replaces the config's logging in the pre-check: its lines
// would be printed twice, once more by Caddy's command. Standard error
// at level fatal rather than discard, so Caddy's command does not log
// that it redirected the default logger.
func quietLogs() *caddy.Logging {
	return &caddy.Logging{Logs: map[string]*caddy.CustomLog{"default": {BaseLog: caddy.BaseLog{
		WriterRaw: json.RawMessage(`{"output":"stderr"}`), Level: "fatal"}}}}
}
