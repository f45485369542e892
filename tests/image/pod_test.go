//go:build image

package image

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// vaultBlocks are the Caddyfile's Vault login and the merchant's Vault
// secret (configmap.yaml): replaced by the embedded double's demo merchant.
var vaultBlocks = regexp.MustCompile(`(?s)\t\tvault \{\n.*?\n\t\t\}\n\t\tmerchant default \{\n.*?\n\t\t\}\n`)

// TestPod plays deploy/kubernetes's Deployment and ConfigMap with `podman
// kube play`, and an application container in the pod pays through the
// sidecar on 127.0.0.1:8080 and gets a verified notification from the
// embedded double. What podman 4.3 cannot express is replaced by its
// closest equivalent, each named in podManifests.
func TestPod(t *testing.T) {
	images(t)
	dir := t.TempDir()
	deployment, configmap := podManifests(t)
	files := map[string][]byte{"deployment.yaml": deployment, "configmap.yaml": configmap}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	kube := filepath.Join(dir, "deployment.yaml")
	// kube play keeps the ConfigMap's volume after kube down, and would
	// reuse a previous run's content: remove it before and after.
	down := func() {
		exec.Command("podman", "kube", "down", kube).Run()
		exec.Command("podman", "volume", "rm", "-f", "qfsign-caddyfile").Run()
	}
	down()
	var names []string
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range names {
				out, _ := exec.Command("podman", "logs", "--tail", "30", c).CombinedOutput()
				t.Logf("podman logs %s:\n%s", c, out)
			}
		}
		down()
	})
	// The pod gets its own network namespace (podman's bridge network);
	// everything it uses is on its loopback (the double is in-process).
	start := time.Now()
	podman(t, "kube", "play", "--configmap", filepath.Join(dir, "configmap.yaml"), kube)
	sidecar, app := podContainer(t, "qfsign"), podContainer(t, "shop")
	names = []string{sidecar, app}
	line := waitLog(t, app, 90*time.Second)
	t.Logf("pod played to the shop's verified notification: %v", time.Since(start).Round(time.Millisecond))
	order := strings.Fields(line)[3]
	if !strings.HasPrefix(line, "SHOP OK paid POD-") || !strings.Contains(line[strings.Index(line, "verified:"):], order) {
		t.Errorf("shop: %s", line)
	}
	// The container's memory limit reached the process: Caddy sets
	// GOMEMLIMIT to 90% of it (automemlimit).
	want := fmt.Sprintf(`"GOMEMLIMIT":%d,`, memoryLimit(t, deployment)*9/10)
	if logs := podman(t, "logs", sidecar); !strings.Contains(logs, want) {
		t.Errorf("the sidecar's log has no %s: the memory limit did not apply", want)
	}
	// The store file is on the qfsign-xdg emptyDir, and the read-only
	// root is untouched.
	if out, err := exec.Command("podman", "exec", sidecar, "sh", "-c", "test -s /var/lib/qfsign/data/caddy/qfsign/store.db").CombinedOutput(); err != nil {
		t.Errorf("no store file on the emptyDir: %v %s", err, out)
	}
	// podman creates a mount point missing from the image (here the
	// token's directory, /var/run/secrets/vault) and lists it and its
	// parents in the diff, as a kubelet's runtime would create it too.
	// Anything else is a write.
	mounts := mountPoints(deployment)
	for _, l := range strings.Split(strings.TrimSpace(podman(t, "diff", sidecar)), "\n") {
		if f := strings.Fields(l); len(f) == 2 && !mounts[f[1]] {
			t.Errorf("podman diff %s: %s, not a volume's mount point", sidecar, l)
		}
	}
}

// memoryLimit is the qfsign container's limits.memory in bytes.
func memoryLimit(t *testing.T, deployment []byte) int64 {
	t.Helper()
	var dep map[string]any
	if err := yaml.Unmarshal(deployment, &dep); err != nil {
		t.Fatal(err)
	}
	c := dig(t, dep, "spec", "template", "spec")["containers"].([]any)[0].(map[string]any)
	limit := dig(t, c, "resources", "limits")["memory"].(string)
	mi, err := strconv.ParseInt(strings.TrimSuffix(limit, "Mi"), 10, 64)
	if err != nil || !strings.HasSuffix(limit, "Mi") {
		t.Fatalf("qfsign's limits.memory %q: want <n>Mi", limit)
	}
	return mi << 20
}

