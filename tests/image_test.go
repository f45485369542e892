package tests

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// These tests hold the image recipe to what the deployment depends on;
// tests/image (build tag image, run by .ci/run) builds it with podman and
// runs it.

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dockerfileInstructions joins continuation lines and drops comments.
func dockerfileInstructions(src string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(src, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
		if !strings.HasSuffix(trimmed, "\\") {
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		}
	}
	return out
}

func TestImageRecipe(t *testing.T) {
	ins := dockerfileInstructions(readRepoFile(t, "xcaddy.Dockerfile"))
	args := map[string]string{}
	var froms, users, exposes, healthchecks, runs, envs, copies []string
	for _, in := range ins {
		kw, rest, _ := strings.Cut(in, " ")
		switch strings.ToUpper(kw) {
		case "ARG":
			if k, v, ok := strings.Cut(rest, "="); ok {
				args[k] = v
			}
		case "FROM":
			froms = append(froms, rest)
		case "USER":
			users = append(users, rest)
		case "EXPOSE":
			exposes = append(exposes, rest)
		case "HEALTHCHECK":
			healthchecks = append(healthchecks, rest)
		case "RUN":
			runs = append(runs, rest)
		case "ENV":
			envs = append(envs, rest)
		case "COPY":
			copies = append(copies, rest)
		}
	}
	checkBases(t, froms, args)
	if !slicesContainsSub(copies, "--from=binary /out/qfsign ") || slicesContainsSub(copies, "--from=builder") {
		t.Errorf("the runtime must take the binary from the binary stage and nothing from the builder: COPY %q", copies)
	}
	if len(users) != 1 || !regexp.MustCompile(`^[1-9][0-9]*(:[1-9][0-9]*)?$`).MatchString(users[0]) {
		t.Errorf("USER %q: want one numeric non-root user", users)
	}
	for _, e := range exposes {
		if strings.Contains(e, "2019") {
			t.Errorf("EXPOSE %s: the admin port", e)
		}
	}
	if len(healthchecks) != 1 || !strings.Contains(healthchecks[0], "/healthz/startup") {
		t.Errorf("HEALTHCHECK %q: want one on the startup probe", healthchecks)
	}
	if !slicesContainsSub(runs, "sh scripts/xcaddy-build.sh") {
		t.Errorf("the builder does not run scripts/xcaddy-build.sh (CI's build): %q", runs)
	}
	if !slicesContainsSub(envs, "XCADDY_SETCAP=0") || !strings.Contains(readRepoFile(t, "scripts/xcaddy-build.sh"), "export XCADDY_SETCAP=0") {
		t.Error("XCADDY_SETCAP=0 missing in the Dockerfile or the build script")
	}
	if !slicesContainsSub(envs, "QFPAY_ENV=production") {
		t.Error("the image's default config may fall back to the embedded double: set QFPAY_ENV=production")
	}
}

// checkBases: a builder and a runtime stage, both on exact versions, the
// runtime not the caddy image (root, EXPOSE 2019, a setcap'd binary), and
// between them the binary's stage: BINARY_IMAGE, by default the builder
// (CI passes an image holding the binary it built).
func checkBases(t *testing.T, froms []string, args map[string]string) {
	t.Helper()
	if len(froms) != 3 {
		t.Fatalf("FROM lines %q: want the builder, the binary and the runtime stage", froms)
	}
	if froms[1] != "${BINARY_IMAGE} AS binary" || args["BINARY_IMAGE"] != "builder" || !strings.HasSuffix(froms[0], " AS builder") {
		t.Errorf("binary stage %q (BINARY_IMAGE=%q): want ${BINARY_IMAGE} AS binary, default the builder stage", froms[1], args["BINARY_IMAGE"])
	}
	pinned := regexp.MustCompile(`^[a-z0-9./-]+:[0-9]+\.[0-9]+\.[0-9]+[a-z0-9.-]*(@sha256:[0-9a-f]{64})?$`)
	for i, f := range []string{froms[0], froms[2]} {
		image := strings.Fields(f)[0]
		if m := regexp.MustCompile(`^\$\{(\w+)\}$`).FindStringSubmatch(image); m != nil {
			image = args[m[1]]
		}
		if !pinned.MatchString(image) {
			t.Errorf("stage %d base %q is not pinned to an exact version", i, image)
		}
		if i == 1 && strings.HasPrefix(image, "caddy:") {
			t.Errorf("runtime base %q: the caddy image runs as root and exposes 2019", image)
		}
	}
}

func slicesContainsSub(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// dockerignored reports whether path is excluded by the patterns, with
// Docker's rules for the patterns used here: "**" spans directories, and a
// pattern that matches a directory excludes everything under it.
func dockerignored(patterns []*regexp.Regexp, path string) bool {
	parts := strings.Split(path, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		for _, p := range patterns {
			if p.MatchString(prefix) {
				return true
			}
		}
	}
	return false
}

func dockerignorePatterns(t *testing.T) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, line := range strings.Split(readRepoFile(t, ".dockerignore"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("negated pattern %q: extend dockerignored", line)
		}
		re := regexp.QuoteMeta(strings.TrimPrefix(line, "/"))
		re = strings.NewReplacer(`\*\*/`, `(.*/)?`, `\*`, `[^/]*`, `\?`, `[^/]`).Replace(re)
		out = append(out, regexp.MustCompile("^"+re+"$"))
	}
	return out
}

// TestDockerignore: no history, no key material; every tracked source the
// build needs is sent.
func TestDockerignore(t *testing.T) {
	patterns := dockerignorePatterns(t)
	for _, p := range []string{".git", ".git/config", "client_key.txt", "deploy/kubernetes/client_key", "tls/server.key",
		"certs/ca.pem", "secrets/qfpay", "a/b/secrets/k", ".env", "deploy/.env.local", "vault-token", "x/reviewer.token"} {
		if !dockerignored(patterns, p) {
			t.Errorf("%s is sent to the image build", p)
		}
	}
	out, err := exec.Command("git", "-C", "..", "ls-files").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	needed := 0
	for _, f := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.HasSuffix(f, ".go") || f == "go.mod" || f == "go.sum" || f == "Caddyfile.example" || f == "scripts/xcaddy-build.sh" {
			needed++
			if dockerignored(patterns, f) {
				t.Errorf("%s is needed by the build but excluded", f)
			}
		}
	}
	if needed < 100 {
		t.Errorf("only %d build files listed by git", needed)
	}
}
