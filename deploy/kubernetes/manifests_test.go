// Package kubernetes_test checks the manifests in this folder: every YAML
// document decodes strictly (unknown or duplicate fields fail) into its
// k8s.io/api type, and the properties the sidecar's security and lifecycle
// depend on hold across files (ports, probes, token path, labels).
//
// The Caddyfile in configmap.yaml uses qfpay_health, so it is checked as
// text (comments removed, blocks nested) rather than adapted.
package kubernetes_test

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

const (
	sidecarName    = "qfsign"
	probePort      = 8082 // probes and metrics, never published
	notifyPort     = 8081 // QFPay's notifications, published by the Service
	paymentPort    = 8080
	caddyfilePath  = "/etc/qfsign/Caddyfile"
	vaultAudience  = "vault"
	vaultRole      = "qfsign"
	serviceAccount = "qfsign"
)

// QFPay's published notification source addresses.
var qfpayCIDRs = []string{"13.228.112.115/32", "18.138.115.47/32", "18.166.202.92/32"}

// Peak RSS of the sidecar as measured (see the comment in deployment.yaml):
// under load with the Redis store, and with the memory store at its cap.
const (
	measuredLoadMiB      = 77
	measuredFullStoreMiB = 198
)

// fixture is every decoded manifest and the parts most checks read.
type fixture struct {
	m             *manifests
	dep           *appsv1.Deployment
	pod           corev1.PodSpec
	podLabels     map[string]string
	caddyfile     string
	cf            *caddyfileTree
	svc           *corev1.Service
	np            *networkingv1.NetworkPolicy
	sa            *corev1.ServiceAccount
	sidecar       *corev1.Container
	allContainers []corev1.Container
}

// loadFixture decodes the folder and requires one of each kind.
func loadFixture(t *testing.T) *fixture {
	t.Helper()
	m := loadManifests(t)
	if t.Failed() {
		t.FailNow()
	}
	one := func(kind string, n int) {
		if n != 1 {
			t.Fatalf("want exactly one %s, found %d", kind, n)
		}
	}
	one("Deployment", len(m.deployments))
	one("ConfigMap", len(m.configMaps))
	one("ServiceAccount", len(m.serviceAccounts))
	one("Service", len(m.services))
	one("NetworkPolicy", len(m.networkPolicies))

	dep := m.deployments[0]
	pod := dep.Spec.Template.Spec
	podLabels := dep.Spec.Template.Labels
	caddyfile := m.configMaps[0].Data["Caddyfile"]
	cf := parseCaddyfile(caddyfile)
	svc := m.services[0]
	np := m.networkPolicies[0]
	sa := m.serviceAccounts[0]

	sidecar := findContainer(pod.InitContainers, sidecarName)
	if sidecar == nil {
		t.Fatalf("no init container %q (native sidecar)", sidecarName)
	}
	allContainers := append(slices.Clone(pod.InitContainers), pod.Containers...)

	return &fixture{m: m, dep: dep, pod: pod, podLabels: podLabels, caddyfile: caddyfile, cf: cf,
		svc: svc, np: np, sa: sa, sidecar: sidecar, allContainers: allContainers}
}

type check struct {
	name  string
	check func(t *testing.T)
}

func runChecks(t *testing.T, checks []check) {
	for _, tc := range checks {
		t.Run(tc.name, tc.check)
	}
}

