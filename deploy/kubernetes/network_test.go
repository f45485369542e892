package kubernetes_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// TestCaddyfileAndNetwork: the pod's Caddyfile, the notification Service,
// the NetworkPolicy and the kustomization.
func TestCaddyfileAndNetwork(t *testing.T) {
	f := loadFixture(t)
	runChecks(t, []check{
		{"Caddyfile: admin off or a unix socket", func(t *testing.T) {
			adm := f.cf.find("admin")
			if len(adm) != 1 || adm[0].depth != 1 {
				t.Fatalf("want one global `admin` option, found %d", len(adm))
			}
			// Loopback TCP is no protection: every container of the pod shares it.
			if a := adm[0].args; len(a) != 2 || (a[1] != "off" && !strings.HasPrefix(a[1], "unix/")) {
				t.Errorf("admin %q: want off or a unix socket", a[1:])
			}
		}},
		{"Caddyfile: qfpay app with Vault, no literal credentials", func(t *testing.T) {
			for _, bad := range []string{"client_key", "app_code", "auth token", "VAULT_TOKEN"} {
				if strings.Contains(f.cf.text, bad) {
					t.Errorf("Caddyfile contains %q", bad)
				}
			}
			if got := f.cf.find("environment"); len(got) != 1 || strings.Join(got[0].args[1:], " ") != "{$QFPAY_ENV:production}" {
				t.Errorf("environment line: %v", got)
			}
			if got := f.cf.find("vault", "{$QFPAY_VAULT_SECRET}"); len(got) != 1 {
				t.Errorf("want `vault {$QFPAY_VAULT_SECRET}` in merchant default")
			}
			if got := f.cf.find("refresh"); len(got) != 1 || got[0].args[1] != "5m" {
				t.Errorf("want `refresh 5m`, got %v", got)
			}
			if len(f.cf.find("store")) != 1 {
				t.Errorf("want one store line")
			}
		}},
		{"Caddyfile: payment site bound to 127.0.0.1:8080 with qfpay_gateway", func(t *testing.T) {
			site := f.cf.siteWith("qfpay_gateway")
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
		{"Caddyfile: probe site on :8082 with the three qfpay_health routes and /metrics", func(t *testing.T) {
			site := f.cf.siteWith("qfpay_health")
			if site == nil {
				t.Fatal("no site with qfpay_health")
			}
			if h := site.header(); h != fmt.Sprintf("http://:%d", probePort) && h != fmt.Sprintf(":%d", probePort) {
				t.Errorf("probe site address %q, want all interfaces on %d", h, probePort)
			}
			if len(site.children("bind")) != 0 {
				t.Errorf("probe site has a bind: the kubelet probes the f.pod IP")
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
			if r := site.route("/metrics"); r == nil || len(r.children("metrics")) != 1 {
				t.Errorf("no route /metrics { metrics } on the probe site")
			}
			if site.contains("qfpay_gateway") || site.contains("qfpay_sign") || site.contains("qfpay_notify") {
				t.Errorf("the probe site signs payments or takes notifications")
			}
		}},
		{"Caddyfile: notifications verified, then forwarded to the shop on loopback", func(t *testing.T) {
			site := f.cf.siteWith("qfpay_notify")
			if site == nil {
				t.Fatal("no site with qfpay_notify")
			}
			if h := site.header(); h != fmt.Sprintf("http://:%d", notifyPort) && h != fmt.Sprintf(":%d", notifyPort) {
				t.Errorf("notification site address %q, want all interfaces on %d", h, notifyPort)
			}
			// Published to QFPay's addresses: nothing but the notification
			// route (no probe JSON with Vault errors, no metrics).
			if site.contains("qfpay_health") || site.contains("metrics") || site.contains("qfpay_gateway") {
				t.Errorf("the published notification site serves probes, metrics or payments")
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
			check("global options", f.cf.global().child("log"))
			check("notification site (access log)", f.cf.siteWith("qfpay_notify").child("log"))
		}},
		{"Service: notification port only, to the sidecar's 8081", func(t *testing.T) {
			if !subset(f.svc.Spec.Selector, f.podLabels) || len(f.svc.Spec.Selector) == 0 {
				t.Errorf("Service selector %v does not select the f.pod %v", f.svc.Spec.Selector, f.podLabels)
			}
			if len(f.svc.Spec.Ports) != 1 {
				t.Fatalf("Service has %d ports, want the notification port only", len(f.svc.Spec.Ports))
			}
			p := f.svc.Spec.Ports[0]
			// A number: a native sidecar's named port is not resolved before
			// Kubernetes 1.32, and docs/kubernetes.md promises 1.29.
			if p.TargetPort.StrVal != "" || p.TargetPort.IntValue() != notifyPort {
				t.Errorf("targetPort %v, want the number %d", p.TargetPort.String(), notifyPort)
			}
			if f.svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
				if f.svc.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
					t.Errorf("externalTrafficPolicy %q: QFPay's source address would be lost", f.svc.Spec.ExternalTrafficPolicy)
				}
				if !sameSet(f.svc.Spec.LoadBalancerSourceRanges, qfpayCIDRs) {
					t.Errorf("loadBalancerSourceRanges %v, want %v", f.svc.Spec.LoadBalancerSourceRanges, qfpayCIDRs)
				}
			}
		}},
		{"NetworkPolicy: selects the f.pod, both directions", func(t *testing.T) {
			if !subset(f.np.Spec.PodSelector.MatchLabels, f.podLabels) || len(f.np.Spec.PodSelector.MatchLabels) == 0 {
				t.Errorf("podSelector %v does not select the f.pod %v", f.np.Spec.PodSelector.MatchLabels, f.podLabels)
			}
			types := fmt.Sprint(f.np.Spec.PolicyTypes)
			if !strings.Contains(types, "Ingress") || !strings.Contains(types, "Egress") {
				t.Errorf("policyTypes %s", types)
			}
		}},
		{"NetworkPolicy: ingress never opens 8080; 8081 only from QFPay; 8082 only from Prometheus", func(t *testing.T) {
			var notify, ops bool
			for i, r := range f.np.Spec.Ingress {
				if len(r.Ports) == 0 {
					t.Errorf("ingress rule %d has no ports: it opens every port, 8080 included", i)
				}
				for _, p := range r.Ports {
					port := resolvePolicyPort(f.sidecar, p)
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
					switch port {
					case notifyPort:
						notify = true
						checkQFPayOnly(t, i, r.From)
					case probePort:
						ops = true
						checkPodsOnly(t, i, r.From)
					}
				}
			}
			if !notify || !ops {
				t.Errorf("ingress rules: %d %v, %d %v; want both", notifyPort, notify, probePort, ops)
			}
		}},
		{"NetworkPolicy: egress is DNS, Vault and HTTPS only", func(t *testing.T) {
			var dns, https bool
			for i, r := range f.np.Spec.Egress {
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
			if len(f.m.kustomizations) != 1 {
				t.Fatal("no kustomization.yaml: the manifests are applied with kubectl apply -k")
			}
			k := f.m.kustomizations[0]
			var want []string
			for f, kinds := range f.m.files {
				if !slices.Contains(kinds, "Kustomization") {
					want = append(want, f)
				}
			}
			if !sameSet(k.Resources, want) {
				t.Errorf("kustomization resources %v, want %v", k.Resources, want)
			}
		}},
	})
}

// checkQFPayOnly: the notification port admits QFPay's addresses, nothing else.
func checkQFPayOnly(t *testing.T, rule int, from []networkingv1.NetworkPolicyPeer) {
	t.Helper()
	var cidrs []string
	for _, peer := range from {
		if peer.IPBlock == nil || len(peer.IPBlock.Except) > 0 || peer.PodSelector != nil || peer.NamespaceSelector != nil {
			t.Errorf("ingress rule %d: %d peer %+v is not a plain ipBlock", rule, notifyPort, peer)
			continue
		}
		cidrs = append(cidrs, peer.IPBlock.CIDR)
	}
	if !sameSet(cidrs, qfpayCIDRs) {
		t.Errorf("%d is open to %v, want QFPay's %v", notifyPort, cidrs, qfpayCIDRs)
	}
}

// checkPodsOnly: probes and metrics admit selected in-cluster pods only,
// never an address block (QFPay's or anyone's).
func checkPodsOnly(t *testing.T, rule int, from []networkingv1.NetworkPolicyPeer) {
	t.Helper()
	if len(from) == 0 {
		t.Errorf("ingress rule %d opens %d to everyone", rule, probePort)
	}
	for _, peer := range from {
		if peer.IPBlock != nil || peer.NamespaceSelector == nil || peer.PodSelector == nil || len(peer.PodSelector.MatchLabels) == 0 {
			t.Errorf("ingress rule %d: %d peer %+v is not a selected namespace and pods", rule, probePort, peer)
		}
	}
}
