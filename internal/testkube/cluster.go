// Package testkube gives tests a real Kubernetes API server: etcd and
// kube-apiserver built from the Go module proxy (once per machine, see
// Binaries) and started on loopback with free ports, plus kubectl. No
// kubelet, scheduler or controllers run: objects are validated, admitted
// (RBAC, Pod Security) and stored, and TokenRequest/TokenReview work.
package testkube

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testredis"
)

// Issuer is the service-account token issuer the API server is given.
const Issuer = "https://kubernetes.default.svc"

// Cluster is one etcd and one kube-apiserver for one test.
type Cluster struct {
	URL        string // https://127.0.0.1:<port>
	CAFile     string // PEM the API server's certificate verifies against
	Kubeconfig string // admin (system:masters) kubeconfig for kubectl
	AdminToken string
	// SigningKey signs service-account tokens: a test may mint one the
	// TokenRequest API refuses to issue (an expired one).
	SigningKey *rsa.PrivateKey

	bins   Bins
	dir    string
	client *http.Client
}

// Start builds (or finds) the binaries and runs etcd and kube-apiserver
// until the test ends. Anything missing fails the test.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{bins: Binaries(t), dir: t.TempDir(), AdminToken: "admin-" + randomHex(12)}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	c.SigningKey = key
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c.write(t, "sa.key", pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	c.write(t, "sa.pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	c.write(t, "tokens.csv", []byte(c.AdminToken+",admin,admin-uid,system:masters\n"))

	etcdURL := c.startEtcd(t)
	port := testredis.FreePort(t)
	c.URL = "https://127.0.0.1:" + strconv.Itoa(port)
	wait := c.run(t, "kube-apiserver", c.bins.APIServer,
		"--etcd-servers="+etcdURL, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port), "--cert-dir="+c.path("certs"),
		"--service-account-key-file="+c.path("sa.pub"), "--service-account-signing-key-file="+c.path("sa.key"),
		"--service-account-issuer="+Issuer, "--token-auth-file="+c.path("tokens.csv"),
		"--authorization-mode=RBAC", "--service-cluster-ip-range=10.96.0.0/16", "--endpoint-reconciler-type=none")
	// The serving certificate is made at start: readiness is polled without
	// verifying it, and every call after pins it (pinCA).
	c.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	c.waitFor(t, "kube-apiserver", wait, 3*time.Minute, func() bool {
		code, _, err := c.Do(http.MethodGet, "/readyz", nil)
		return err == nil && code == http.StatusOK
	})
	c.pinCA(t)
	c.writeKubeconfig(t)
	return c
}

// startEtcd runs etcd on free loopback ports and returns its client URL.
func (c *Cluster) startEtcd(t testing.TB) string {
	t.Helper()
	client := "http://127.0.0.1:" + strconv.Itoa(testredis.FreePort(t))
	peer := "http://127.0.0.1:" + strconv.Itoa(testredis.FreePort(t))
	wait := c.run(t, "etcd", c.bins.Etcd, "--data-dir", c.path("etcd"),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "default="+peer, "--log-level", "warn")
	hc := &http.Client{Timeout: 2 * time.Second}
	c.waitFor(t, "etcd", wait, time.Minute, func() bool {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return client
}

// run starts a process logging to <dir>/<name>.log, killed with the
// test; the channel yields its exit if it ends early.
func (c *Cluster) run(t testing.TB, name, bin string, args ...string) <-chan error {
	t.Helper()
	logf, err := os.Create(c.path(name + ".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr, cmd.Dir = logf, logf, c.dir
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	return exited
}

// waitFor polls ready until it holds: a child process gives no readiness
// signal but its health endpoint. An early exit fails with the log's tail.
func (c *Cluster) waitFor(t testing.TB, name string, exited <-chan error, within time.Duration, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ready() {
		select {
		case err := <-exited:
			t.Fatalf("%s exited: %v\n%s", name, err, c.logTail(name))
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within %s\n%s", name, within, c.logTail(name))
		}
	}
}

func (c *Cluster) logTail(name string) string {
	b, _ := os.ReadFile(c.path(name + ".log"))
	return tail(b, 3000)
}

// pinCA trusts the certificates the API server wrote to its cert dir from
// now on, instead of skipping verification.
func (c *Cluster) pinCA(t testing.TB) {
	t.Helper()
	c.CAFile = c.path("certs/apiserver.crt")
	pool := x509.NewCertPool()
	b, err := os.ReadFile(c.CAFile)
	if err != nil || !pool.AppendCertsFromPEM(b) {
		t.Fatalf("the API server's certificate %s: %v", c.CAFile, err)
	}
	c.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	if code, body, err := c.Do(http.MethodGet, "/version", nil); err != nil || code != http.StatusOK {
		t.Fatalf("GET /version with the pinned CA: %d %s %v", code, body, err)
	}
}

func (c *Cluster) writeKubeconfig(t testing.TB) {
	t.Helper()
	c.Kubeconfig = c.path("kubeconfig")
	c.write(t, "kubeconfig", fmt.Appendf(nil, `apiVersion: v1
kind: Config
clusters: [{name: test, cluster: {server: %q, certificate-authority: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: test, context: {cluster: test, user: admin}}]
current-context: test
`, c.URL, c.CAFile, c.AdminToken))
}

// Kubectl runs kubectl as the admin with stdin; it returns stdout and
// an error holding stderr when kubectl fails.
func (c *Cluster) Kubectl(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bins.Kubectl, append([]string{"--kubeconfig", c.Kubeconfig}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return stdout.String(), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return stdout.String(), err
	}
	return stdout.String(), nil
}

// MustKubectl is Kubectl failing the test on error.
func (c *Cluster) MustKubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := c.Kubectl(stdin, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func (c *Cluster) path(name string) string { return filepath.Join(c.dir, name) }

func (c *Cluster) write(t testing.TB, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(c.path(name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
