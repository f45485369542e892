package testkube

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Versions built and validated against; the build module pins them.
const (
	KubernetesVersion = "v1.34.4"
	EtcdVersion       = "v3.6.4"
)

// buildModule is the throwaway module the binaries are built from: its own
// go.mod and go.sum (k8s.io/kubernetes and its staging modules), kept out
// of qfsign's module graph. The files carry a .txt suffix, dropped when
// copied out: a go.mod here would make its folder another module, which
// go:embed refuses. Its README says how to make it for another version.
//
//go:embed testdata/k8sbuild/go.mod.txt testdata/k8sbuild/go.sum.txt testdata/k8sbuild/etcd/main.go.txt
var buildModule embed.FS

// Bins are the built binaries' paths.
type Bins struct{ APIServer, Etcd, Kubectl string }

var (
	binsOnce sync.Once
	bins     Bins
	binsErr  error
)

// Binaries returns kube-apiserver, etcd and kubectl, building them once
// per machine into the cache (QFSIGN_KUBE_CACHE, else the user cache dir's
// qfsign-kube). A missing toolchain or a failed build fails the test.
func Binaries(t testing.TB) Bins {
	t.Helper()
	binsOnce.Do(func() { bins, binsErr = build() })
	if binsErr != nil {
		t.Fatalf("testkube: kube-apiserver/etcd/kubectl %s: %v", KubernetesVersion, binsErr)
	}
	return bins
}

func cacheRoot() (string, error) {
	if d := os.Getenv("QFSIGN_KUBE_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache dir (set QFSIGN_KUBE_CACHE): %w", err)
	}
	return filepath.Join(d, "qfsign-kube"), nil
}

// build makes the binaries unless a finished build for the same module
// files is cached. A file lock keeps two test processes (packages run in
// parallel) from building at once; the second finds the first's result.
func build() (Bins, error) {
	root, err := cacheRoot()
	if err != nil {
		return Bins{}, err
	}
	key, err := moduleKey()
	if err != nil {
		return Bins{}, err
	}
	dir := filepath.Join(root, KubernetesVersion+"-"+key)
	b := Bins{APIServer: filepath.Join(dir, "bin", "kube-apiserver"),
		Etcd: filepath.Join(dir, "bin", "etcd"), Kubectl: filepath.Join(dir, "bin", "kubectl")}
	if err := os.MkdirAll(root, 0o755); err != nil {
		return Bins{}, err
	}
	unlock, err := lock(filepath.Join(root, "build.lock"))
	if err != nil {
		return Bins{}, err
	}
	defer unlock()
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		return b, nil
	}
	if err := compile(dir); err != nil {
		return Bins{}, err
	}
	pruneOthers(root, filepath.Base(dir))
	return b, nil
}

// pruneOthers removes the builds of other versions (~180 MB each).
func pruneOthers(root, keep string) {
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if e.IsDir() && e.Name() != keep {
			_ = os.RemoveAll(filepath.Join(root, e.Name()))
		}
	}
}

// moduleKey names the cache entry by the build module's content, so a
// version bump rebuilds.
func moduleKey() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(buildModule, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := buildModule.ReadFile(p)
		h.Write([]byte(p + "\x00"))
		h.Write(b)
		return err
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

func lock(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// compile writes the module into dir/src and builds the three binaries
// with the go command on PATH: CGO off (static, no C toolchain), never
// -race (the test's flags are not the build's), its own GOFLAGS.
func compile(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the go command is needed to build them: %w", err)
	}
	src := filepath.Join(dir, "src")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := writeModule(src); err != nil {
		return err
	}
	ldflags := fmt.Sprintf("-s -w -X k8s.io/component-base/version.gitVersion=%s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=%s",
		KubernetesVersion, strings.Split(KubernetesVersion, ".")[1])
	targets := []struct{ out, pkg, ldflags string }{
		{"etcd", "./etcd", "-s -w"},
		{"kubectl", "k8s.io/kubernetes/cmd/kubectl", ldflags},
		{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver", ldflags},
	}
	for _, tg := range targets {
		start := time.Now()
		cmd := exec.Command(goBin, "build", "-trimpath", "-ldflags", tg.ldflags, "-o", filepath.Join(dir, "bin", tg.out), tg.pkg)
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod -buildvcs=false", "GOWORK=off")
		if out, err := runNice(cmd); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", tg.pkg, err, tail(out, 4000))
		}
		fmt.Fprintf(os.Stderr, "testkube: built %s in %s\n", tg.out, time.Since(start).Round(time.Second))
	}
	return os.WriteFile(filepath.Join(dir, "done"), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o644)
}

// runNice runs cmd at a lower CPU priority, which the compilers it starts
// inherit: other test packages run meanwhile, some with deadlines.
func runNice(cmd *exec.Cmd) ([]byte, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	_ = unix.Setpriority(unix.PRIO_PROCESS, cmd.Process.Pid, 10) // best effort
	err := cmd.Wait()
	return out.Bytes(), err
}

// writeModule copies the embedded module to dir, dropping ".txt".
func writeModule(dir string) error {
	const base = "testdata/k8sbuild"
	return fs.WalkDir(buildModule, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := buildModule.ReadFile(p)
		if err != nil {
			return err
		}
		out := filepath.Join(dir, strings.TrimSuffix(strings.TrimPrefix(p, base+"/"), ".txt"))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o644)
	})
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
