package testkube

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Do calls the API server's REST API as the admin; body is sent as JSON
// unless nil.
func (c *Cluster) Do(method, path string, body any) (int, []byte, error) {
	return c.DoAs(c.AdminToken, method, path, body)
}

// DoAs is Do with another bearer token (a service account's).
func (c *Cluster) DoAs(token, method, path string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.URL+path, r)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// CACert is the PEM a client of the API server trusts.
func (c *Cluster) CACert(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(c.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TokenRequest asks the API for a token of service account ns/name, as
// the kubelet does for a projected serviceAccountToken volume.
func (c *Cluster) TokenRequest(t testing.TB, ns, name string, audiences []string, expirationSeconds int64) string {
	t.Helper()
	body := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
		"spec": map[string]any{"audiences": audiences, "expirationSeconds": expirationSeconds}}
	code, b, err := c.Do(http.MethodPost, fmt.Sprintf("/api/v1/namespaces/%s/serviceaccounts/%s/token", ns, name), body)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("TokenRequest %s/%s: %d %s %v", ns, name, code, b, err)
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil || tr.Status.Token == "" {
		t.Fatalf("TokenRequest %s/%s: no token in %s", ns, name, b)
	}
	return tr.Status.Token
}

// Review is a TokenReview's status.
type Review struct {
	Authenticated bool     `json:"authenticated"`
	Audiences     []string `json:"audiences"`
	Error         string   `json:"error"`
	User          struct {
		Username string `json:"username"`
		UID      string `json:"uid"`
	} `json:"user"`
}

// TokenReview asks the API server (as the admin) whether token
// authenticates for audiences.
func (c *Cluster) TokenReview(t testing.TB, token string, audiences []string) Review {
	t.Helper()
	body := map[string]any{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
		"spec": map[string]any{"token": token, "audiences": audiences}}
	code, b, err := c.Do(http.MethodPost, "/apis/authentication.k8s.io/v1/tokenreviews", body)
	if err != nil || code != http.StatusCreated {
		t.Fatalf("TokenReview: %d %s %v", code, b, err)
	}
	var tr struct {
		Status Review `json:"status"`
	}
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("TokenReview answer %s: %v", b, err)
	}
	return tr.Status
}

// Claims reads a token's claims without verifying it.
func Claims(t testing.TB, token string) map[string]any {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parse token: %v", err)
	}
	claims := map[string]any{}
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

// Expired returns token with its validity moved back by ago, re-signed
// with the cluster's key: the same service account, audience and binding,
// expired by the API server's own clock. TokenRequest cannot issue one
// (10 minutes is the shortest expiry it grants).
func (c *Cluster) Expired(t testing.TB, token string, ago time.Duration) string {
	t.Helper()
	claims := Claims(t, token)
	for _, k := range []string{"iat", "nbf", "exp"} {
		if v, ok := claims[k].(float64); ok {
			claims[k] = int64(v) - int64(ago/time.Second)
		}
	}
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatal(err)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", tok.Headers[0].KeyID)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: c.SigningKey}, opts)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
