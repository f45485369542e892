package keys

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	vault "github.com/hashicorp/vault/api"
	"github.com/hashicorp/vault/api/auth/approle"
	"github.com/hashicorp/vault/api/auth/kubernetes"
)

// Auth is a Vault login method. login sets the client's token and returns
// the login secret when the token can be renewed (nil otherwise).
type Auth interface {
	Method() string
	check() error
	login(ctx context.Context, c *vault.Client) (*vault.Secret, error)
}

// TokenAuth uses a token given directly, or VAULT_TOKEN when empty.
// Renewable tokens are renewed; a token that ends cannot be replaced.
type TokenAuth struct{ Token string }

// Method names the auth method in logs.
func (TokenAuth) Method() string { return "token" }

func (a TokenAuth) check() error { return nil }

func (a TokenAuth) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	tok := a.Token
	if tok == "" {
		tok = os.Getenv(vault.EnvVaultToken)
	}
	if tok == "" {
		return nil, errors.New("no token: set VAULT_TOKEN or auth token")
	}
	return lookupSelf(ctx, c, tok)
}

// TokenFileAuth reads the token from a file kept fresh by Vault Agent's
// sink: before every Vault call (a changed token means a new login),
// after a 403, and whenever renewal ends.
type TokenFileAuth struct{ Path string }

// Method names the auth method in logs.
func (TokenFileAuth) Method() string { return "token_file" }

func (a TokenFileAuth) check() error {
	if a.Path == "" {
		return errors.New("token_file: path is required")
	}
	return nil
}

func (a TokenFileAuth) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	b, err := os.ReadFile(a.Path)
	if err != nil {
		return nil, fmt.Errorf("token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, fmt.Errorf("token_file %s: empty", a.Path)
	}
	return lookupSelf(ctx, c, tok)
}

// changed reports whether the sink holds a token other than the one in
// use; an unreadable sink keeps the current token (a 403 will tell).
func (a TokenFileAuth) changed(c *vault.Client) bool {
	b, err := os.ReadFile(a.Path)
	tok := strings.TrimSpace(string(b))
	return err == nil && tok != "" && tok != c.Token()
}

// lookupSelf installs tok and checks it, returning a renewable login
// secret for the watcher when Vault says the token is renewable.
func lookupSelf(ctx context.Context, c *vault.Client, tok string) (*vault.Secret, error) {
	c.SetToken(tok)
	s, err := c.Auth().Token().LookupSelfWithContext(ctx)
	if err != nil {
		return nil, err
	}
	renewable, _ := s.TokenIsRenewable()
	ttl, _ := s.TokenTTL()
	if !renewable || ttl <= 0 {
		return nil, nil
	}
	return &vault.Secret{Auth: &vault.SecretAuth{ClientToken: tok, Renewable: true, LeaseDuration: int(ttl.Seconds())}}, nil
}

// AppRoleAuth logs in with a role_id and a secret_id read from a file or
// an environment variable at every login, optionally response-wrapped.
type AppRoleAuth struct {
	RoleID       string
	SecretIDFile string
	SecretIDEnv  string
	// Wrapped: the secret_id source holds a response-wrapping token.
	Wrapped bool
	// Mount defaults to "approle".
	Mount string
}

// Method names the auth method in logs.
func (AppRoleAuth) Method() string { return "approle" }

func (a AppRoleAuth) check() error {
	switch {
	case a.RoleID == "":
		return errors.New("approle: role_id is required")
	case (a.SecretIDFile == "") == (a.SecretIDEnv == ""):
		return errors.New("approle: exactly one of secret_id_file and secret_id_env is required")
	}
	return nil
}

func (a AppRoleAuth) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	var opts []approle.LoginOption
	if a.Mount != "" {
		opts = append(opts, approle.WithMountPath(a.Mount))
	}
	if a.Wrapped {
		opts = append(opts, approle.WithWrappingToken())
	}
	auth, err := approle.NewAppRoleAuth(a.RoleID, &approle.SecretID{FromFile: a.SecretIDFile, FromEnv: a.SecretIDEnv}, opts...)
	if err != nil {
		return nil, err
	}
	return loginWith(ctx, c, auth)
}

// DefaultServiceAccountTokenPath is where Kubernetes mounts the pod's token.
const DefaultServiceAccountTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// KubernetesAuth logs in with the pod's service-account token. The token
// file is read at every login since projected tokens rotate.
type KubernetesAuth struct {
	Role string
	// TokenPath defaults to DefaultServiceAccountTokenPath.
	TokenPath string
	// Mount defaults to "kubernetes".
	Mount string
}

// Method names the auth method in logs.
func (KubernetesAuth) Method() string { return "kubernetes" }

func (a KubernetesAuth) check() error {
	if a.Role == "" {
		return errors.New("kubernetes: role is required")
	}
	return nil
}

func (a KubernetesAuth) login(ctx context.Context, c *vault.Client) (*vault.Secret, error) {
	path := a.TokenPath
	if path == "" {
		path = DefaultServiceAccountTokenPath
	}
	opts := []kubernetes.LoginOption{kubernetes.WithServiceAccountTokenPath(path)}
	if a.Mount != "" {
		opts = append(opts, kubernetes.WithMountPath(a.Mount))
	}
	// A new login object each time: it reads the JWT when constructed.
	auth, err := kubernetes.NewKubernetesAuth(a.Role, opts...)
	if err != nil {
		return nil, err
	}
	return loginWith(ctx, c, auth)
}

func loginWith(ctx context.Context, c *vault.Client, m vault.AuthMethod) (*vault.Secret, error) {
	s, err := c.Auth().Login(ctx, m)
	if err != nil {
		return nil, err
	}
	if s == nil || s.Auth == nil {
		return nil, errors.New("login returned no token")
	}
	return s, nil
}
