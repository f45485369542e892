package kubernetes_test

import (
	"os"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testkube"
)

// testRefused sends broken copies of the manifests: each must be refused
// by the API server with the named reason, proving the check can fail.
// They go to a namespace of their own, so each is a create (not a patch of
// the applied Deployment) and the answer is the server's plain reason.
func testRefused(t *testing.T, c *testkube.Cluster) {
	c.MustKubectl(t, restrictedNamespace("refused"), "apply", "-f", "-")
	// A Pod naming a missing service account is refused before Pod Security.
	c.MustKubectl(t, "", "-n", "refused", "apply", "-f", "serviceaccount.yaml")
	raw, err := os.ReadFile("deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dep := string(raw)
	const sidecarPolicy = "          restartPolicy: Always\n"
	tests := []struct {
		name     string
		manifest string
		want     string // in kubectl's error
	}{
		{
			name:     "unknown field",
			manifest: replaceOnce(t, dep, sidecarPolicy, sidecarPolicy+"          sidecarMode: native\n"),
			want:     `unknown field "spec.template.spec.initContainers[0].sidecarMode"`,
		},
		{
			// Probes are allowed on a native sidecar only: a plain init
			// container must finish before the shop starts.
			name:     "sidecar without restartPolicy Always",
			manifest: replaceOnce(t, dep, sidecarPolicy, ""),
			want:     "may not be set for init containers without restartPolicy=Always",
		},
		{
			name:     "requests above limits",
			manifest: replaceOnce(t, dep, "              memory: 96Mi\n", "              memory: 1Gi\n"),
			want:     "must be less than or equal to memory limit",
		},
		{
			name: "pod breaking restricted",
			manifest: templatePod(t, func(spec map[string]any) {
				sidecar := spec["initContainers"].([]any)[0].(map[string]any)
				sidecar["securityContext"].(map[string]any)["allowPrivilegeEscalation"] = true
			}),
			want: `violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, mode := range []string{"--dry-run=server", "--dry-run=none"} {
				args := append([]string{"apply", "-n", "refused", "-f", "-", mode}, strict...)
				_, err := c.Kubectl(tt.manifest, args...)
				if err == nil {
					t.Fatalf("%s: accepted", mode)
				}
				if !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("%s: refused, but not for %q: %v", mode, tt.want, err)
				}
				t.Logf("%s: %v", mode, err)
			}
		})
	}
}

func replaceOnce(t *testing.T, s, old, repl string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("deployment.yaml holds %q %d times, want once", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, repl, 1)
}
