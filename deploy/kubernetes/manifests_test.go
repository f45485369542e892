// Package kubernetes_test checks the manifests in this folder: every YAML
// document decodes strictly (unknown or duplicate fields fail) into its
// k8s.io/api type, and the properties the sidecar's security and lifecycle
// depend on hold across files (ports, probes, token path, labels).
//
// The Caddyfile in configmap.yaml uses qfpay_health, so it is checked as
// text (comments removed, blocks nested) rather than adapted.
package kubernetes_test

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

const (
	sidecarName    = "qfsign"
	probePort      = 8081
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

func TestManifests(t *testing.T) {
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
	cm := m.configMaps[0]
	caddyfile := cm.Data["Caddyfile"]
	cf := parseCaddyfile(caddyfile)
	svc := m.services[0]
	np := m.networkPolicies[0]
	sa := m.serviceAccounts[0]

	sidecar := findContainer(pod.InitContainers, sidecarName)
	if sidecar == nil {
		t.Fatalf("no init container %q (native sidecar)", sidecarName)
	}
	allContainers := append(slices.Clone(pod.InitContainers), pod.Containers...)

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"selector matches the pod template labels", func(t *testing.T) {
			if dep.Spec.Selector == nil || !subset(dep.Spec.Selector.MatchLabels, podLabels) || len(dep.Spec.Selector.MatchLabels) == 0 {
				t.Errorf("selector %v does not select template labels %v", dep.Spec.Selector, podLabels)
			}
		}},
		{"sidecar is a restartable init container, not a regular container", func(t *testing.T) {
			if sidecar.RestartPolicy == nil || *sidecar.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				t.Errorf("restartPolicy = %v, want Always", sidecar.RestartPolicy)
			}
			if findContainer(pod.Containers, sidecarName) != nil {
				t.Errorf("%q is also a regular container", sidecarName)
			}
			if len(pod.Containers) == 0 {
				t.Errorf("no application container")
			}
		}},
		{"sidecar image and arguments", func(t *testing.T) {
			if !strings.HasPrefix(sidecar.Image, "ghcr.io/qfsign/qfsign:") {
				t.Errorf("image = %q", sidecar.Image)
			}
			args := strings.Join(sidecar.Args, " ")
			if args != "run --config "+caddyfilePath {
				t.Errorf("args = %q, want %q", args, "run --config "+caddyfilePath)
			}
			// The caddy image has a CMD and no ENTRYPOINT: args alone would run "run".
			if len(sidecar.Command) == 0 || filepath.Base(sidecar.Command[0]) != "caddy" {
				t.Errorf("command = %q, want the caddy binary", sidecar.Command)
			}
		}},
		{"startupProbe on /healthz/startup port 8081", func(t *testing.T) {
			checkHTTPProbe(t, "startupProbe", sidecar.StartupProbe, sidecar, "/healthz/startup")
			if p := sidecar.StartupProbe; p != nil && p.PeriodSeconds*p.FailureThreshold < 60 {
				t.Errorf("startupProbe allows only %ds for the first Vault read", p.PeriodSeconds*p.FailureThreshold)
			}
		}},
		{"readinessProbe on /healthz/ready port 8081", func(t *testing.T) {
			checkHTTPProbe(t, "readinessProbe", sidecar.ReadinessProbe, sidecar, "/healthz/ready")
		}},
		{"livenessProbe on /healthz/live port 8081", func(t *testing.T) {
			checkHTTPProbe(t, "livenessProbe", sidecar.LivenessProbe, sidecar, "/healthz/live")
		}},
		{"probe port is declared and the payment port is not", func(t *testing.T) {
			if got := namedPort(sidecar, "notify"); got != probePort {
				t.Errorf("port \"notify\" = %d, want %d", got, probePort)
			}
			for _, c := range allContainers {
				for _, p := range c.Ports {
					if p.ContainerPort == paymentPort || p.HostPort != 0 {
						t.Errorf("container %q declares %+v", c.Name, p)
					}
				}
			}
		}},
		{"every container runs as non-root with a read-only root", func(t *testing.T) {
			for _, c := range allContainers {
				checkSecurity(t, pod.SecurityContext, c)
			}
			if pod.HostNetwork || pod.HostPID || pod.HostIPC || (pod.ShareProcessNamespace != nil && *pod.ShareProcessNamespace) {
				t.Errorf("pod shares host namespaces or process namespace")
			}
		}},
		{"every container has resources; the sidecar's fit the measurements", func(t *testing.T) {
			for _, c := range allContainers {
				r := c.Resources
				if r.Requests.Cpu().IsZero() || r.Requests.Memory().IsZero() || r.Limits.Memory().IsZero() {
					t.Errorf("container %q: resources %+v: need cpu and memory requests and a memory limit", c.Name, r)
				}
				if r.Limits.Memory().Cmp(*r.Requests.Memory()) < 0 {
					t.Errorf("container %q: memory limit below request", c.Name)
				}
			}
			mi := int64(1 << 20)
			req, lim := sidecar.Resources.Requests.Memory().Value(), sidecar.Resources.Limits.Memory().Value()
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
				v := envValue(sidecar, name)
				if v == "" {
					t.Errorf("%s not set", name)
					continue
				}
				vol := volumeFor(pod, sidecar, v)
				if vol == nil || vol.EmptyDir == nil {
					t.Errorf("%s=%s is not on an emptyDir mount", name, v)
				}
			}
		}},
		{"no literal key or Vault token in the environment", func(t *testing.T) {
			secretish := regexp.MustCompile(`(?i)(TOKEN|CLIENT_?KEY|PASSWORD|SECRET_ID|PRIVATE)`)
			for _, c := range allContainers {
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
			if v := envValue(sidecar, "QFPAY_VAULT_SECRET"); !regexp.MustCompile(`^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$`).MatchString(v) {
				t.Errorf("QFPAY_VAULT_SECRET = %q, want a KV <mount>/<path>", v)
			}
		}},
		{"sidecar environment feeds the Caddyfile", func(t *testing.T) {
			for _, name := range []string{"QFPAY_ENV", "VAULT_ADDR", "QFPAY_VAULT_SECRET"} {
				if envValue(sidecar, name) == "" {
					t.Errorf("%s not set on the sidecar", name)
				}
			}
			// {$VAR} without a default must be set, or Caddy substitutes "".
			for _, mm := range regexp.MustCompile(`\{\$([A-Z0-9_]+)\}`).FindAllStringSubmatch(cf.text, -1) {
				if envValue(sidecar, mm[1]) == "" {
					t.Errorf("Caddyfile uses {$%s} without a default and the sidecar does not set it", mm[1])
				}
			}
		}},
		{"sidecar mounts the ConfigMap's Caddyfile at the --config path", func(t *testing.T) {
			vol := volumeFor(pod, sidecar, caddyfilePath)
			if vol == nil || vol.ConfigMap == nil || vol.ConfigMap.Name != cm.Name {
				t.Fatalf("%s is not mounted from ConfigMap %q", caddyfilePath, cm.Name)
			}
			key := "Caddyfile"
			for _, it := range vol.ConfigMap.Items {
				if it.Path == filepath.Base(caddyfilePath) {
					key = it.Key
				}
			}
			if _, ok := cm.Data[key]; !ok {
				t.Errorf("ConfigMap %q has no key %q", cm.Name, key)
			}
		}},
		{"Vault token: projected, audience vault, only in the sidecar, at the Caddyfile's path", func(t *testing.T) {
			args := cf.find("auth", "kubernetes")
			if len(args) != 1 {
				t.Fatalf("want one `auth kubernetes` line in the qfpay vault block, found %d", len(args))
			}
			a := args[0].args
			if len(a) != 4 || a[2] != vaultRole {
				t.Fatalf("auth line %q: want `auth kubernetes %s <token_path>`", a, vaultRole)
			}
			tokenPath := a[3]
			vol := volumeFor(pod, sidecar, tokenPath)
			if vol == nil || vol.Projected == nil {
				t.Fatalf("token path %s is not on a projected volume of the sidecar", tokenPath)
			}
			var found bool
			for _, s := range vol.Projected.Sources {
				if s.ServiceAccountToken != nil && s.ServiceAccountToken.Audience == vaultAudience &&
					mountPathOf(sidecar, vol.Name)+"/"+s.ServiceAccountToken.Path == tokenPath {
					found = true
				}
			}
			if !found {
				t.Errorf("no serviceAccountToken with audience %q at %s", vaultAudience, tokenPath)
			}
			for _, c := range pod.Containers {
				if mountPathOf(&c, vol.Name) != "" {
					t.Errorf("container %q mounts the Vault token", c.Name)
				}
			}
			if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
				t.Errorf("pod automounts the default service-account token")
			}
		}},
		{"ServiceAccount is the pod's and does not automount", func(t *testing.T) {
			if sa.Name != serviceAccount || pod.ServiceAccountName != sa.Name {
				t.Errorf("ServiceAccount %q, pod uses %q, want %q", sa.Name, pod.ServiceAccountName, serviceAccount)
			}
			if sa.AutomountServiceAccountToken == nil || *sa.AutomountServiceAccountToken {
				t.Errorf("ServiceAccount automountServiceAccountToken is not false")
			}
		}},
		{"shutdown fits the grace period", func(t *testing.T) {
			if pod.TerminationGracePeriodSeconds == nil {
				t.Fatal("terminationGracePeriodSeconds not set")
			}
			total := time.Duration(*pod.TerminationGracePeriodSeconds) * time.Second
			gp := cf.find("grace_period")
			if len(gp) != 1 || len(gp[0].args) != 2 {
				t.Fatalf("want one `grace_period <duration>` in the Caddyfile")
			}
			d, err := time.ParseDuration(gp[0].args[1])
			if err != nil {
				t.Fatal(err)
			}
			// The shop drains first (an in-flight payment may wait 5 s dial +
			// 30 s response), then the sidecar gets SIGTERM.
			if need := 35*time.Second + d; total < need {
				t.Errorf("terminationGracePeriodSeconds %v < %v (shop drain 35s + grace_period %v)", total, need, d)
			}
		}},
		{"Caddyfile: admin off or loopback only", func(t *testing.T) {
			adm := cf.find("admin")
			if len(adm) != 1 || adm[0].depth != 1 {
				t.Fatalf("want one global `admin` option, found %d", len(adm))
			}
			if a := adm[0].args; len(a) != 2 || (a[1] != "off" && !strings.HasPrefix(a[1], "localhost:") && !strings.HasPrefix(a[1], "127.0.0.1:")) {
				t.Errorf("admin %q: want off or a loopback address", a[1:])
			}
		}},
		{"Caddyfile: qfpay app with Vault, no literal credentials", func(t *testing.T) {
			for _, bad := range []string{"client_key", "app_code", "auth token", "VAULT_TOKEN"} {
				if strings.Contains(cf.text, bad) {
					t.Errorf("Caddyfile contains %q", bad)
				}
			}
			if got := cf.find("environment"); len(got) != 1 || strings.Join(got[0].args[1:], " ") != "{$QFPAY_ENV:production}" {
				t.Errorf("environment line: %v", got)
			}
			if got := cf.find("vault", "{$QFPAY_VAULT_SECRET}"); len(got) != 1 {
				t.Errorf("want `vault {$QFPAY_VAULT_SECRET}` in merchant default")
			}
			if got := cf.find("refresh"); len(got) != 1 || got[0].args[1] != "5m" {
				t.Errorf("want `refresh 5m`, got %v", got)
			}
			if len(cf.find("store")) != 1 {
				t.Errorf("want one store line")
			}
		}},
		{"Caddyfile: payment site bound to 127.0.0.1:8080 with qfpay_gateway", func(t *testing.T) {
			site := cf.siteWith("qfpay_gateway")
			if site == nil {
				t.Fatal("no site with qfpay_gateway")
			}
			if !strings.HasSuffix(site.header(), fmt.Sprintf(":%d", paymentPort)) {
				t.Errorf("payment site address %q is not port %d", site.header(), paymentPort)
			}
			binds := site.children("bind")
			if len(binds) != 1 || strings.Join(binds[0].args[1:], " ") != "127.0.0.1" {
				t.Errorf("payment site binds %v, want exactly `bind 127.0.0.1`", binds)
			}
			r := site.route("/trade/v1/*")
			if r == nil || len(r.children("qfpay_gateway")) != 1 || r.children("qfpay_gateway")[0].args[1] != "default" {
				t.Errorf("want route /trade/v1/* { qfpay_gateway default }")
			}
			if site.route("/qfpay/notify") != nil || site.route("/healthz/ready") != nil {
				t.Errorf("payment site serves notification or probe routes")
			}
		}},
		{"Caddyfile: probe site on :8081 with the three qfpay_health routes", func(t *testing.T) {
			site := cf.siteWith("qfpay_health")
			if site == nil {
				t.Fatal("no site with qfpay_health")
			}
			if h := site.header(); h != fmt.Sprintf("http://:%d", probePort) && h != fmt.Sprintf(":%d", probePort) {
				t.Errorf("probe site address %q, want all interfaces on %d", h, probePort)
			}
			if len(site.children("bind")) != 0 {
				t.Errorf("probe site has a bind: the kubelet probes the pod IP")
			}
			for _, kind := range []string{"startup", "ready", "live"} {
				r := site.route("/healthz/" + kind)
				if r == nil {
					t.Errorf("no route /healthz/%s", kind)
					continue
				}
				h := r.children("qfpay_health")
				if len(h) != 1 || strings.Join(h[0].args, " ") != "qfpay_health "+kind {
					t.Errorf("route /healthz/%s: want `qfpay_health %s`", kind, kind)
				}
			}
			if site.contains("qfpay_gateway") || site.contains("qfpay_sign") {
				t.Errorf("the public probe site signs payments")
			}
		}},
		{"Caddyfile: notifications verified, then forwarded to the shop on loopback", func(t *testing.T) {
			site := cf.siteWith("qfpay_notify")
			if site == nil || site != cf.siteWith("qfpay_health") {
				t.Fatal("qfpay_notify is not on the probe site")
			}
			r := site.route("/qfpay/notify")
			if r == nil || len(r.kids) != 2 || strings.Join(r.kids[0].args, " ") != "qfpay_notify default" ||
				r.kids[1].args[0] != "reverse_proxy" || r.kids[1].args[1] != "127.0.0.1:9000" {
				t.Errorf("want route /qfpay/notify { qfpay_notify default; reverse_proxy 127.0.0.1:9000 }")
			}
		}},
		{"Caddyfile: logs drop the X-Qf-Sign request header", func(t *testing.T) {
			check := func(where string, blk *cfNode) {
				if blk == nil {
					t.Errorf("%s: no log block", where)
					return
				}
				var ok bool
				for _, f := range blk.children("format") {
					if len(f.args) == 2 && f.args[1] == "filter" {
						for _, k := range f.kids {
							if strings.Join(k.args, " ") == "request>headers>X-Qf-Sign delete" {
								ok = true
							}
						}
					}
				}
				if !ok {
					t.Errorf("%s: log has no `format filter { request>headers>X-Qf-Sign delete }`", where)
				}
			}
			check("global options", cf.global().child("log"))
			check("probe site (access log)", cf.siteWith("qfpay_notify").child("log"))
		}},
		{"Service: notification port only, to the sidecar's 8081", func(t *testing.T) {
			if !subset(svc.Spec.Selector, podLabels) || len(svc.Spec.Selector) == 0 {
				t.Errorf("Service selector %v does not select the pod %v", svc.Spec.Selector, podLabels)
			}
			if len(svc.Spec.Ports) != 1 {
				t.Fatalf("Service has %d ports, want the notification port only", len(svc.Spec.Ports))
			}
			p := svc.Spec.Ports[0]
			if resolvePort(sidecar, p.TargetPort.IntValue(), p.TargetPort.StrVal) != probePort {
				t.Errorf("targetPort %v does not reach %d", p.TargetPort.String(), probePort)
			}
			if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				if svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
					t.Errorf("externalTrafficPolicy %q: QFPay's source address would be lost", svc.Spec.ExternalTrafficPolicy)
				}
				if !sameSet(svc.Spec.LoadBalancerSourceRanges, qfpayCIDRs) {
					t.Errorf("loadBalancerSourceRanges %v, want %v", svc.Spec.LoadBalancerSourceRanges, qfpayCIDRs)
				}
			}
		}},
		{"NetworkPolicy: selects the pod, both directions", func(t *testing.T) {
			if !subset(np.Spec.PodSelector.MatchLabels, podLabels) || len(np.Spec.PodSelector.MatchLabels) == 0 {
				t.Errorf("podSelector %v does not select the pod %v", np.Spec.PodSelector.MatchLabels, podLabels)
			}
			types := fmt.Sprint(np.Spec.PolicyTypes)
			if !strings.Contains(types, "Ingress") || !strings.Contains(types, "Egress") {
				t.Errorf("policyTypes %s", types)
			}
		}},
		{"NetworkPolicy: ingress never opens 8080; 8081 only from QFPay", func(t *testing.T) {
			var notify bool
			for i, r := range np.Spec.Ingress {
				if len(r.Ports) == 0 {
					t.Errorf("ingress rule %d has no ports: it opens every port, 8080 included", i)
				}
				for _, p := range r.Ports {
					port := resolvePolicyPort(sidecar, p)
					if port == 0 {
						t.Errorf("ingress rule %d: port %v not resolved", i, p.Port)
					}
					hi := port
					if p.EndPort != nil {
						hi = int(*p.EndPort)
					}
					if port <= paymentPort && paymentPort <= hi {
						t.Errorf("ingress rule %d opens %d", i, paymentPort)
					}
					if port == probePort {
						notify = true
						var cidrs []string
						for _, peer := range r.From {
							if peer.IPBlock == nil || len(peer.IPBlock.Except) > 0 || peer.PodSelector != nil || peer.NamespaceSelector != nil {
								t.Errorf("ingress rule %d: 8081 peer %+v is not a plain ipBlock", i, peer)
								continue
							}
							cidrs = append(cidrs, peer.IPBlock.CIDR)
						}
						if !sameSet(cidrs, qfpayCIDRs) {
							t.Errorf("8081 is open to %v, want QFPay's %v", cidrs, qfpayCIDRs)
						}
					}
				}
			}
			if !notify {
				t.Errorf("no ingress rule for %d", probePort)
			}
		}},
		{"NetworkPolicy: egress is DNS, Vault and HTTPS only", func(t *testing.T) {
			var dns, https bool
			for i, r := range np.Spec.Egress {
				if len(r.Ports) == 0 {
					t.Errorf("egress rule %d has no ports", i)
				}
				for _, p := range r.Ports {
					if p.Port == nil {
						t.Errorf("egress rule %d: a port entry without port", i)
						continue
					}
					switch p.Port.IntValue() {
					case 53:
						dns = true
					case 443:
						https = true
					case 8200:
					default:
						t.Errorf("egress rule %d: unexpected port %v", i, p.Port)
					}
				}
			}
			if !dns || !https {
				t.Errorf("egress: dns=%v https=%v", dns, https)
			}
		}},
		{"kustomization lists every manifest", func(t *testing.T) {
			if len(m.kustomizations) != 1 {
				t.Skip("no kustomization.yaml")
			}
			k := m.kustomizations[0]
			var want []string
			for f, kinds := range m.files {
				if !slices.Contains(kinds, "Kustomization") {
					want = append(want, f)
				}
			}
			if !sameSet(k.Resources, want) {
				t.Errorf("kustomization resources %v, want %v", k.Resources, want)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}
