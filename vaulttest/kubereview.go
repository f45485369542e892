package vaulttest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// KubeConfig is a Kubernetes mount's auth/<mount>/config. With it, a login
// goes as in vault-plugin-auth-kubernetes: the JWT's claims (expiry,
// audience, service account) are checked against the role, then the JWT is
// sent to the TokenReview API of the API server at Host, as ReviewerJWT;
// KubeRole.JWTs is not used.
type KubeConfig struct {
	Host        string // https://<api-server>
	CACert      string // PEM the API server's certificate verifies against
	ReviewerJWT string // token_reviewer_jwt: allowed to create TokenReviews
}

// ConfigureKubernetes sets the mount's config, mounting it if needed.
func (s *Server) ConfigureKubernetes(mount string, cfg KubeConfig) {
	mount = authMount(mount, "kubernetes")
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.kubes[mount]
	if m == nil {
		delete(s.appRoles, mount)
		m = &kubeMount{roles: map[string]*KubeRole{}}
		s.kubes[mount] = m
	}
	c := cfg
	m.config = &c
}

// kubeReview is what the TokenReview API said about a login's JWT.
type kubeReview struct {
	name, namespace, uid string
	err                  error
}

// signingAlgs are those the plugin accepts (Kubernetes' OIDC list).
var signingAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512,
	jose.ES256, jose.ES384, jose.ES512, jose.PS256, jose.PS384, jose.PS512}

// jwtLeeway is the clock skew hashicorp/cap/jwt allows on exp (go-jose's
// default).
const jwtLeeway = jwt.DefaultLeeway

// reviewFirst calls the TokenReview API for a Kubernetes login on a
// configured mount, outside the server's lock: an HTTP call must not hold
// every other request up. kubeLogin reads the result.
func (s *Server) reviewFirst(ctx context.Context, c *call) {
	rest, ok := strings.CutPrefix(c.path, "auth/")
	mount, ok2 := strings.CutSuffix(rest, "/login")
	if !ok || !ok2 || c.bodyErr != nil {
		return
	}
	jwt := strings.Join(strings.Fields(str(c.body["jwt"])), "")
	s.mu.Lock()
	var cfg *KubeConfig
	var role *KubeRole
	if m := s.kubes[mount]; m != nil && m.config != nil {
		cfg, role = m.config, m.roles[str(c.body["role"])]
	}
	s.mu.Unlock()
	if cfg == nil {
		return
	}
	// The plugin reviews only a token whose claims fit the role: a wrong
	// audience or an expired token never reaches the API server.
	var audience []string
	if role != nil {
		if _, err := kubeClaims(jwt, role, s.now()); err != nil {
			return
		}
		if role.Audience != "" {
			audience = []string{role.Audience}
		}
	}
	if audience == nil {
		audience = tokenAudience(jwt) // the plugin's default: the JWT's own
	}
	r := tokenReview(ctx, cfg, jwt, audience)
	c.review = &r
}

// kubeClaims checks the JWT against the role before any review, in the
// plugin's order (audience, expiry, name, namespace) and with its errors
// (403).
func kubeClaims(raw string, role *KubeRole, now time.Time) (serviceAccount, error) {
	tok, err := jwt.ParseSigned(raw, signingAlgs)
	if err != nil {
		return serviceAccount{}, err
	}
	var std jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&std); err != nil {
		return serviceAccount{}, err
	}
	if role.Audience != "" && !slices.Contains([]string(std.Audience), role.Audience) {
		return serviceAccount{}, errors.New("invalid audience (aud) claim: audience claim does not match any expected audience")
	}
	if std.Expiry != nil && now.Add(-jwtLeeway).After(std.Expiry.Time()) {
		return serviceAccount{}, errors.New("invalid expiration time (exp) claim: token is expired")
	}
	sa := parseServiceAccount(raw)
	if !slices.Contains(role.BoundServiceAccountNames, "*") && !slices.Contains(role.BoundServiceAccountNames, sa.Name) {
		return sa, errors.New("service account name not authorized")
	}
	if !slices.Contains(role.BoundServiceAccountNamespaces, "*") && !slices.Contains(role.BoundServiceAccountNamespaces, sa.Namespace) {
		return sa, errors.New("namespace not authorized")
	}
	return sa, nil
}

// reviewedLogin is kubeLogin on a configured mount: claims, then the
// review's answer, which must name the same service account.
func (s *Server) reviewedLogin(role *KubeRole, jwt string, c *call) (serviceAccount, *reply) {
	sa, err := kubeClaims(jwt, role, s.now())
	if err != nil {
		r := fail(http.StatusForbidden, err.Error())
		return sa, &r
	}
	rv := c.review
	if rv == nil || rv.err != nil || rv.name != sa.Name || rv.namespace != sa.Namespace || rv.uid != sa.UID {
		r := fail(http.StatusForbidden, "permission denied")
		return sa, &r
	}
	return sa, nil
}

// tokenAudience is the unverified aud claim of a JWT (nil if none).
func tokenAudience(raw string) []string {
	var std jwt.Claims
	tok, err := jwt.ParseSigned(raw, signingAlgs)
	if err != nil || tok.UnsafeClaimsWithoutVerification(&std) != nil {
		return nil
	}
	return std.Audience
}

// tokenReview posts a TokenReview for token; the API server must find one
// of audiences in it (its own when empty).
func tokenReview(ctx context.Context, cfg *KubeConfig, token string, audiences []string) kubeReview {
	spec := map[string]any{"token": token}
	if len(audiences) > 0 {
		spec["audiences"] = audiences
	}
	body, _ := json.Marshal(map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": spec})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cfg.Host, "/")+"/apis/authentication.k8s.io/v1/tokenreviews", bytes.NewReader(body))
	if err != nil {
		return kubeReview{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+cfg.ReviewerJWT)
	req.Header.Set("Content-Type", "application/json")
	pool := x509.NewCertPool()
	if cfg.CACert != "" && !pool.AppendCertsFromPEM([]byte(cfg.CACert)) {
		return kubeReview{err: errors.New("kubernetes_ca_cert: no certificate")}
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Do(req)
	if err != nil {
		return kubeReview{err: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return kubeReview{err: err}
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		return kubeReview{err: fmt.Errorf("tokenreview: %d %s", resp.StatusCode, raw)}
	}
	return parseReview(raw)
}

func parseReview(raw []byte) kubeReview {
	var tr struct {
		Status struct {
			Authenticated bool   `json:"authenticated"`
			Error         string `json:"error"`
			User          struct {
				Username string `json:"username"`
				UID      string `json:"uid"`
			} `json:"user"`
		} `json:"status"`
	}
	if err := json.Unmarshal(raw, &tr); err != nil {
		return kubeReview{err: err}
	}
	st := tr.Status
	if st.Error != "" {
		return kubeReview{err: errors.New(st.Error)}
	}
	if !st.Authenticated {
		return kubeReview{err: errors.New("lookup failed: service account jwt not valid")}
	}
	parts := strings.Split(st.User.Username, ":")
	if len(parts) != 4 || parts[0] != "system" || parts[1] != "serviceaccount" {
		return kubeReview{err: errors.New("lookup failed: unexpected username format")}
	}
	return kubeReview{namespace: parts[2], name: parts[3], uid: st.User.UID}
}
