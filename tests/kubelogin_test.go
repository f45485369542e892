package tests

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/qfsign/qfsign/internal/testkube"
	"github.com/qfsign/qfsign/internal/testvault"
)

// kubeLogin is the Kubernetes side of the login: a real API server with
// the manifests' service account and vault-setup.md's reviewer.
type kubeLogin struct {
	c        *testkube.Cluster
	api      testvault.KubeAPI
	audience string // the projected token's, from deployment.yaml
	expiry   int64  // its expirationSeconds
}

// TestKubernetesLoginRealAPIServer: the gateway reads a TokenRequest
// token from a file, as the projected volume gives it; Vault checks it
// through the API server's TokenReview with the reviewer's token. A token
// Vault must not take fails closed with a log line saying why.
func TestKubernetesLoginRealAPIServer(t *testing.T) {
	k := newKubeLogin(t)
	t.Run("projected token", func(t *testing.T) {
		tok := k.c.TokenRequest(t, "shop", "qfsign", []string{k.audience}, k.expiry)
		claims := testkube.Claims(t, tok)
		if aud := fmt.Sprint(claims["aud"]); aud != "["+k.audience+"]" {
			t.Fatalf("token aud = %s, want [%s]", aud, k.audience)
		}
		if life := int64(claims["exp"].(float64) - claims["iat"].(float64)); life != k.expiry {
			t.Fatalf("token lives %ds, want the manifest's %ds", life, k.expiry)
		}
		s := k.gateway(t, tok)
		s.waitReady(t, true, 10*time.Second)
		if code, respcd := s.pay(t); code != http.StatusOK || respcd != "0000" {
			t.Fatalf("payment: %d %s", code, respcd)
		}
		if lines := s.gw.waitLogLines(t, `"msg":"vault login"`, `"auth":"kubernetes"`); len(lines) == 0 {
			t.Fatal(`no "vault login" line with auth kubernetes`)
		}
	})
	for _, tt := range []struct {
		name string
		tok  func(t *testing.T) string
		want string // in the gateway's "key fetch failed" line
	}{
		{"wrong audience", func(t *testing.T) string {
			return k.c.TokenRequest(t, "shop", "qfsign", []string{"not-" + k.audience}, k.expiry)
		}, "invalid audience (aud) claim"},
		{"expired", func(t *testing.T) string {
			return k.c.Expired(t, k.c.TokenRequest(t, "shop", "qfsign", []string{k.audience}, k.expiry), 2*time.Hour)
		}, "token is expired"},
		// Last: it deletes the service account the others use.
		{"deleted service account", func(t *testing.T) string {
			tok := k.c.TokenRequest(t, "shop", "qfsign", []string{k.audience}, k.expiry)
			k.c.MustKubectl(t, "", "-n", "shop", "delete", "serviceaccount", "qfsign", "--wait")
			return tok
		}, "permission denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.tok(t)
			rv := k.c.TokenReview(t, tok, []string{k.audience})
			t.Logf("the API server's TokenReview: authenticated=%v error=%q", rv.Authenticated, rv.Error)
			if rv.Authenticated {
				t.Fatal("the API server authenticates the token: the case tests nothing")
			}
			k.refused(t, k.gateway(t, tok), tt.want)
		})
	}
}

func newKubeLogin(t *testing.T) *kubeLogin {
	t.Helper()
	c := testkube.Start(t)
	k := &kubeLogin{c: c}
	k.audience, k.expiry = projectedToken(t)
	c.MustKubectl(t, "", "create", "namespace", "shop")
	c.MustKubectl(t, "", "-n", "shop", "apply", "-f", "../deploy/kubernetes/serviceaccount.yaml")
	blocks, err := testkube.YAMLBlocks("../deploy/kubernetes/vault-setup.md")
	if err != nil || len(blocks) != 1 {
		t.Fatalf("vault-setup.md: want its one yaml block (the reviewer), got %d: %v", len(blocks), err)
	}
	c.MustKubectl(t, "", "create", "namespace", "vault-auth")
	c.MustKubectl(t, blocks[0], "apply", "-f", "-")
	// The block's token Secret is filled by the controller manager, which
	// does not run here: the reviewer's token comes from TokenRequest.
	k.api = testvault.KubeAPI{Host: c.URL, CACert: string(c.CACert(t)),
		ReviewerJWT: c.TokenRequest(t, "vault-auth", "vault-token-reviewer", nil, 3600)}
	return k
}

// projectedToken reads the audience and expiry of deployment.yaml's
// projected service account token.
func projectedToken(t *testing.T) (string, int64) {
	t.Helper()
	raw, err := os.ReadFile("../deploy/kubernetes/deployment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var dep appsv1.Deployment
	if err := yaml.Unmarshal(raw, &dep); err != nil {
		t.Fatal(err)
	}
	for _, v := range dep.Spec.Template.Spec.Volumes {
		if v.Projected == nil {
			continue
		}
		for _, src := range v.Projected.Sources {
			if sat := src.ServiceAccountToken; sat != nil && sat.ExpirationSeconds != nil {
				return sat.Audience, *sat.ExpirationSeconds
			}
		}
	}
	t.Fatal("deployment.yaml has no projected serviceAccountToken with an expiry")
	return "", 0
}

// gateway starts Vault with the role vault-setup.md writes and the
// gateway logging in with tok from a file.
func (k *kubeLogin) gateway(t *testing.T, tok string) *vaultSetup {
	t.Helper()
	s := newVaultSetup(t)
	mount := s.e.EnableKubernetesAPI(t, k.api, testvault.KubeBinding{Role: "qfsign", Namespace: "shop",
		ServiceAccount: "qfsign", Audience: k.audience, TokenTTL: time.Hour})
	file := writeExact(t, t.TempDir(), "token", tok)
	s.start(t, fmt.Sprintf("auth kubernetes qfsign %s\nauth_mount %s\nretry 50ms 200ms", file, mount), "")
	return s
}

// refused: no key, payments answer 503 and reach nobody, and the log
// says the Kubernetes login was refused and why.
func (k *kubeLogin) refused(t *testing.T, s *vaultSetup, why string) {
	t.Helper()
	lines := s.gw.waitLogLines(t, `"msg":"key fetch failed`, "login (kubernetes)")
	if len(lines) == 0 {
		t.Fatal(`no "key fetch failed" line for the Kubernetes login`)
	}
	t.Logf("gateway: %s", lines[0])
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, "403") && strings.Contains(l, why) }) {
		t.Fatalf("no failed-login line with 403 and %q:\n%s", why, strings.Join(lines, "\n"))
	}
	if code, r := s.ready(t); code != http.StatusServiceUnavailable || r.Ready {
		t.Fatalf("ready = %d %+v, want 503", code, r)
	}
	before := s.up.double.Count()
	if code, rule := s.pay(t); code != http.StatusServiceUnavailable || rule != "key_unavailable" {
		t.Fatalf("payment = %d %s, want 503 key_unavailable", code, rule)
	}
	if n := s.up.double.Count() - before; n != 0 {
		t.Fatalf("%d requests reached QFPay without a key", n)
	}
}
