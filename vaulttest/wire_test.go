package vaulttest_test

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qfsign/qfsign/vaulttest"
)

var envelopeKeys = []string{"auth", "data", "lease_duration", "lease_id", "mount_type", "renewable", "request_id", "warnings", "wrap_info"}

// TestWireFormat pins the raw JSON that non-Go clients and the official
// client's 404 handling depend on.
func TestWireFormat(t *testing.T) {
	run := start(t)
	root := run.RootToken()
	run.EnableKV("kv", 1)
	run.Put("secret", "live", map[string]any{"n": 42, "s": "42"})
	run.Put("secret", "gone", map[string]any{"k": "v"})
	run.SoftDelete("secret", "gone")
	cases := []struct {
		name, method, path, token, body string
		status                          int
		check                           func(t *testing.T, body string)
	}{
		{"kv2 read", "GET", "/v1/secret/data/live", root, "", 200, checkLive},
		{"kv2 soft-deleted latest", "GET", "/v1/secret/data/gone", root, "", 404, checkDeleted},
		{"kv2 missing", "GET", "/v1/secret/data/missing", root, "", 404, exact(`{"errors":[]}`)},
		{"kv2 write", "POST", "/v1/secret/data/new", root, `{"data":{"a":1}}`, 200, contains(`"version":1`, `"deletion_time":""`)},
		{"kv2 write without data", "PUT", "/v1/secret/data/new", root, `{}`, 400, exact(`{"errors":["no data provided"]}`)},
		{"kv2 metadata", "GET", "/v1/secret/metadata/live", root, "", 200, contains(`"current_version":1`, `"delete_version_after":"0s"`, `"versions":{"1":{`)},
		{"kv1 write", "PUT", "/v1/kv/a", root, `{"x":"y"}`, 204, exact(``)},
		{"kv1 read", "GET", "/v1/kv/a", root, "", 200, contains(`"lease_duration":2764800`, `"data":{"x":"y"}`)},
		{"kv1 missing", "GET", "/v1/kv/b", root, "", 404, exact(`{"errors":[]}`)},
		{"kv1 has no patch", "PATCH", "/v1/kv/a", root, `{}`, 405, exact(`{"errors":["unsupported operation"]}`)},
		{"no token", "GET", "/v1/secret/data/live", "", "", 403, exact(`{"errors":["permission denied"]}`)},
		{"bad JSON", "PUT", "/v1/secret/data/x", root, `{`, 400, contains(`failed to parse JSON input`)},
		{"unmounted", "GET", "/v1/nomount/x", root, "", 404, contains(`no handler for route`)},
		{"health needs no token", "GET", "/v1/sys/health", "", "", 200, contains(`"initialized":true`, `"sealed":false`, `"version":"`+vaulttest.Version+`"`)},
		{"unwrap needs a wrapping token", "PUT", "/v1/sys/wrapping/unwrap", root, "", 400, exact(`{"errors":["wrapping token is not valid or does not exist"]}`)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := raw(t, run, tc.method, tc.path, tc.token, tc.body)
			if code != tc.status {
				t.Fatalf("status = %d, want %d: %s", code, tc.status, body)
			}
			tc.check(t, body)
		})
	}
}

func exact(want string) func(*testing.T, string) {
	return func(t *testing.T, body string) {
		if strings.TrimSpace(body) != want {
			t.Fatalf("body = %s, want %s", body, want)
		}
	}
}

func contains(parts ...string) func(*testing.T, string) {
	return func(t *testing.T, body string) {
		for _, p := range parts {
			if !strings.Contains(body, p) {
				t.Fatalf("body %s lacks %s", body, p)
			}
		}
	}
}

func decode(t *testing.T, body string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if keys := slices.Sorted(maps.Keys(m)); !slices.Equal(keys, envelopeKeys) {
		t.Fatalf("top-level keys = %v", keys)
	}
	return m
}

func checkLive(t *testing.T, body string) {
	m := decode(t, body)
	data := m["data"].(map[string]any)
	md := data["metadata"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(md)); !slices.Equal(keys, []string{"created_time", "custom_metadata", "deletion_time", "destroyed", "version"}) {
		t.Fatalf("metadata keys = %v", keys)
	}
	if _, err := time.Parse(time.RFC3339Nano, md["created_time"].(string)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(body, `"n":42`) || !strings.Contains(body, `"s":"42"`) {
		t.Fatalf("JSON types not kept: %s", body)
	}
	if m["lease_id"] != "" || m["lease_duration"] != 0.0 || m["auth"] != nil || m["request_id"] == "" {
		t.Fatalf("envelope = %v", m)
	}
}

func checkDeleted(t *testing.T, body string) {
	data := decode(t, body)["data"].(map[string]any)
	inner, present := data["data"]
	md := data["metadata"].(map[string]any)
	if !present || inner != nil || md["deletion_time"] == "" || md["version"] != 1.0 {
		t.Fatalf("deleted body = %s", body)
	}
}
