// Package tests runs qfsign end to end: the real Caddy (caddytest, in
// process) and the built binary, in front of the qfpaytest double.
package tests

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/qfsign/qfsign/caddymodule"
)

// adminPort is this package's own, so a Caddy of another package or of
// the developer is never configured by mistake. QFSIGN_TEST_ADMIN_PORT
// moves it, so two runs of this package can share a machine.
var adminPort = 2931

// Test credentials: distinctive, so that the leak scan cannot miss them.
const (
	testAppCode = "APPCODE-TEST-0001"
	testKey     = "LEAKCANARY-6b1f0e2d9c8a7f3e"
	testMchID   = "MCH-TEST-01"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qfsign-tests-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// Caddy writes its storage and autosave under XDG dirs; keep $HOME clean.
	os.Setenv("XDG_CONFIG_HOME", dir)
	os.Setenv("XDG_DATA_HOME", dir)
	os.Setenv("QFSIGN_TEST_APPCODE", testAppCode)
	os.Setenv("QFSIGN_TEST_KEY", testKey)
	if p, err := strconv.Atoi(os.Getenv("QFSIGN_TEST_ADMIN_PORT")); err == nil && p > 0 {
		adminPort = p
	}
	caddytest.Default.AdminPort = adminPort
	caddytest.Default.Certificates = nil
	logDir = filepath.Join(dir, "logs")
	if err := os.MkdirAll(logDir, 0o700); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	for _, b := range builds { // the built binaries: ~90 MB each per run
		if b.path != "" {
			os.RemoveAll(filepath.Dir(b.path))
		}
	}
	if code == 0 {
		report, scanned, debug, gateways := leakScan()
		fmt.Printf("leak scan: %d bytes of logs, outputs, admin config and metrics (%d debug lines): ", scanned, debug)
		switch {
		case report != "":
			fmt.Printf("LEAKS\n%s", report)
			code = 1
		case gateways > 0 && debug == 0:
			// caddytest gateways log at DEBUG; without those lines the
			// scan did not see what it claims to have seen.
			fmt.Println("no debug lines captured: the scan proves nothing")
			code = 1
		default:
			fmt.Println("0 hits")
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}
