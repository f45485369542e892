package vaulttest

import (
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Server is an in-memory Vault. It implements http.Handler and is safe for
// concurrent use; one mutex guards all state because throughput is not the
// point of a test double, determinism is.
type Server struct {
	mu        sync.Mutex
	clock     func() time.Time
	root      string
	clusterID string
	kv        map[string]*kvMount
	tokens    map[string]*token
	wraps     map[string]*wrapEntry
	appRoles  map[string]*appRoleMount
	kubes     map[string]*kubeMount
	down      bool
	latency   time.Duration
	calls     []string
	logins    int
	lastNS    string
}

// New returns a server with a random root token, KV v2 mounted at
// "secret" (like `vault server -dev`) and only the token auth method.
func New() *Server {
	s := &Server{
		clock:     time.Now,
		clusterID: newUUID(),
		kv:        map[string]*kvMount{},
		tokens:    map[string]*token{},
		wraps:     map[string]*wrapEntry{},
		appRoles:  map[string]*appRoleMount{},
		kubes:     map[string]*kubeMount{},
	}
	root := s.issue(&token{
		root: true, orphan: true, policies: []string{"root"},
		path: "auth/token/root", displayName: "root",
	})
	s.root = root.id
	s.kv["secret"] = newKVMount(2)
	return s
}

// RootToken returns the root token: it never expires and can do anything.
func (s *Server) RootToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.root
}

// now is the server clock; callers hold s.mu.
func (s *Server) now() time.Time { return s.clock() }

// ServeHTTP records the call, applies latency, then answers under the lock.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.record(r)
	c := readCall(r)
	if !s.wait(r.Context()) {
		return
	}
	s.reviewFirst(r.Context(), c)
	s.mu.Lock()
	rep := s.dispatch(c)
	raw := encode(c, rep)
	s.mu.Unlock()
	writeReply(w, rep.status, raw)
}

func encode(c *call, rep reply) []byte {
	if rep.body == nil {
		return nil
	}
	if env, ok := rep.body.(*envelope); ok {
		env.RequestID = newUUID()
		env.MountType = c.mountType
	}
	raw, err := json.Marshal(rep.body)
	if err != nil {
		raw, _ = json.Marshal(errorBody{Errors: []string{err.Error()}})
	}
	return append(raw, '\n')
}

// dispatch routes in the order real Vault checks things: health first,
// then the seal, then unauthenticated paths, then the token.
func (s *Server) dispatch(c *call) reply {
	if !c.v1 {
		return notFound()
	}
	switch c.path {
	case "sys/health":
		return s.health(c)
	case "sys/seal-status":
		return s.sealStatus(c)
	}
	if s.down {
		return fail(http.StatusServiceUnavailable, "Vault is sealed")
	}
	if c.bodyErr != nil {
		return fail(http.StatusBadRequest, c.bodyErr.Error())
	}
	if rep, ok := s.login(c); ok {
		return rep
	}
	if c.path == "sys/wrapping/unwrap" {
		c.mountType = "system"
		return s.unwrap(c)
	}
	if c.tok = s.validToken(c.token); c.tok == nil {
		return fail(http.StatusForbidden, "permission denied")
	}
	if rest, ok := strings.CutPrefix(c.path, "auth/token/"); ok {
		c.mountType = "token"
		return s.tokenAPI(rest, c)
	}
	if m, rest, ok := s.findKV(c.path); ok {
		c.mountType = "kv"
		return s.kvAPI(m, rest, c)
	}
	return noRoute(c.path)
}

// Running is a Server listening on a real TCP address.
type Running struct {
	*Server
	Addr string // host:port actually bound
	URL  string // "http://" + Addr, for api.Config.Address
	srv  *http.Server
	done chan error
	once sync.Once
	err  error
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves a New server.
func Start(addr string) (*Running, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := New()
	r := &Running{
		Server: s,
		Addr:   ln.Addr().String(),
		URL:    "http://" + ln.Addr().String(),
		srv:    &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second},
		done:   make(chan error, 1),
	}
	go func() { r.done <- r.srv.Serve(ln) }()
	return r, nil
}

// Close stops listening and drops open connections; later calls are no-ops.
func (r *Running) Close() error {
	r.once.Do(func() {
		r.err = r.srv.Close()
		if serveErr := <-r.done; !errors.Is(serveErr, http.ErrServerClosed) && r.err == nil {
			r.err = serveErr
		}
	})
	return r.err
}
