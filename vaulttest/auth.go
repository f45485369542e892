package vaulttest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// AppRole is one role of an AppRole mount, keyed by RoleID.
type AppRole struct {
	RoleID      string
	SecretID    string // "" means bind_secret_id=false: no secret needed
	TokenTTL    time.Duration
	TokenMaxTTL time.Duration
	Renewable   bool     // Vault's own default is true; the zero value here is not
	Name        string   // role_name in token metadata; defaults to RoleID
	Policies    []string // token policies besides "default"
}

// KubeRole is one role of a Kubernetes mount. Without a KubeConfig, JWTs
// are accepted verbatim (whitespace ignored, like go-jose); no signature is
// checked. With one, the Bound* lists, Audience and the TokenReview API
// decide, as on Vault.
type KubeRole struct {
	Role string
	JWTs []string
	// bound_service_account_names and _namespaces ("*" for any) and
	// audience: used with a KubeConfig only.
	BoundServiceAccountNames      []string
	BoundServiceAccountNamespaces []string
	Audience                      string
	TokenTTL                      time.Duration
	TokenMaxTTL                   time.Duration
	Renewable                     bool
	Policies                      []string
}

type appRoleMount struct{ roles map[string]*appRoleEntry }

type appRoleEntry struct {
	AppRole
	secretAccessor string
}

type kubeMount struct {
	roles  map[string]*KubeRole
	config *KubeConfig // nil: JWTs are checked against KubeRole.JWTs
}

