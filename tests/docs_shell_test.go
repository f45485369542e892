package tests

import (
	"context"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDocsShellBlocks follows the README, then docs/checkout.md, as a
// newcomer would: every ```sh block, in order, on a fresh data
// directory, with `make run` (and `qfsign run`) as the gateway. A line
// whose output the docs show as `# {"respcd":"0000",...` must answer
// that. Not run: `go install ...@latest` (the network), `make test` (this
// suite) and lines with `...` for real QFPay credentials.
func TestDocsShellBlocks(t *testing.T) {
	env := cleanEnv()
	var server, sandbox *docsProc
	t.Cleanup(func() { server.stop(t); sandbox.stop(t) })
	for _, doc := range []string{"README.md", "docs/checkout.md"} {
		for _, c := range shellCommands(t, "../"+doc) {
			switch {
			case strings.Contains(c.line, "go install ") || strings.HasPrefix(c.line, "make test") || strings.Contains(c.line, "=..."):
				t.Logf("%s: not run: %s", doc, c.line)
			case strings.HasSuffix(c.line, "&"):
				sandbox.stop(t)
				// Not leak-scanned: its banner prints the demo key, which is no secret.
				sandbox = startDocsProc(t, env, strings.TrimSuffix(c.line, "&"), "127.0.0.1:9999", new(syncBuffer))
			case regexp.MustCompile(`(^|\s)(make run|\S*qfsign run)\b`).MatchString(c.line):
				server.stop(t)
				server = startDocsProc(t, env, c.line, "127.0.0.1:8080", keepOutput(new(syncBuffer)))
			default:
				ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
				cmd := exec.CommandContext(ctx, "bash", "-c", c.line)
				cmd.Dir, cmd.Env = "..", env
				out, err := cmd.CombinedOutput()
				cancel()
				if err != nil || (c.want != "" && !strings.Contains(string(out), c.want)) {
					t.Fatalf("%s: %s\n%v, want %q in:\n%s", doc, c.line, err, c.want, out)
				}
			}
		}
	}
	if server == nil || sandbox == nil {
		t.Fatal("the docs started no gateway or no sandbox: the test no longer follows them")
	}
}

// shellCommand is one command of a ```sh block (continuation lines
// joined) and the output the docs show for it.
type shellCommand struct{ line, want string }

var shownAnswer = regexp.MustCompile(`^# \{"respcd":"(\d{4})"`)

func shellCommands(t *testing.T, path string) []shellCommand {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []shellCommand
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(b), -1) {
		lines := strings.Split(block[1], "\n")
		for i := 0; i < len(lines); i++ {
			line := lines[i]
			for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
				i++
				line = strings.TrimSuffix(line, `\`) + " " + strings.TrimSpace(lines[i])
			}
			if m := shownAnswer.FindStringSubmatch(line); m != nil && len(out) > 0 {
				out[len(out)-1].want = `"respcd":"` + m[1] + `"`
			}
			if line = strings.TrimSpace(regexp.MustCompile(`\s+#.*$`).ReplaceAllString(line, "")); line != "" && !strings.HasPrefix(line, "#") {
				out = append(out, shellCommand{line: line})
			}
		}
	}
	return out
}

// docsProc is a long-running command of the docs, in its own process
// group (make, go run and the binary stop together).
type docsProc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	out    *syncBuffer
}

func startDocsProc(t *testing.T, env []string, line, addr string, out *syncBuffer) *docsProc {
	t.Helper()
	// The docs name fixed ports: a process already there would answer the
	// docs' commands in place of the one started here.
	if dialable(addr) {
		t.Fatalf("%s is already in use; the docs' commands would reach that process, not %q", addr, line)
	}
	p := &docsProc{cmd: exec.Command("bash", "-c", line), exited: make(chan struct{}), out: out}
	p.cmd.Dir, p.cmd.Env = "..", env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.exited) }()
	deadline := time.Now().Add(2 * time.Minute) // make run compiles first
	for !dialable(addr) {
		select {
		case <-p.exited:
			t.Fatalf("%s exited before listening on %s:\n%s", line, addr, tail(p.out.String(), 3000))
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not listening after 2 minutes", line, addr)
		}
	}
	return p
}

// stop ends the process group with SIGTERM and waits for it.
func (p *docsProc) stop(t *testing.T) {
	if p == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.exited
		t.Errorf("%s: still running 30s after SIGTERM", p.cmd.Args)
	}
}

func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
	if err == nil {
		c.Close()
	}
	return err == nil
}
