package cli

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// env is a fake environment for stdio.lookupEnv.
type env map[string]string

func (e env) lookup(name string) (string, bool) {
	v, ok := e[name]
	return v, ok
}

// parse builds the registered command name, as caddycmd does, and parses
// args into its flags the way cobra would before calling RunE.
func parse(t *testing.T, name string, args ...string) caddycmd.Flags {
	t.Helper()
	c, ok := caddycmd.Commands()[name]
	if !ok {
		t.Fatalf("command %q is not registered", name)
	}
	cmd := &cobra.Command{Use: name}
	c.CobraFunc(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}
	return caddycmd.Flags{FlagSet: cmd.Flags()}
}

// outcome is one in-process run of a command function.
type outcome struct {
	code        int
	out, errOut string
	err         error
}

// all is everything a user could see: both streams and the error.
func (o outcome) all() string {
	s := o.out + o.errOut
	if o.err != nil {
		s += o.err.Error()
	}
	return s
}

type runFunc func(caddycmd.Flags, stdio) (int, error)

func run(t *testing.T, f runFunc, name string, e env, stdin string, args ...string) outcome {
	t.Helper()
	var out, errOut bytes.Buffer
	st := stdio{in: strings.NewReader(stdin), out: &out, errOut: &errOut, lookupEnv: e.lookup}
	code, err := f(parse(t, name, args...), st)
	return outcome{code: code, out: out.String(), errOut: errOut.String(), err: err}
}

// syncBuffer is a bytes.Buffer safe for a writer and a poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := t.TempDir() + "/key"
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCommandsRegistered(t *testing.T) {
	for _, name := range []string{"sign", "verify-notify", "sandbox", "doctor"} {
		c, ok := caddycmd.Commands()[name]
		if !ok {
			t.Errorf("%s is not registered", name)
			continue
		}
		if c.Usage == "" || c.Short == "" || c.Long == "" || c.CobraFunc == nil {
			t.Errorf("%s: incomplete registration", name)
		}
	}
}
