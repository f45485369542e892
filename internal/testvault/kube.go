package testvault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	vault "github.com/hashicorp/vault/api"

	"github.com/qfsign/qfsign/vaulttest"
)

// kubeNamespace is the service account's namespace in the JWTs a real
// Vault reviews; its name is the role's.
const kubeNamespace = "qfsign"

// kube stands in for the Kubernetes API a real Vault's Kubernetes auth
// calls: its TokenReview accepts the JWTs the test names, as when the
// kubelet rotates the projected service account token.
type kube struct {
	srv    *httptest.Server
	signer jose.Signer
	mu     sync.Mutex
	jwts   map[string]string // name -> signed JWT
	valid  map[string][]string
}

// EnableKubernetes mounts Kubernetes auth with a role accepting the JWTs
// named jwts (write KubeJWT(name) where the pod's token would be). On a
// real Vault the TokenReview API it calls is a double served here, so
// Vault's own login path runs: JWT parsing, role bindings, review.
func (e *Env) EnableKubernetes(t testing.TB, role string, tokenTTL time.Duration, jwts ...string) string {
	t.Helper()
	mount := "kubernetes-" + RandomID(4)
	if e.Double != nil {
		e.Double.EnableKubernetes(mount, vaulttest.KubeRole{Role: role, JWTs: jwts, TokenTTL: tokenTTL, Renewable: true})
		return mount
	}
	k := e.kubeAPI(t)
	if err := e.Admin.Sys().EnableAuthWithOptionsWithContext(context.Background(), mount, &vault.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Admin.Sys().DisableAuth(mount) })
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.srv.Certificate().Raw})
	e.write(t, "auth/"+mount+"/config", map[string]any{"kubernetes_host": k.srv.URL,
		"kubernetes_ca_cert": string(ca), "disable_local_ca_jwt": true})
	e.write(t, "auth/"+mount+"/role/"+role, map[string]any{
		"bound_service_account_names": role, "bound_service_account_namespaces": kubeNamespace,
		"token_policies": e.readPolicy(t), "token_ttl": seconds(tokenTTL)})
	e.SetKubeJWTs(t, mount, role, jwts...)
	return mount
}

// KubeJWT is the token file content for the JWT named name: the name
// itself on the double, a signed service account JWT for a real Vault.
func (e *Env) KubeJWT(t testing.TB, role, name string) string {
	t.Helper()
	if e.Double != nil {
		return name
	}
	return e.kubeAPI(t).jwt(t, role, name)
}

// SetKubeJWTs replaces the JWTs role accepts.
func (e *Env) SetKubeJWTs(t testing.TB, mount, role string, names ...string) {
	t.Helper()
	if e.Double != nil {
		e.Double.SetKubeJWTs(mount, role, names...)
		return
	}
	k := e.kubeAPI(t)
	valid := make([]string, len(names))
	for i, n := range names {
		valid[i] = k.jwt(t, role, n)
	}
	k.mu.Lock()
	k.valid[mount+"/"+role] = valid
	k.mu.Unlock()
}

// EndLogins ends every token the auth mount issued, so the next call
// answers 403: revoked on a real Vault, expired on the double's clock.
func (e *Env) EndLogins(t testing.TB, mount string) {
	t.Helper()
	if e.Double != nil {
		e.Double.SetNow(func() time.Time { return time.Now().Add(100 * 24 * time.Hour) })
		return
	}
	e.write(t, "sys/leases/revoke-prefix/auth/"+mount+"/", nil)
}

func (e *Env) kubeAPI(t testing.TB) *kube {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.kube != nil {
		return e.kube
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := &kube{jwts: map[string]string{}, valid: map[string][]string{}}
	if k.signer, err = jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, nil); err != nil {
		t.Fatal(err)
	}
	k.srv = httptest.NewTLSServer(http.HandlerFunc(k.review))
	t.Cleanup(k.srv.Close)
	e.kube = k
	return k
}

func (k *kube) jwt(t testing.TB, role, name string) string {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.jwts[name]; ok {
		return s
	}
	s, err := jwt.Signed(k.signer).Claims(map[string]any{
		"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:" + kubeNamespace + ":" + role, "jti": name,
		"kubernetes.io/serviceaccount/namespace":            kubeNamespace,
		"kubernetes.io/serviceaccount/service-account.name": role,
		"kubernetes.io/serviceaccount/service-account.uid":  "uid-" + role,
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	k.jwts[name] = s
	return s
}

// review answers a TokenReview: authenticated as the role's service
// account if any role accepts the token, else not authenticated.
func (k *kube) review(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Spec struct {
			Token string `json:"token"`
		} `json:"spec"`
	}
	if r.Method != http.MethodPost || r.URL.Path != "/apis/authentication.k8s.io/v1/tokenreviews" ||
		json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	status := map[string]any{"authenticated": false}
	k.mu.Lock()
	for key, valid := range k.valid {
		if slices.Contains(valid, req.Spec.Token) {
			_, role, _ := strings.Cut(key, "/")
			status = map[string]any{"authenticated": true, "user": map[string]any{
				"username": "system:serviceaccount:" + kubeNamespace + ":" + role, "uid": "uid-" + role}}
		}
	}
	k.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "status": status})
}

// KubeAPI is a real Kubernetes API server Vault checks logins with.
type KubeAPI struct {
	Host        string // https://127.0.0.1:<port>
	CACert      string // PEM
	ReviewerJWT string // a token allowed to create TokenReviews
}

// KubeBinding is a role bound to one service account and audience.
type KubeBinding struct {
	Role, Namespace, ServiceAccount, Audience string
	TokenTTL                                  time.Duration
}

// EnableKubernetesAPI mounts Kubernetes auth configured with api, as
// vault-setup.md does for a Vault outside the cluster, and adds role b.
// The double then calls api's TokenReview instead of its own list.
func (e *Env) EnableKubernetesAPI(t testing.TB, api KubeAPI, b KubeBinding) string {
	t.Helper()
	mount := "kubernetes-" + RandomID(4)
	if e.Double != nil {
		e.Double.ConfigureKubernetes(mount, vaulttest.KubeConfig{Host: api.Host, CACert: api.CACert, ReviewerJWT: api.ReviewerJWT})
		e.Double.EnableKubernetes(mount, vaulttest.KubeRole{Role: b.Role, TokenTTL: b.TokenTTL, Renewable: true,
			BoundServiceAccountNames: []string{b.ServiceAccount}, BoundServiceAccountNamespaces: []string{b.Namespace}, Audience: b.Audience})
		return mount
	}
	if err := e.Admin.Sys().EnableAuthWithOptionsWithContext(context.Background(), mount, &vault.EnableAuthOptions{Type: "kubernetes"}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Admin.Sys().DisableAuth(mount) })
	e.write(t, "auth/"+mount+"/config", map[string]any{"kubernetes_host": api.Host,
		"kubernetes_ca_cert": api.CACert, "token_reviewer_jwt": api.ReviewerJWT, "disable_local_ca_jwt": true})
	e.write(t, "auth/"+mount+"/role/"+b.Role, map[string]any{
		"bound_service_account_names": b.ServiceAccount, "bound_service_account_namespaces": b.Namespace,
		"audience": b.Audience, "token_policies": e.readPolicy(t), "token_ttl": seconds(b.TokenTTL)})
	return mount
}