// EnableAppRole mounts AppRole at auth/<mount> (default "approle") if
// needed and adds or replaces the role.
func (s *Server) EnableAppRole(mount string, role AppRole) {
	mount = authMount(mount, "approle")
	if role.Name == "" {
		role.Name = role.RoleID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.appRoles[mount]
	if m == nil {
		delete(s.kubes, mount)
		m = &appRoleMount{roles: map[string]*appRoleEntry{}}
		s.appRoles[mount] = m
	}
	m.roles[role.RoleID] = &appRoleEntry{AppRole: role, secretAccessor: newUUID()}
}

// SetSecretID rotates a role's secret ID; the old one stops working.
func (s *Server) SetSecretID(mount, roleID, secretID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mustAppRole(mount, roleID)
	r.SecretID, r.secretAccessor = secretID, newUUID()
}

func (s *Server) mustAppRole(mount, roleID string) *appRoleEntry {
	m := s.appRoles[authMount(mount, "approle")]
	if m == nil || m.roles[roleID] == nil {
		panic(fmt.Sprintf("vaulttest: no AppRole role %q at %q", roleID, mount))
	}
	return m.roles[roleID]
}

// EnableKubernetes mounts Kubernetes auth at auth/<mount> (default
// "kubernetes") if needed and adds or replaces the role.
func (s *Server) EnableKubernetes(mount string, role KubeRole) {
	mount = authMount(mount, "kubernetes")
	role.JWTs = stripAll(role.JWTs)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.kubes[mount]
	if m == nil {
		delete(s.appRoles, mount)
		m = &kubeMount{roles: map[string]*KubeRole{}}
		s.kubes[mount] = m
	}
	m.roles[role.Role] = &role
}

// SetKubeJWTs replaces the JWTs a role accepts, as when the projected
// service account token rotates.
func (s *Server) SetKubeJWTs(mount, role string, jwts ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.kubes[authMount(mount, "kubernetes")]
	if m == nil || m.roles[role] == nil {
		panic(fmt.Sprintf("vaulttest: no Kubernetes role %q at %q", role, mount))
	}
	m.roles[role].JWTs = stripAll(jwts)
}

func authMount(mount, def string) string {
	if mount = cleanPath(strings.TrimPrefix(cleanPath(mount), "auth/")); mount == "" {
		return def
	}
	return mount
}

// login serves auth/<mount>/login for AppRole and Kubernetes mounts; it
// needs no client token.
func (s *Server) login(c *call) (reply, bool) {
	rest, ok := strings.CutPrefix(c.path, "auth/")
	mount, ok2 := strings.CutSuffix(rest, "/login")
	if !ok || !ok2 {
		return reply{}, false
	}
	am, km := s.appRoles[mount], s.kubes[mount]
	if am == nil && km == nil {
		return reply{}, false
	}
	if c.op() != "update" {
		return unsupported(), true
	}
	if am != nil {
		c.mountType = "approle"
		return s.appRoleLogin(mount, am, c), true
	}
	c.mountType = "kubernetes"
	return s.kubeLogin(mount, km, c), true
}

func (s *Server) appRoleLogin(mount string, m *appRoleMount, c *call) reply {
	roleID := strings.TrimSpace(str(c.body["role_id"]))
	if roleID == "" {
		return fail(http.StatusBadRequest, "missing role_id")
	}
	role := m.roles[roleID]
	if role == nil {
		return fail(http.StatusBadRequest, "invalid role or secret ID")
	}
	if role.SecretID != "" {
		secretID := strings.TrimSpace(str(c.body["secret_id"]))
		if secretID == "" {
			return fail(http.StatusBadRequest, "missing secret_id")
		}
		if secretID != role.SecretID {
			return fail(http.StatusBadRequest, "invalid role or secret ID")
		}
	}
	return s.issueLogin(&token{
		ttl: role.TokenTTL, maxTTL: role.TokenMaxTTL, renewable: role.Renewable,
		policies: role.Policies, meta: map[string]string{"role_name": role.Name},
		path: "auth/" + mount + "/login", displayName: "approle",
	})
}

// kubeLogin: unknown roles are a 400 and unaccepted JWTs a 403, matching
// vault-plugin-auth-kubernetes.
func (s *Server) kubeLogin(mount string, m *kubeMount, c *call) reply {
	name := str(c.body["role"])
	if name == "" {
		return fail(http.StatusBadRequest, "missing role")
	}
	jwt := strings.Join(strings.Fields(str(c.body["jwt"])), "")
	if jwt == "" {
		return fail(http.StatusBadRequest, "missing jwt")
	}
	role := m.roles[name]
	if role == nil {
		return fail(http.StatusBadRequest, fmt.Sprintf("invalid role name %q", name))
	}
	var sa serviceAccount
	if m.config != nil {
		var denied *reply
		if sa, denied = s.reviewedLogin(role, jwt, c); denied != nil {
			return *denied
		}
	} else if !slices.Contains(role.JWTs, jwt) {
		return fail(http.StatusForbidden, "permission denied")
	} else {
		sa = parseServiceAccount(jwt)
	}
	display := "kubernetes"
	if sa.Namespace != "" || sa.Name != "" {
		display += "-" + sa.Namespace + "-" + sa.Name
	}
	return s.issueLogin(&token{
		ttl: role.TokenTTL, maxTTL: role.TokenMaxTTL, renewable: role.Renewable,
		policies: role.Policies, path: "auth/" + mount + "/login", displayName: display,
		meta: map[string]string{
			"role": name, "service_account_name": sa.Name, "service_account_namespace": sa.Namespace,
			"service_account_secret_name": "", "service_account_uid": sa.UID,
		},
	})
}

// issueLogin applies the mount defaults (32 days) to a login token, which
// is always an orphan.
func (s *Server) issueLogin(t *token) reply {
	if t.ttl <= 0 {
		t.ttl = defaultTokenTTL
	}
	if t.maxTTL <= 0 {
		t.maxTTL = defaultTokenTTL
	}
	t.policies = normPolicies(t.policies, true)
	t.orphan = true
	s.issue(t)
	s.logins++
	return reply{http.StatusOK, &envelope{Auth: t.auth(t.issued)}}
}

type serviceAccount struct {
	Name      string `json:"kubernetes.io/serviceaccount/service-account.name"`
	UID       string `json:"kubernetes.io/serviceaccount/service-account.uid"`
	Namespace string `json:"kubernetes.io/serviceaccount/namespace"`
	Projected *struct {
		Namespace      string `json:"namespace"`
		ServiceAccount *struct {
			Name string `json:"name"`
			UID  string `json:"uid"`
		} `json:"serviceaccount"`
	} `json:"kubernetes.io"`
}

// parseServiceAccount reads the claims without verifying anything, only to
// fill token metadata; opaque test strings yield empty fields.
func parseServiceAccount(jwt string) serviceAccount {
	var sa serviceAccount
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return sa
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil || json.Unmarshal(raw, &sa) != nil {
		return serviceAccount{}
	}
	if p := sa.Projected; p != nil {
		sa.Namespace = p.Namespace
		if p.ServiceAccount != nil {
			sa.Name, sa.UID = p.ServiceAccount.Name, p.ServiceAccount.UID
		}
	}
	return sa
}

func stripAll(jwts []string) []string {
	out := make([]string, 0, len(jwts))
	for _, j := range jwts {
		out = append(out, strings.Join(strings.Fields(j), ""))
	}
	return out
}
