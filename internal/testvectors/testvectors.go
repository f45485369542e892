// Package testvectors loads signer/testdata/vectors.json, the signature
// vectors every signing test must pass, for the tests of any package.
package testvectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Request is a signed QFPay request vector.
type Request struct {
	Name      string            `json:"name"`
	Params    map[string]string `json:"params"`
	ClientKey string            `json:"client_key"`
	Canonical string            `json:"canonical"`
	MD5       string            `json:"md5"`
	SHA256    string            `json:"sha256"`
	WireBody  string            `json:"wire_body"`
}

// Notification is a signed QFPay notification vector.
type Notification struct {
	Name      string `json:"name"`
	Body      string `json:"body"`
	ClientKey string `json:"client_key"`
	MD5       string `json:"md5"`
}

// File is the whole vector file.
type File struct {
	Request      []Request      `json:"request"`
	Notification []Notification `json:"notification"`
}

// Load reads the vectors; an unreadable or empty file fails the test.
func Load(t testing.TB) File {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(here), "..", "..", "signer", "testdata", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Request) == 0 || len(f.Notification) == 0 {
		t.Fatal("vectors.json holds no vectors")
	}
	return f
}
