package tests

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/qfsign/qfsign/qfpaytest"
)

// The package-wide leak scan: every gateway log (Caddy at DEBUG) and every
// built binary's output of the whole run is kept until TestMain scans it,
// with the admin /config/ and /metrics of the last config, for every key
// the tests use. Individual tests also scan for the signatures they saw.

var (
	logDir     string // every caddytest gateway logs here, one file per test
	outputsMu  sync.Mutex
	outputs    []*syncBuffer // every binary's stdout and stderr
	leakNeedle = []string{testKey, vaultKey1, vaultKey2, qfpaytest.DemoClientKey, "LEAKCANARY"}
)

// keepOutput registers a process output for the final scan.
func keepOutput(b *syncBuffer) *syncBuffer {
	outputsMu.Lock()
	defer outputsMu.Unlock()
	outputs = append(outputs, b)
	return b
}

// gatewayLogFile names a log file that outlives the test.
func gatewayLogFile(name string) string {
	return filepath.Join(logDir, strings.NewReplacer("/", "_", " ", "_").Replace(name)+".log")
}

// leakScan returns what it found; an empty report means no hit.
func leakScan() (report string, scanned, debugLines, gatewayLogs int) {
	var hay [][]byte
	files, _ := filepath.Glob(filepath.Join(logDir, "*.log"))
	gatewayLogs = len(files)
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil {
			hay = append(hay, b)
		}
	}
	outputsMu.Lock()
	for _, o := range outputs {
		hay = append(hay, []byte(o.String()))
	}
	outputsMu.Unlock()
	for _, path := range []string{"/config/", "/metrics"} {
		if resp, err := http.Get(fmt.Sprintf("http://localhost:%d%s", adminPort, path)); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			hay = append(hay, b)
		}
	}
	var sb strings.Builder
	for i, h := range hay {
		scanned += len(h)
		debugLines += bytes.Count(h, []byte(`"level":"debug"`))
		for _, n := range leakNeedle {
			if bytes.Contains(h, []byte(n)) {
				fmt.Fprintf(&sb, "source %d contains %s...\n", i, n[:8])
			}
		}
	}
	return sb.String(), scanned, debugLines, gatewayLogs
}