// TestDeployment: the pod, its sidecar, probes, security and shutdown.
func TestDeployment(t *testing.T) {
	f := loadFixture(t)
	runChecks(t, []check{
		{"selector matches the f.pod template labels", func(t *testing.T) {
			if f.dep.Spec.Selector == nil || !subset(f.dep.Spec.Selector.MatchLabels, f.podLabels) || len(f.dep.Spec.Selector.MatchLabels) == 0 {
				t.Errorf("selector %v does not select template labels %v", f.dep.Spec.Selector, f.podLabels)
			}
		}},
		{"sidecar is a restartable init container, not a regular container", func(t *testing.T) {
			if f.sidecar.RestartPolicy == nil || *f.sidecar.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.Errorf("restartPolicy = %v, want Always", f.sidecar.RestartPolicy)
			}
			if findContainer(f.pod.Containers, sidecarName) != nil {
				t.Errorf("%q is also a regular container", sidecarName)
			}
			if len(f.pod.Containers) == 0 {
				t.Errorf("no application container")
			}
		}},
		{"sidecar image and arguments", func(t *testing.T) {
			// Tagged by qfsign's version, not Caddy's (2.11.9).
			if tag, ok := strings.CutPrefix(f.sidecar.Image, "ghcr.io/qfsign/qfsign:"); !ok || !strings.HasPrefix(tag, "v") || strings.Contains(tag, "2.11") {
				t.Errorf("image = %q, want ghcr.io/qfsign/qfsign:v<qfsign version>", f.sidecar.Image)
			}
			args := strings.Join(f.sidecar.Args, " ")
			if args != "run --config "+caddyfilePath {
				t.Errorf("args = %q, want %q", args, "run --config "+caddyfilePath)
			}
			// The image's binary is qfsign (xcaddy.Dockerfile's ENTRYPOINT).
			if len(f.sidecar.Command) == 0 || filepath.Base(f.sidecar.Command[0]) != "qfsign" {
				t.Errorf("command = %q, want the qfsign binary", f.sidecar.Command)
			}
		}},
		{"startupProbe on /healthz/startup port 8082", func(t *testing.T) {
			checkHTTPProbe(t, "startupProbe", f.sidecar.StartupProbe, f.sidecar, "/healthz/startup")
			if p := f.sidecar.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 60 {
				t.Errorf("startupProbe allows only %ds for the first Vault read", p.PeriodSeconds*p.FailureThreshold)
			}
		}},
		{"readinessProbe on /healthz/ready port 8082", func(t *testing.T) {
			checkHTTPProbe(t, "readinessProbe", f.sidecar.ReadinessProbe, f.sidecar, "/healthz/ready")
		}},
		{"livenessProbe on /healthz/live port 8082", func(t *testing.T) {
			checkHTTPProbe(t, "livenessProbe", f.sidecar.LivenessProbe, f.sidecar, "/healthz/live")
		}},
		{"probe port is declared and the payment port is not", func(t *testing.T) {
			if got := namedPort(f.sidecar, "notify"); got != notifyPort {
				t.Errorf("port \"notify\" = %d, want %d", got, notifyPort)
			}
			if got := namedPort(f.sidecar, "ops"); got != probePort {
				t.Errorf("port \"ops\" = %d, want %d", got, probePort)
			}
			for _, c := range f.allContainers {
				for _, p := range c.Ports {
					if p.ContainerPort == paymentPort || p.HostPort != 0 {
						t.Errorf("container %q declares %+v", c.Name, p)
					}
				}
			}
		}},
		{"every container runs as non-root with a read-only root", func(t *testing.T) {
			for _, c := range f.allContainers {
				checkSecurity(t, f.pod.SecurityContext, c)
			}
			if f.pod.HostNetwork || f.pod.HostPID || f.pod.HostIPC || (f.pod.ShareProcessNamespace != nil && *f.pod.ShareProcessNamespace) {
				t.Errorf("pod shares host namespaces or process namespace")
			}
		}},
		{"every container has resources; the f.sidecar's fit the measurements", func(t *testing.T) {
			for _, c := range f.allContainers {
				r := c.Resources
				if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
					t.Errorf("container %q: resources %+v: need cpu and memory requests and a memory limit", c.Name, r)
				}
				if r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
					t.Errorf("container %q: memory limit below request", c.Name)
				}
			}
			mi := int64(1 << 20)
			req, lim := f.sidecar.Resources.Requests.Memory().Value(), f.sidecar.Resources.Limits.Memory().Value()
			if req < measuredLoadMiB*mi {
				t.Errorf("sidecar memory request %dMi < measured %dMi under load", req/mi, measuredLoadMiB)
			}
			// GOMEMLIMIT is 90% of the limit: keep a full memory store under it
			// with room for the GC.
			if lim*9/10 < measuredFullStoreMiB*mi*5/4 {
				t.Errorf("sidecar memory limit %dMi: 90%% of it is under 1.25 x the %dMi of a full memory store", lim/mi, measuredFullStoreMiB)
			}
		}},
		{"Caddy's XDG directories are on a writable volume", func(t *testing.T) {
			for _, name := range []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME"} {
				v := envValue(f.sidecar, name)
				if v == "" {
					t.Errorf("%s not set", name)
					continue
				}
				vol := volumeFor(f.pod, f.sidecar, v)
				if vol == nil || vol.EmptyDir == nil {
					t.Errorf("%s=%s is not on an emptyDir mount", name, v)
				}
			}
		}},
		{"no literal key or Vault token in the environment", func(t *testing.T) {
			secretish := regexp.MustCompile(`(?i)(TOKEN|CLIENT_?KEY|PASSWORD|SECRET_ID|PRIVATE)`)
			for _, c := range f.allContainers {
				if len(c.EnvFrom) > 0 {
					t.Errorf("container %q: envFrom hides what it sets", c.Name)
				}
				for _, e := range c.Env {
					if e.Name == "VAULT_TOKEN" || e.Name == "QFPAY_CLIENT_KEY" {
						t.Errorf("container %q sets %s", c.Name, e.Name)
					}
					if secretish.MatchString(e.Name) && e.Value != "" {
						t.Errorf("container %q: %s holds a literal value", c.Name, e.Name)
					}
				}
			}
			if v := envValue(f.sidecar, "QFPAY_VAULT_SECRET"); !regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`).MatchString(v) {
				t.Errorf("QFPAY_VAULT_SECRET = %q, want a KV <mount>/<path>", v)
			}
		}},
		{"sidecar environment feeds the Caddyfile", func(t *testing.T) {
			for _, name := range []string{"QFPAY_ENV", "VAULT_ADDR", "QFPAY_VAULT_SECRET"} {
				if envValue(f.sidecar, name) == "" {
					t.Errorf("%s not set on the sidecar", name)
				}
			}
			// {$VAR} without a default must be set, or Caddy substitutes "".
			for _, mm := range regexp.MustCompile(`\{\$([A-Z0-9_]+)\}`).FindAllStringSubmatch(f.cf.text, -1) {
				if envValue(f.sidecar, mm[1]) == "" {
					t.Errorf("Caddyfile uses {$%s} without a default and the f.sidecar does not set it", mm[1])
				}
			}
		}},
		{"sidecar mounts the ConfigMap's Caddyfile at the --config path", func(t *testing.T) {
			vol := volumeFor(f.pod, f.sidecar, caddyfilePath)
			if vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != f.m.configMaps[0].Name {
				t.Fatalf("%s is not mounted from ConfigMap %q", caddyfilePath, f.m.configMaps[0].Name)
			}
			key := "Caddyfile"
			for _, it := range vol.ConfigMap.Items {
				if it.Path == filepath.Base(caddyfilePath) {
					key = it.Key
				}
			}
			if _, ok := f.m.configMaps[0].Data[key]; !ok {
				t.Errorf("ConfigMap %q has no key %q", f.m.configMaps[0].Name, key)
			}
		}},
		{"Vault token: projected, audience vault, only in the f.sidecar, at the Caddyfile's path", func(t *testing.T) {
			args := f.cf.find("auth", "kubernetes")
			if len(args) != 1 {
				t.Fatalf("want one `auth kubernetes` line in the qfpay vault block, found %d", len(args))
			}
			a := args[0].args
			if len(a) != 4 || a[2] != vaultRole {
				t.Fatalf("auth line %q: want `auth kubernetes %s <token_path>`", a, vaultRole)
			}
			tokenPath := a[3]
			vol := volumeFor(f.pod, f.sidecar, tokenPath)
			if vol == nil || vol.Projected == nil {
				t.Fatalf("token path %s is not on a projected volume of the sidecar", tokenPath)
			}
			var found bool
			for _, s := range vol.Projected.Sources {
				if s.ServiceAccountToken != nil && s.ServiceAccountToken.Audience == vaultAudience &&
					mountPathOf(f.sidecar, vol.Name)+"/"+s.ServiceAccountToken.Path == tokenPath {
					found = true
				}
			}
			if !found {
				t.Errorf("no serviceAccountToken with audience %q at %s", vaultAudience, tokenPath)
			}
			for _, c := range f.pod.Containers {
				if mountPathOf(&c, vol.Name) != "" {
					t.Errorf("container %q mounts the Vault token", c.Name)
				}
			}
			if f.pod.AutomountServiceAccountToken == nil || *f.pod.AutomountServiceAccountToken {
				t.Errorf("pod automounts the default service-account token")
			}
		}},
		{"ServiceAccount is the f.pod's and does not automount", func(t *testing.T) {
			if f.sa.Name != serviceAccount || f.pod.ServiceAccountName != f.sa.Name {
				t.Errorf("ServiceAccount %q, f.pod uses %q, want %q", f.sa.Name, f.pod.ServiceAccountName, serviceAccount)
			}
			if f.sa.AutomountServiceAccountToken == nil || *f.sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount automountServiceAccountToken is not false")
			}
		}},
		{"shutdown fits the grace period", func(t *testing.T) {
			if f.pod.TerminationGracePeriodSeconds == nil {
				t.Fatal("terminationGracePeriodSeconds not set")
			}
			total := time.Duration(*f.pod.TerminationGracePeriodSeconds) * time.Second
			gp := f.cf.find("grace_period")
			if len(gp) != 1 || len(gp[0].args) != 2 {
				t.Fatalf("want one `grace_period <duration>` in the Caddyfile")
			}
			d, err := time.ParseDuration(gp[0].args[1])
			if err != nil {
				t.Fatal(err)
			}
			// The shop drains first (an in-flight payment may wait 5 s dial +
			// 30 s response), then the f.sidecar gets SIGTERM.
			if need := 35*time.Second + d; total < need {
				t.Errorf("terminationGracePeriodSeconds %v < %v (shop drain 35s + grace_period %v)", total, need, d)
			}
		}},
	})
}
