// Package scripts_test runs scripts/deps.sh, the set-up step of `make
// test` and .ci/run, on a fake machine: a PATH of stubs, a fake id for
// root or not, and a fake apt-get that records what it was asked and
// "installs" a package by adding its tools' stubs.
package scripts_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// depsTable is deps.sh's own tool -> packages table.
func depsTable(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("./deps.sh", "--list").Output()
	if err != nil {
		t.Fatalf("deps.sh --list: %v", err)
	}
	table := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		table[f[0]] = f[1:]
	}
	if len(table) < 10 {
		t.Fatalf("deps.sh --list: %d tools", len(table))
	}
	return table
}

type machine struct {
	bin, log string
	table    map[string][]string
}

// stub writes a fake tool into dir: php lists its curl module, fc-list
// a CJK font (deps.sh's two checks that are not a command on PATH).
func stub(t *testing.T, dir, tool string) {
	t.Helper()
	body := "exit 0"
	switch tool {
	case "php", "php-curl":
		tool, body = "php", `[ "$1" = -m ] && echo curl; exit 0`
	case "cjk-font":
		tool, body = "fc-list", "echo 'wqy-microhei.ttc: WenQuanYi Micro Hei:style=Regular'"
	}
	script(t, dir, tool, body)
}

func script(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/bash\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

// newMachine has bash and grep, go, and the tools in have.
func newMachine(t *testing.T, uid string, have []string) *machine {
	t.Helper()
	dir := t.TempDir()
	m := &machine{bin: filepath.Join(dir, "bin"), log: filepath.Join(dir, "apt.log"), table: depsTable(t)}
	if err := os.Mkdir(m.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"bash", "grep", "env", "cp", "mkdir"} { // the script's and the fakes'
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(p, filepath.Join(m.bin, tool)); err != nil {
			t.Fatal(err)
		}
	}
	script(t, m.bin, "id", "echo "+uid)
	script(t, m.bin, "go", "exit 0")
	for _, tool := range have {
		if tool == "php" && !contains(have, "php-curl") {
			script(t, m.bin, "php", "exit 0") // without the curl module
		} else {
			stub(t, m.bin, tool)
		}
	}
	return m
}

// aptGet adds a fake apt-get and apt-cache. apt-cache knows every
// package once the lists exist (apt-get update makes them); apt-get
// install copies each package's tools from a fake archive onto PATH, or
// fails with exit 100 when failInstall.
func (m *machine) aptGet(t *testing.T, listsExist, failInstall bool) {
	t.Helper()
	root := filepath.Dir(m.bin)
	lists, archive := filepath.Join(root, "lists"), filepath.Join(root, "archive")
	if listsExist {
		if err := os.Mkdir(lists, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for tool, pkgs := range m.table {
		for _, p := range pkgs {
			stub(t, filepath.Join(archive, p), tool)
		}
	}
	fail := ""
	if failInstall {
		fail = `[[ " $* " == *" install "* ]] && exit 100`
	}
	script(t, m.bin, "apt-get", `echo "$DEBIAN_FRONTEND $*" >>`+m.log+`
`+fail+`
[[ " $* " == *" update " ]] && mkdir -p `+lists+`
for p in "$@"; do [ -d `+archive+`/"$p" ] && cp -f `+archive+`/"$p"/* `+m.bin+`/; done
exit 0`)
	script(t, m.bin, "apt-cache", `[ -d `+lists+` ]`)
}

func (m *machine) run(t *testing.T, args ...string) (stderr string, exit int) {
	t.Helper()
	cmd := exec.Command("./deps.sh", args...)
	cmd.Env = []string{"PATH=" + m.bin}
	var e strings.Builder
	cmd.Stderr = &e
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatal(err)
	}
	return e.String(), cmd.ProcessState.ExitCode()
}

func (m *machine) aptCalls() string {
	b, _ := os.ReadFile(m.log)
	return string(b)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// allBut lists every tool of the table except the ones named.
func allBut(table map[string][]string, except ...string) []string {
	var out []string
	for tool := range table {
		if !contains(except, tool) {
			out = append(out, tool)
		}
	}
	return out
}

func TestDeps(t *testing.T) {
	const lock = "noninteractive -qq -o DPkg::Lock::Timeout=600 "
	table := depsTable(t)
	tests := []struct {
		name       string
		uid        string
		missing    []string // tools the machine lacks
		apt        bool     // apt-get on PATH
		lists      bool     // its package lists exist
		sudo       bool     // a sudo that asks no password
		failApt    bool
		noGo       bool
		wantExit   int
		wantApt    string // every apt-get call
		wantStderr string // its last line
		oneLine    bool   // stderr is that line alone
	}{
		{name: "all present installs nothing", uid: "0", apt: true, lists: true, oneLine: true},
		{name: "root installs only what is missing", uid: "0", apt: true, lists: true,
			missing:    []string{"chromium", "redis-server", "promtool", "cjk-font"},
			wantApt:    lock + "install -y redis-server chromium fonts-wqy-microhei prometheus\n",
			wantStderr: "deps: installing redis-server chromium fonts-wqy-microhei prometheus (for redis-server chromium cjk-font promtool)"},
		{name: "no package lists: update first", uid: "0", apt: true, missing: []string{"php-curl"},
			wantApt: lock + "update\n" + lock + "install -y php-curl\n", wantStderr: "deps: installing php-curl (for php-curl)"},
		{name: "non-root with sudo", uid: "1000", apt: true, lists: true, sudo: true, missing: []string{"promtool"},
			wantApt: "sudo " + lock + "install -y prometheus\n", wantStderr: "deps: installing prometheus (for promtool)"},
		{name: "non-root without sudo stops in one line", uid: "1000", apt: true, lists: true, missing: []string{"chromium", "php", "php-curl"},
			wantExit: 1, oneLine: true,
			wantStderr: "make test needs php php-curl chromium, which cannot be installed from here: run sudo apt-get install -y php-cli php-curl chromium"},
		{name: "no apt-get stops in one line", uid: "0", missing: []string{"redis-server", "redis-cli"},
			wantExit: 1, oneLine: true,
			wantStderr: "make test needs redis-server redis-cli, which cannot be installed from here: run apt-get install -y redis-server redis-tools"},
		{name: "a failed install is named", uid: "0", apt: true, lists: true, failApt: true, missing: []string{"node"},
			wantExit: 1, wantApt: lock + "install -y nodejs\n" + lock + "update\n" + lock + "install -y nodejs\n",
			wantStderr: "make test needs node: 'apt-get install -y nodejs' failed (its output is above)"},
		{name: "no go stops in one line", uid: "0", apt: true, lists: true, noGo: true, missing: []string{"javac"},
			wantExit: 1, oneLine: true,
			wantStderr: "make test needs go: install Go (the version in go.mod) from https://go.dev/dl, and javac: apt-get install -y openjdk-17-jdk-headless"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newMachine(t, tc.uid, allBut(table, tc.missing...))
			if tc.apt {
				m.aptGet(t, tc.lists, tc.failApt)
			}
			if tc.sudo {
				script(t, m.bin, "sudo", `[ "$1" = -n ] && exit 0; echo -n "sudo " >>`+m.log+`; exec env "$@"`)
			}
			if tc.noGo {
				os.Remove(filepath.Join(m.bin, "go"))
			}
			stderr, exit := m.run(t)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if exit != tc.wantExit || lines[len(lines)-1] != tc.wantStderr || (tc.oneLine && len(lines) != 1) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit %d, last line:\n%s (one line: %v)", exit, stderr, tc.wantExit, tc.wantStderr, tc.oneLine)
			}
			if got := m.aptCalls(); got != tc.wantApt {
				t.Errorf("apt-get calls:\n%s\nwant:\n%s", got, tc.wantApt)
			}
			if exit == 0 { // everything is now present: a second run installs nothing
				before := m.aptCalls()
				if stderr, exit := m.run(t); exit != 0 || stderr != "" || m.aptCalls() != before {
					t.Errorf("second run: exit %d, stderr %q, apt-get calls %q", exit, stderr, strings.TrimPrefix(m.aptCalls(), before))
				}
			}
		})
	}
}

// TestMakeTestSetsUp: `make test` runs the set-up step before the suite,
// and .ci/run runs `make test` (with its own extras set up first).
func TestMakeTestSetsUp(t *testing.T) {
	out, err := exec.Command("make", "-C", "..", "-n", "test").CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, out)
	}
	deps, suite := strings.Index(string(out), "scripts/deps.sh"), strings.Index(string(out), "scripts/test.sh")
	if deps < 0 || suite < 0 || deps > suite {
		t.Errorf("make -n test does not run scripts/deps.sh before scripts/test.sh:\n%s", out)
	}
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	steps := string(ci)
	deps, suite = strings.Index(steps, "\nscripts/deps.sh ci\n"), strings.Index(steps, "\nmake vet test\n")
	if deps < 0 || suite < 0 || deps > suite {
		t.Error(".ci/run does not run `scripts/deps.sh ci` then `make vet test`")
	}
	if strings.Contains(steps, "apt-get") || strings.Contains(steps, "redis-server") {
		t.Error(".ci/run installs or starts something itself: scripts/deps.sh and the tests do")
	}
}
