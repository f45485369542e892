//go:build image

// Package image builds qfsign's image from xcaddy.Dockerfile with podman
// and runs it the way the pod does (deploy/kubernetes): a container under
// the pod's securityContext, and the Deployment itself with `podman kube
// play`. Build tag image: .ci/run runs it (go test -tags image ./tests/image)
// after installing podman, runc and busybox-static. A machine without them
// fails here with the reason; nothing is skipped.
package image

import (
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The images the tests build; localhost/ names, so nothing is pulled.
const (
	baseImage   = "localhost/qfsign-test-base:1.0.0"
	binaryImage = "localhost/qfsign-test-binary:1.0.0"
	qfsignImage = "localhost/qfsign:test"
	shopImage   = "localhost/qfsign-test-shop:1.0.0"
	// sizeBudget: the runtime image is the stripped binary (~55 MB) and
	// the test base (busybox-static, CA bundle: ~2.5 MB).
	sizeBudget = 80 << 20
)

var (
	buildOnce sync.Once
	buildErr  error
	workDir   string // the builds' temporary files, removed by TestMain
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "qfsign-image-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	workDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// images builds the four images once per run, or fails the test with why.
func images(t *testing.T) {
	t.Helper()
	buildOnce.Do(func() { buildErr = buildImages() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

func buildImages() error {
	for _, tool := range []string{"podman", "runc"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: .ci/run installs it (apt-get install -y podman runc busybox-static, then /etc/containers/containers.conf as in docs/operations.md)", tool)
		}
	}
	bin, err := releaseBinary()
	if err != nil {
		return err
	}
	steps := []func(string) error{buildBase, func(string) error { return buildBinaryImage(bin) }, buildQfsign, buildShop}
	for _, step := range steps {
		if err := step(workDir); err != nil {
			return err
		}
	}
	return nil
}

// releaseBinary is the binary scripts/xcaddy-build.sh made: CI's, named by
// QFSIGN_IMAGE_BINARY, or one built here with the same script.
func releaseBinary() (string, error) {
	if p := os.Getenv("QFSIGN_IMAGE_BINARY"); p != "" {
		return p, nil
	}
	out := filepath.Join(workDir, "release", "qfsign")
	cmd := exec.Command("sh", "scripts/xcaddy-build.sh", out)
	cmd.Dir = "../.."
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("scripts/xcaddy-build.sh: %w\n%s", err, b)
	}
	return out, nil
}

// buildBase assembles the runtime base a registry would otherwise give:
// busybox-static (sh, wget, mkdir, chown), the host's CA bundle, and
// passwd/group naming uid and gid 65532, so podman adds nothing to /etc.
func buildBase(dir string) error {
	busybox := "/bin/busybox"
	if err := static(busybox); err != nil {
		return fmt.Errorf("%w: apt-get install -y busybox-static", err)
	}
	root := filepath.Join(dir, "base", "rootfs")
	for _, d := range []string{"bin", "etc/ssl/certs", "tmp", "var/tmp", "run"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	// hosts, hostname, resolv.conf: podman mounts its own over them and
	// would create them otherwise, which `podman diff` lists as a change.
	files := map[string]string{
		"etc/passwd":      "root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/var/lib/qfsign:/sbin/nologin\n",
		"etc/group":       "root:x:0:\nnonroot:x:65532:\n",
		"etc/hosts":       "",
		"etc/hostname":    "",
		"etc/resolv.conf": "",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(root, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	copies := map[string]string{busybox: "bin/busybox", "/etc/ssl/certs/ca-certificates.crt": "etc/ssl/certs/ca-certificates.crt"}
	for from, to := range copies {
		if out, err := exec.Command("cp", from, filepath.Join(root, to)).CombinedOutput(); err != nil {
			return fmt.Errorf("cp %s: %w %s", from, err, out)
		}
	}
	links := map[string]string{"bin/sh": "busybox", "bin/wget": "busybox", "bin/mkdir": "busybox", "bin/chown": "busybox",
		"etc/mtab": "/proc/mounts"}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			return err
		}
	}
	return podmanBuild(filepath.Join(dir, "base"), "FROM scratch\nCOPY rootfs/ /\n", baseImage)
}

// static: a FROM scratch image has no dynamic loader.
func static(path string) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return nil
}

func buildBinaryImage(bin string) error {
	ctx := filepath.Join(workDir, "binary")
	if err := copyFile(bin, filepath.Join(ctx, "qfsign")); err != nil {
		return err
	}
	return podmanBuild(ctx, "FROM scratch\nCOPY qfsign /out/qfsign\n", binaryImage)
}

// buildQfsign is the shipped recipe with both bases substituted.
func buildQfsign(string) error {
	return run("podman", "build", "--format", "docker", "-f", "xcaddy.Dockerfile",
		"--build-arg", "BINARY_IMAGE="+binaryImage, "--build-arg", "RUNTIME_IMAGE="+baseImage,
		"-t", qfsignImage, "../..")
}

// buildShop: the pod's application, a static Go program on the test base.
func buildShop(dir string) error {
	ctx := filepath.Join(dir, "shop")
	cmd := exec.Command("go", "build", "-o", filepath.Join(ctx, "shop"), "./testdata/shop")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build shop: %w\n%s", err, out)
	}
	return podmanBuild(ctx, "FROM "+baseImage+"\nCOPY shop /shop\nUSER 10001:10001\nENTRYPOINT [\"/shop\"]\n", shopImage)
}

func podmanBuild(ctx, dockerfile, tag string) error {
	if err := os.MkdirAll(ctx, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(ctx, "Containerfile"), []byte(dockerfile), 0o644); err != nil {
		return err
	}
	return run("podman", "build", "--format", "docker", "-t", tag, ctx)
}

func copyFile(from, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}

func run(name string, args ...string) error {
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, out)
	}
	return nil
}

// TestImageSize reports the image's size and holds it to the budget.
func TestImageSize(t *testing.T) {
	images(t)
	out := podman(t, "image", "inspect", "--format", "{{.Size}}", qfsignImage)
	size, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("image size %q: %v", out, err)
	}
	t.Logf("image %s: %d bytes (%.1f MiB), budget %d MiB", qfsignImage, size, float64(size)/(1<<20), sizeBudget>>20)
	if size > sizeBudget || size < 10<<20 {
		t.Errorf("image size %d bytes: want between 10 MiB and the %d MiB budget", size, sizeBudget>>20)
	}
}

// podman runs podman and fails the test on an error.
func podman(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("podman", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}
