package kubernetes_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// kustomization is the subset of kustomize's Kustomization we use; decoded
// strictly so a typo there fails too.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
}

// manifests holds every decoded document of the folder.
type manifests struct {
	deployments     []*appsv1.Deployment
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	services        []*corev1.Service
	networkPolicies []*networkingv1.NetworkPolicy
	kustomizations  []*kustomization
	files           map[string][]string // file -> kinds, in order
}

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
}

// decodeStrict unmarshals one YAML document into out, failing on unknown
// and duplicate fields.
func decodeStrict(doc []byte, out any) error {
	return yaml.UnmarshalStrict(doc, out)
}

// splitDocuments splits a multi-document YAML stream on "---" lines and
// drops documents that hold only comments or whitespace.
func splitDocuments(data []byte) [][]byte {
	var docs [][]byte
	var cur strings.Builder
	flush := func() {
		s := cur.String()
		cur.Reset()
		for _, line := range strings.Split(s, "\n") {
			t := strings.TrimSpace(line)
			if t != "" && !strings.HasPrefix(t, "#") {
				docs = append(docs, []byte(s))
				return
			}
		}
	}
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	sc.Buffer(make([]byte, 0, 64*1024), 4*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "---" || strings.HasPrefix(line, "--- ") || strings.HasPrefix(line, "---\t") {
			flush()
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("*.yml")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no *.yaml files in deploy/kubernetes")
	}
	m := &manifests{files: map[string][]string{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs := splitDocuments(data)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", f)
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s (document %d)", f, i+1)
			var tm typeMeta
			if err := yaml.Unmarshal(doc, &tm); err != nil {
				t.Errorf("%s: not YAML: %v", where, err)
				continue
			}
			if err := m.add(tm, doc); err != nil {
				t.Errorf("%s: %v", where, err)
				continue
			}
			m.files[f] = append(m.files[f], tm.Kind)
		}
	}
	return m
}

// add decodes doc strictly into the type its apiVersion and kind name.
func (m *manifests) add(tm typeMeta, doc []byte) error {
	var (
		out  any
		keep func()
	)
	switch gvk := tm.APIVersion + " " + tm.Kind; gvk {
	case "apps/v1 Deployment":
		o := new(appsv1.Deployment)
		out, keep = o, func() { m.deployments = append(m.deployments, o) }
	case "v1 ConfigMap":
		o := new(corev1.ConfigMap)
		out, keep = o, func() { m.configMaps = append(m.configMaps, o) }
	case "v1 ServiceAccount":
		o := new(corev1.ServiceAccount)
		out, keep = o, func() { m.serviceAccounts = append(m.serviceAccounts, o) }
	case "v1 Service":
		o := new(corev1.Service)
		out, keep = o, func() { m.services = append(m.services, o) }
	case "networking.k8s.io/v1 NetworkPolicy":
		o := new(networkingv1.NetworkPolicy)
		out, keep = o, func() { m.networkPolicies = append(m.networkPolicies, o) }
	case "kustomize.config.k8s.io/v1beta1 Kustomization":
		o := new(kustomization)
		out, keep = o, func() { m.kustomizations = append(m.kustomizations, o) }
	default:
		return fmt.Errorf("unexpected apiVersion/kind %q: add its type to the test", gvk)
	}
	if err := decodeStrict(doc, out); err != nil {
		return fmt.Errorf("strict decoding as %s: %w", tm.Kind, err)
	}
	keep()
	return nil
}

// TestStrictDecodingRejects shows the decoder is strict: an unknown field,
// a misplaced field and a duplicate key each fail.
func TestStrictDecodingRejects(t *testing.T) {
	cases := []struct {
		name string
		doc  string
	}{
		{"unknown field", "apiVersion: v1\nkind: Service\nspec:\n  typo: 1\n"},
		{"field at the wrong level", "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      restartPolicy: Always\n      initContainers:\n        - name: x\n          startupProbe:\n            path: /healthz/startup\n"},
		{"duplicate key", "apiVersion: v1\nkind: ConfigMap\ndata:\n  a: x\n  a: y\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := &manifests{files: map[string][]string{}}
			var tm typeMeta
			if err := yaml.Unmarshal([]byte(tc.doc), &tm); err != nil {
				t.Fatal(err)
			}
			if err := m.add(tm, []byte(tc.doc)); err == nil {
				t.Fatalf("decoded without error:\n%s", tc.doc)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	in := "# header\n---\na: 1\n--- # second\nb: 2\n---\n# only a comment\n---\n"
	got := splitDocuments([]byte(in))
	if len(got) != 2 || !strings.Contains(string(got[0]), "a: 1") || !strings.Contains(string(got[1]), "b: 2") {
		t.Fatalf("splitDocuments = %q", got)
	}
}
