package vaulttest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Version is what sys/health and sys/seal-status report.
const Version = "1.17.0-vaulttest"

// SetDown seals (true) or unseals (false) the server: while sealed every
// request but sys/health and sys/seal-status gets 503 "Vault is sealed".
func (s *Server) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetLatency delays every request by d; a request whose context ends first
// gets no answer, like a server that never replied in time.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// SetNow replaces the clock used for TTLs and timestamps (nil: time.Now).
func (s *Server) SetNow(now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = now
}

// Calls counts requests whose "METHOD /v1/path" equals pattern (query
// strings excluded); "" counts all requests.
func (s *Server) Calls(pattern string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if pattern == "" {
		return len(s.calls)
	}
	n := 0
	for _, c := range s.calls {
		if c == pattern {
			n++
		}
	}
	return n
}

// CallLog returns every "METHOD /v1/path" received, in order, including
// refused ones and those received while sealed.
func (s *Server) CallLog() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// ResetCalls empties the call log.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// Logins counts successful logins across all auth methods.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// LastNamespace is the X-Vault-Namespace header of the latest request; the
// header is otherwise ignored.
func (s *Server) LastNamespace() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastNS
}

func (s *Server) record(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, r.Method+" "+r.URL.Path)
	s.lastNS = r.Header.Get("X-Vault-Namespace")
}

// wait applies the configured latency; false means the client gave up.
func (s *Server) wait(ctx context.Context) bool {
	s.mu.Lock()
	d := s.latency
	s.mu.Unlock()
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// health honours activecode/sealedcode like Vault; the Go client's
// Sys().Health sets sealedcode=299 so a sealed server is not an error.
func (s *Server) health(c *call) reply {
	if c.method != http.MethodGet && c.method != http.MethodHead {
		return unsupported()
	}
	code, param := http.StatusOK, "activecode"
	if s.down {
		code, param = http.StatusServiceUnavailable, "sealedcode"
	}
	if q := c.query.Get(param); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 100 || n > 999 {
			return fail(http.StatusBadRequest, fmt.Sprintf("unable to parse %s code: %s", param, q))
		}
		code = n
	}
	body := map[string]any{
		"initialized": true, "sealed": s.down, "standby": s.down, "performance_standby": false,
		"replication_performance_mode": "disabled", "replication_dr_mode": "disabled",
		"server_time_utc": s.now().Unix(), "version": Version, "enterprise": false,
		"echo_duration_ms": 0, "clock_skew_ms": 0, "replication_primary_canary_age_ms": 0,
	}
	if !s.down {
		body["cluster_name"] = "vault-cluster-vaulttest"
		body["cluster_id"] = s.clusterID
	}
	return reply{code, body}
}

func (s *Server) sealStatus(c *call) reply {
	if c.method != http.MethodGet {
		return unsupported()
	}
	body := map[string]any{
		"type": "shamir", "initialized": true, "sealed": s.down, "t": 1, "n": 1, "progress": 0,
		"nonce": "", "version": Version, "build_date": "", "migration": false,
		"recovery_seal": false, "storage_type": "inmem",
	}
	if !s.down {
		body["cluster_name"] = "vault-cluster-vaulttest"
		body["cluster_id"] = s.clusterID
	}
	return reply{http.StatusOK, body}
}
