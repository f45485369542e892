//go:build image

package image

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testredis"
)

// readyBudget: the Deployment's kubelet sees the startup probe pass within
// this from the container's start (its first probe is at 0 s, then 2 s).
const readyBudget = 5 * time.Second

// container is one qfsign container under the pod's securityContext, with
// its data directory on a podman volume; host networking, so the test
// reaches it (and it a double) on loopback.
type container struct {
	name, volume, listen string
}

// startContainer runs the image as deployment.yaml runs it: read-only
// root, every capability dropped, uid/gid 65532, no privilege escalation,
// the data directory a volume. It waits for the startup probe and returns
// how long that took from `podman run`.
func startContainer(t *testing.T, name string, env ...string) (*container, time.Duration) {
	t.Helper()
	images(t)
	port := testredis.FreePort(t)
	c := &container{name: "qfsign-test-" + name, volume: "qfsign-test-" + name, listen: fmt.Sprintf("127.0.0.1:%d", port)}
	exec.Command("podman", "rm", "-f", c.name).Run() // a previous run's, killed before its cleanup
	exec.Command("podman", "volume", "rm", "-f", c.volume).Run()
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("podman", "logs", "--tail", "40", c.name).CombinedOutput()
			t.Logf("podman logs %s:\n%s", c.name, out)
		}
		exec.Command("podman", "rm", "-f", "-t", "0", c.name).Run()
		exec.Command("podman", "volume", "rm", "-f", c.volume).Run()
	})
	args := []string{"run", "-d", "--name", c.name, "--network", "host",
		"--read-only", "--cap-drop=ALL", "--user", "65532:65532", "--security-opt", "no-new-privileges",
		"-v", c.volume + ":/var/lib/qfsign", "-e", fmt.Sprintf("QFSIGN_PORT=%d", port)}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	start := time.Now()
	podman(t, append(args, qfsignImage)...)
	return c, c.waitReady(t, start)
}

// waitReady polls the startup probe (the container gives no other signal).
func (c *container) waitReady(t *testing.T, start time.Time) time.Duration {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		resp, err := client.Get("http://" + c.listen + "/healthz/startup")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: no 200 from /healthz/startup within 30s", c.name)
	return 0
}

type payAnswer struct {
	status   int
	replayed string
	Respcd   string `json:"respcd"`
	Syssn    string `json:"syssn"`
	PayURL   string `json:"pay_url"`
}

func (c *container) pay(t *testing.T, order string) payAnswer {
	t.Helper()
	a, err := pay(c.listen, order)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func pay(listen, order string) (payAnswer, error) {
	form := url.Values{"txamt": {"1500"}, "txcurrcd": {"HKD"}, "pay_type": {"801101"}, "out_trade_no": {order}}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.PostForm("http://"+listen+"/trade/v1/payment", form)
	if err != nil {
		return payAnswer{}, fmt.Errorf("payment %s: %w", order, err)
	}
	defer resp.Body.Close()
	a := payAnswer{status: resp.StatusCode, replayed: resp.Header.Get("X-Qfsign-Replayed")}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		return a, fmt.Errorf("payment %s: status %d, %w", order, resp.StatusCode, err)
	}
	return a, nil
}

// storeFile is the default file store as the volume holds it on the host.
func (c *container) storeFile(t *testing.T) string {
	t.Helper()
	mount := strings.TrimSpace(podman(t, "volume", "inspect", "--format", "{{.Mountpoint}}", c.volume))
	return filepath.Join(mount, "data", "caddy", "qfsign", "store.db")
}

// noWrites: `podman diff` lists nothing, so everything went to the volume
// (podman's own /tmp, /var/tmp and /run tmpfs mounts are not listed).
func (c *container) noWrites(t *testing.T) {
	t.Helper()
	if out := strings.TrimSpace(podman(t, "diff", c.name)); out != "" {
		t.Errorf("podman diff %s: the container wrote outside its volume:\n%s", c.name, out)
	}
}

// TestContainer: the image on its embedded double, as the pod's
// securityContext runs it.
func TestContainer(t *testing.T) {
	c, ready := startContainer(t, "embedded", "QFPAY_ENV=embedded")
	t.Logf("start to ready (podman run to /healthz/startup 200): %v, budget %v", ready.Round(time.Millisecond), readyBudget)
	if ready > readyBudget {
		t.Errorf("startup probe passed after %v, budget %v", ready, readyBudget)
	}
	if out, err := exec.Command("podman", "healthcheck", "run", c.name).CombinedOutput(); err != nil {
		t.Errorf("podman healthcheck run (the image's HEALTHCHECK): %v %s", err, out)
	}
	order := "IMG-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if a := c.pay(t, order); a.status != http.StatusOK || a.Respcd != "0000" || a.PayURL == "" || a.replayed != "" {
		t.Fatalf("payment on the embedded double: %+v", a)
	}
	if fi, err := os.Stat(c.storeFile(t)); err != nil || fi.Size() == 0 {
		t.Errorf("the store file is not in the volume: %v", err)
	}
	if uid := strings.TrimSpace(podman(t, "exec", c.name, "sh", "-c", "stat -c %u /proc/1")); uid != "65532" {
		t.Errorf("process runs as uid %q", uid)
	}
	c.noWrites(t)
}

// TestContainerKill: kill -s KILL, start again: the double submit is
// replayed from the store file in the volume, and QFPay saw it once.
func TestContainerKill(t *testing.T) {
	d := startDouble(t)
	c, _ := startContainer(t, "kill", d.env()...)
	order := "KILL-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	first := c.pay(t, order)
	if first.status != http.StatusOK || first.Respcd != "0000" || first.replayed != "" {
		t.Fatalf("first payment: %+v", first)
	}
	podman(t, "kill", "-s", "KILL", c.name)
	if code := strings.TrimSpace(podman(t, "wait", c.name)); code != "137" {
		t.Errorf("exit status after SIGKILL: %s", code)
	}
	start := time.Now()
	podman(t, "start", c.name)
	t.Logf("restart to ready: %v", c.waitReady(t, start).Round(time.Millisecond))
	again := c.pay(t, order)
	if again.status != http.StatusOK || again.replayed != "true" || again.Syssn != first.Syssn {
		t.Errorf("double submit after kill -9: %+v, want the recorded answer (syssn %s) replayed", again, first.Syssn)
	}
	if n := d.payments(order); n != 1 {
		t.Errorf("QFPay saw out_trade_no %s %d times, want once", order, n)
	}
	c.noWrites(t)
}
