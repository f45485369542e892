package docs

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/qfpaytest"
)

// TestInstallAndDemoCredentials: the README's first screen says how to
// get the binary (go install, make build), the Makefile has that build
// target, and the README and checkout.md quote the demo credentials the
// double really accepts.
func TestInstallAndDemoCredentials(t *testing.T) {
	readme := read(t, "../README.md")
	first := strings.Join(strings.SplitN(readme, "\n", 41)[:40], "\n")
	for _, want := range []string{"go install github.com/qfsign/qfsign/cmd/qfsign@latest", "make build", "./bin/qfsign"} {
		if !strings.Contains(first, want) {
			t.Errorf("README's first 40 lines lack %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^build:\n\t\$\(GO\) build -o bin/qfsign \./cmd/qfsign$`).MatchString(read(t, "../Makefile")) {
		t.Error("the Makefile has no build target writing bin/qfsign")
	}
	for _, doc := range []string{"../README.md", "checkout.md"} {
		text := read(t, doc)
		for _, v := range []string{qfpaytest.DemoAppCode, qfpaytest.DemoClientKey} {
			if !strings.Contains(text, v) {
				t.Errorf("%s does not quote the demo credential %s", doc, v)
			}
		}
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
