package vaulttest

import (
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"
)

const (
	// defaultMaxVersions is what KV v2 keeps when max_versions is 0.
	defaultMaxVersions = 10
	// kvV1Lease is the 32-day lease KV v1 reports on reads.
	kvV1Lease = 2764800
)

type kvMount struct {
	version int
	flat    map[string]map[string]any // v1
	secrets map[string]*kvSecret      // v2
}

type kvSecret struct {
	versions    map[int]*kvVersion
	current     int
	oldest      int
	created     time.Time
	updated     time.Time
	maxVersions int
	casRequired bool
	deleteAfter time.Duration
	custom      map[string]string
}

// kvVersion data is never mutated after creation, so it can be shared.
type kvVersion struct {
	data      map[string]any
	created   time.Time
	deleted   time.Time // zero: not deleted; may be in the future
	destroyed bool
}

func newKVMount(version int) *kvMount {
	return &kvMount{version: version, flat: map[string]map[string]any{}, secrets: map[string]*kvSecret{}}
}

// EnableKV mounts a KV engine of version 1 or 2 at mount, replacing (and
// emptying) any existing mount of that name.
func (s *Server) EnableKV(mount string, version int) {
	if version != 1 && version != 2 {
		panic(fmt.Sprintf("vaulttest: KV version must be 1 or 2, got %d", version))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.kv[cleanPath(mount)] = newKVMount(version)
}

// Put writes a secret without HTTP. On v2 it adds a version (ignoring CAS)
// and returns its number; on v1 it overwrites and returns 0.
func (s *Server) Put(mount, path string, data map[string]any) (version int) {
	d := copyJSON(data)
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustKV(mount)
	if m.version == 1 {
		m.flat[cleanPath(path)] = d
		return 0
	}
	_, n := m.putV2(cleanPath(path), d, s.now())
	return n
}

// SoftDelete deletes the latest v2 version like `vault kv delete` (metadata
// and older versions stay); on v1 it removes the secret.
func (s *Server) SoftDelete(mount, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustKV(mount)
	if m.version == 1 {
		delete(m.flat, cleanPath(path))
		return
	}
	if sec := m.secrets[cleanPath(path)]; sec != nil {
		sec.softDeleteLatest(s.now())
	}
}

// Destroy removes the secret with all versions and metadata.
func (s *Server) Destroy(mount, path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.mustKV(mount)
	delete(m.flat, cleanPath(path))
	delete(m.secrets, cleanPath(path))
}

func (s *Server) mustKV(mount string) *kvMount {
	m := s.kv[cleanPath(mount)]
	if m == nil {
		panic(fmt.Sprintf("vaulttest: no KV mount %q", mount))
	}
	return m
}

// findKV returns the longest KV mount that prefixes p, and the remainder.
func (s *Server) findKV(p string) (*kvMount, string, bool) {
	best := ""
	for name := range s.kv {
		if (p == name || strings.HasPrefix(p, name+"/")) && len(name) > len(best) {
			best = name
		}
	}
	if best == "" {
		return nil, "", false
	}
	return s.kv[best], strings.TrimPrefix(p[len(best):], "/"), true
}

func (m *kvMount) putV2(p string, data map[string]any, now time.Time) (*kvSecret, int) {
	sec := m.secrets[p]
	if sec == nil {
		sec = newSecret(now)
		m.secrets[p] = sec
	}
	sec.current++
	v := &kvVersion{data: data, created: now}
	if sec.deleteAfter > 0 {
		v.deleted = now.Add(sec.deleteAfter)
	}
	sec.versions[sec.current] = v
	sec.updated = now
	sec.prune()
	return sec, sec.current
}

func newSecret(now time.Time) *kvSecret {
	return &kvSecret{versions: map[int]*kvVersion{}, created: now, updated: now}
}

// prune drops versions beyond max_versions; oldest_version stays 0 until
// something is actually dropped, as in real Vault.
func (sec *kvSecret) prune() {
	limit := sec.maxVersions
	if limit <= 0 {
		limit = defaultMaxVersions
	}
	dropped := false
	for n := range sec.versions {
		if n <= sec.current-limit {
			delete(sec.versions, n)
			dropped = true
		}
	}
	if dropped {
		sec.oldest = slices.Min(slices.Collect(maps.Keys(sec.versions)))
	}
}

func (sec *kvSecret) softDeleteLatest(now time.Time) {
	if v := sec.versions[sec.current]; v != nil && v.live(now) {
		v.deleted = now
	}
}

func (v *kvVersion) live(now time.Time) bool {
	return !v.destroyed && (v.deleted.IsZero() || now.Before(v.deleted))
}

// versionMeta is the per-version "metadata" object of data reads/writes.
func (sec *kvSecret) versionMeta(n int) map[string]any {
	v := sec.versions[n]
	return map[string]any{
		"created_time":    fmtTime(v.created),
		"custom_metadata": sec.custom,
		"deletion_time":   deletionTime(v),
		"destroyed":       v.destroyed,
		"version":         n,
	}
}

// metadata is the body of GET <mount>/metadata/<path>.
func (sec *kvSecret) metadata() map[string]any {
	versions := map[string]any{}
	for n, v := range sec.versions {
		versions[fmt.Sprint(n)] = map[string]any{
			"created_time":  fmtTime(v.created),
			"deletion_time": deletionTime(v),
			"destroyed":     v.destroyed,
		}
	}
	return map[string]any{
		"cas_required":         sec.casRequired,
		"created_time":         fmtTime(sec.created),
		"current_version":      sec.current,
		"custom_metadata":      sec.custom,
		"delete_version_after": sec.deleteAfter.String(),
		"max_versions":         sec.maxVersions,
		"oldest_version":       sec.oldest,
		"updated_time":         fmtTime(sec.updated),
		"versions":             versions,
	}
}

func deletionTime(v *kvVersion) string {
	if v.deleted.IsZero() {
		return ""
	}
	return fmtTime(v.deleted)
}

// listKeys returns the immediate children of prefix, folders ending in
// "/", sorted; nil when there are none (Vault then answers 404).
func listKeys(keys iter.Seq[string], prefix string) []string {
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	set := map[string]bool{}
	for k := range keys {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok || rest == "" {
			continue
		}
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			rest = rest[:i+1]
		}
		set[rest] = true
	}
	if len(set) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(set))
}

func cleanPath(p string) string { return strings.Trim(p, "/") }

// copyJSON deep-copies through JSON so stored values have exactly the
// types a client would get back (numbers as json.Number).
func copyJSON(data map[string]any) map[string]any {
	raw, err := json.Marshal(data)
	if err != nil {
		panic(fmt.Sprintf("vaulttest: secret data is not JSON: %v", err))
	}
	out := map[string]any{}
	if data == nil {
		return out
	}
	if err := decodeInto(raw, &out); err != nil {
		panic(fmt.Sprintf("vaulttest: secret data is not a JSON object: %v", err))
	}
	return out
}

func decodeInto(raw []byte, out any) error {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	return dec.Decode(out)
}
