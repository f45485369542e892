package kubernetes_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/qfsign/qfsign/internal/testkube"
)

// strict is how every manifest is sent: unknown or duplicate fields and
// any warning (a deprecated API, a Pod Security warning) fail.
var strict = []string{"--validate=strict", "--warnings-as-errors"}

// TestAPIServer sends the manifests to a real kube-apiserver: first as a
// server-side dry run, then for real, in a namespace that enforces Pod
// Security "restricted". Broken copies must be refused, so the check can
// fail.
func TestAPIServer(t *testing.T) {
	c := testkube.Start(t)
	if v := c.MustKubectl(t, "", "version", "-o", "json"); strings.Count(v, `"gitVersion": "`+testkube.KubernetesVersion+`"`) != 2 {
		t.Fatalf("kubectl version: want client and server %s:\n%s", testkube.KubernetesVersion, v)
	}
	t.Logf("kube-apiserver %s at %s", testkube.KubernetesVersion, c.URL)
	c.MustKubectl(t, restrictedNamespace("shop"), append([]string{"apply", "-f", "-"}, strict...)...)

	t.Run("kustomization lists every manifest", func(t *testing.T) {
		var k kustomization
		raw, err := os.ReadFile("kustomization.yaml")
		if err != nil || yaml.UnmarshalStrict(raw, &k) != nil {
			t.Fatalf("kustomization.yaml: %v", err)
		}
		files, _ := filepath.Glob("*.yaml")
		for _, f := range files {
			if f != "kustomization.yaml" && !slices.Contains(k.Resources, f) {
				t.Errorf("%s is not in kustomization.yaml: the API server check would not see it", f)
			}
		}
	})
	t.Run("manifests", func(t *testing.T) {
		apply(t, c, "", "-k", ".")
		for _, kind := range []string{"serviceaccount/qfsign", "configmap/qfsign-caddyfile", "deployment/shop",
			"service/qfsign-notify", "networkpolicy/shop"} {
			c.MustKubectl(t, "", "-n", "shop", "get", kind, "-o", "name")
		}
	})
	// No controller turns the Deployment into a Pod here, and Pod Security
	// enforces on Pods only: its template is created as a Pod.
	t.Run("pod template enforced restricted", func(t *testing.T) {
		apply(t, c, templatePod(t, nil), "-n", "shop", "-f", "-")
	})
	t.Run("prometheusrule with its CRD", func(t *testing.T) {
		c.MustKubectl(t, "", append([]string{"apply", "-f", "testdata/prometheusrule-crd.yaml"}, strict...)...)
		c.MustKubectl(t, "", "wait", "--for=condition=Established", "--timeout=60s", "crd/prometheusrules.monitoring.coreos.com")
		apply(t, c, "", "-n", "shop", "-f", "../prometheus/prometheusrule.yaml")
	})
	t.Run("docs yaml", func(t *testing.T) {
		blocks := 0
		for _, doc := range []string{"../../docs/kubernetes.md", "vault-setup.md", "README.md"} {
			found, err := testkube.YAMLBlocks(doc)
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range found {
				blocks++
				ensureNamespaces(t, c, b)
				apply(t, c, b, "-f", "-")
			}
		}
		if blocks == 0 {
			t.Fatal("no ```yaml block found in the docs: the check reads nothing")
		}
	})
	t.Run("refused", func(t *testing.T) { testRefused(t, c) })
}

// apply runs kubectl apply with the strict flags as a server-side dry
// run, then for real.
func apply(t *testing.T, c *testkube.Cluster, stdin string, args ...string) {
	t.Helper()
	args = append(append([]string{"apply"}, args...), strict...)
	c.MustKubectl(t, stdin, append(args, "--dry-run=server")...)
	t.Log(strings.TrimSpace(c.MustKubectl(t, stdin, args...)))
}

func restrictedNamespace(name string) string {
	return `apiVersion: v1
kind: Namespace
metadata:
  name: ` + name + `
  labels:
    pod-security.kubernetes.io/enforce: restricted
    pod-security.kubernetes.io/enforce-version: latest
    pod-security.kubernetes.io/warn: restricted
    pod-security.kubernetes.io/warn-version: latest
    pod-security.kubernetes.io/audit: restricted
    pod-security.kubernetes.io/audit-version: latest
`
}

// templatePod is deployment.yaml's pod template as a Pod, after mutate
// (when not nil) changed its spec.
func templatePod(t *testing.T, mutate func(spec map[string]any)) string {
	t.Helper()
	raw, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep struct {
		Spec struct {
			Template struct {
				Metadata map[string]any `json:"metadata"`
				Spec     map[string]any `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &dep); err != nil {
		t.Fatal(err)
	}
	meta, spec := dep.Spec.Template.Metadata, dep.Spec.Template.Spec
	meta["name"] = "shop-template"
	if mutate != nil {
		meta["name"] = "shop-mutated"
		mutate(spec)
	}
	b, err := json.Marshal(map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var namespaceField = regexp.MustCompile(`(?m)^\s+namespace: (\S+)$`)

// ensureNamespaces creates, restricted, the namespaces a docs block names.
func ensureNamespaces(t *testing.T, c *testkube.Cluster, block string) {
	t.Helper()
	for _, m := range namespaceField.FindAllStringSubmatch(block, -1) {
		c.MustKubectl(t, restrictedNamespace(m[1]), "apply", "-f", "-")
	}
}
