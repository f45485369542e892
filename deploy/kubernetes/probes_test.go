package kubernetes_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

func findContainer(cs []corev1.Container, name string) *corev1.Container {
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i]
		}
	}
	return nil
}

func envValue(c *corev1.Container, name string) string {
	for _, e := range c.Env {
		if e.Name == name {
			return e.Value
		}
	}
	return ""
}

func namedPort(c *corev1.Container, name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return int(p.ContainerPort)
		}
	}
	return 0
}

// resolvePort gives the number of an IntOrString port against c's named ports.
func resolvePort(c *corev1.Container, num int, name string) int {
	if name != "" {
		return namedPort(c, name)
	}
	return num
}

func resolvePolicyPort(c *corev1.Container, p networkingv1.NetworkPolicyPort) int {
	if p.Port == nil {
		return 0
	}
	if p.Port.StrVal != "" {
		return namedPort(c, p.Port.StrVal)
	}
	return p.Port.IntValue()
}

func mountPathOf(c *corev1.Container, volume string) string {
	for _, m := range c.VolumeMounts {
		if m.Name == volume {
			return strings.TrimRight(m.MountPath, "/")
		}
	}
	return ""
}

// volumeFor returns the pod volume mounted in c that holds path.
func volumeFor(pod corev1.PodSpec, c *corev1.Container, path string) *corev1.Volume {
	var best *corev1.VolumeMount
	for i, m := range c.VolumeMounts {
		mp := strings.TrimRight(m.MountPath, "/")
		if (path == mp || strings.HasPrefix(path, mp+"/")) && (best == nil || len(mp) > len(best.MountPath)) {
			best = &c.VolumeMounts[i]
		}
	}
	if best == nil {
		return nil
	}
	for i := range pod.Volumes {
		if pod.Volumes[i].Name == best.Name {
			return &pod.Volumes[i]
		}
	}
	return nil
}

func checkHTTPProbe(t *testing.T, name string, p *corev1.Probe, c *corev1.Container, path string) {
	t.Helper()
	if p == nil || p.HTTPGet == nil {
		t.Fatalf("%s: want an httpGet probe", name)
	}
	if p.HTTPGet.Path != path {
		t.Errorf("%s path = %q, want %q", name, p.HTTPGet.Path, path)
	}
	if got := resolvePort(c, p.HTTPGet.Port.IntValue(), p.HTTPGet.Port.StrVal); got != probePort {
		t.Errorf("%s port = %v (%d), want %d", name, p.HTTPGet.Port.String(), got, probePort)
	}
	if p.HTTPGet.Host != "" {
		t.Errorf("%s sets host %q: the kubelet must probe the pod IP", name, p.HTTPGet.Host)
	}
}

func checkSecurity(t *testing.T, pod *corev1.PodSecurityContext, c corev1.Container) {
	t.Helper()
	sc := c.SecurityContext
	if sc == nil {
		t.Errorf("container %q: no securityContext", c.Name)
		return
	}
	nonRoot := sc.RunAsNonRoot
	if nonRoot == nil && pod != nil {
		nonRoot = pod.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("container %q: runAsNonRoot is not true", c.Name)
	}
	uid := sc.RunAsUser
	if uid == nil && pod != nil {
		uid = pod.RunAsUser
	}
	// The caddy base image runs as root: without a numeric UID the kubelet
	// refuses to start a runAsNonRoot container.
	if uid == nil || *uid == 0 {
		t.Errorf("container %q: runAsUser must be a non-zero UID", c.Name)
	}
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("container %q: readOnlyRootFilesystem is not true", c.Name)
	}
	if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("container %q: allowPrivilegeEscalation is not false", c.Name)
	}
	if sc.Privileged != nil && *sc.Privileged {
		t.Errorf("container %q: privileged", c.Name)
	}
	if sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
		t.Errorf("container %q: capabilities %+v, want drop [ALL] and no add", c.Name, sc.Capabilities)
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil && pod != nil {
		seccomp = pod.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("container %q: seccomp profile is not RuntimeDefault", c.Name)
	}
}

func subset(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