// mountPoints: the qfsign container's volume mount paths and their parents.
func mountPoints(deployment []byte) map[string]bool {
	var dep struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Name         string `json:"name"`
						VolumeMounts []struct {
							MountPath string `json:"mountPath"`
						} `json:"volumeMounts"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	out := map[string]bool{}
	if yaml.Unmarshal(deployment, &dep) != nil {
		return out
	}
	for _, c := range dep.Spec.Template.Spec.Containers {
		for _, m := range c.VolumeMounts {
			for p := m.MountPath; c.Name == "qfsign" && p != "/"; p = filepath.Dir(p) {
				out[p] = true
			}
		}
	}
	return out
}

// podContainer names the Deployment's container: podman calls it
// <pod>-<container>, the pod shop-pod-<replica>.
func podContainer(t *testing.T, name string) string {
	t.Helper()
	for _, n := range strings.Fields(podman(t, "ps", "-a", "--format", "{{.Names}}")) {
		if strings.HasPrefix(n, "shop-pod-") && strings.HasSuffix(n, "-"+name) {
			return n
		}
	}
	t.Fatalf("no container %s in the played pod", name)
	return ""
}

// waitLog polls a container's log for the shop's verdict line.
func waitLog(t *testing.T, name string, within time.Duration) string {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, _ := exec.Command("podman", "logs", name).CombinedOutput()
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "SHOP OK") {
				return l
			}
			if strings.HasPrefix(l, "SHOP FAIL") {
				t.Fatal(l)
			}
		}
	}
	t.Fatalf("%s printed no verdict within %v", name, within)
	return ""
}

// podManifests returns deployment.yaml and configmap.yaml as podman plays
// them.
func podManifests(t *testing.T) (deployment, configmap []byte) {
	t.Helper()
	var dep, cm map[string]any
	decode(t, "deployment.yaml", &dep)
	decode(t, "configmap.yaml", &cm)
	pod := dig(t, dep, "spec", "template", "spec")

	// A native sidecar (an init container with restartPolicy: Always) is
	// not known to podman 4.3, which runs init containers to completion
	// first: qfsign becomes the pod's first ordinary container, so both
	// start together (the shop retries until the sidecar answers, where
	// the kubelet would wait for the startup probe).
	inits := pod["initContainers"].([]any)
	qfsign := inits[0].(map[string]any)
	if qfsign["name"] != "qfsign" || qfsign["restartPolicy"] != "Always" {
		t.Fatalf("deployment.yaml's first init container is not the qfsign native sidecar: %v", qfsign["name"])
	}
	delete(qfsign, "restartPolicy")
	delete(pod, "initContainers")
	shop := pod["containers"].([]any)[0].(map[string]any)
	pod["containers"] = []any{qfsign, shop}
	qfsign["image"], shop["image"] = qfsignImage, shopImage
	// No Vault here (tests/vault_test.go runs the Vault login): the
	// embedded double with its demo merchant instead of QFPay and Vault.
	for _, e := range qfsign["env"].([]any) {
		if env := e.(map[string]any); env["name"] == "QFPAY_ENV" {
			env["value"] = "embedded"
		}
	}
	// The projected service-account token: podman has no token issuer.
	// An empty directory is mounted in its place (nothing reads it).
	for _, v := range pod["volumes"].([]any) {
		vol := v.(map[string]any)
		if _, ok := vol["projected"]; ok {
			delete(vol, "projected")
			vol["emptyDir"] = map[string]any{}
		}
	}
	data := dig(t, cm, "data")
	caddyfile := data["Caddyfile"].(string)
	if n := len(vaultBlocks.FindAllString(caddyfile, -1)); n != 1 {
		t.Fatalf("configmap.yaml: %d vault and merchant blocks found, want 1: update vaultBlocks", n)
	}
	data["Caddyfile"] = vaultBlocks.ReplaceAllString(caddyfile, "\t\tmerchant default\n")
	return encode(t, dep), encode(t, cm)
}

func decode(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../deploy/kubernetes", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dig(t *testing.T, m map[string]any, path ...string) map[string]any {
	t.Helper()
	for _, p := range path {
		next, ok := m[p].(map[string]any)
		if !ok {
			t.Fatalf("manifest: no %s in %v", p, path)
		}
		m = next
	}
	return m
}
