package signer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
)

// Secret holds a client key. It has no method that returns the key: the
// bytes leave only into a hash. Every way of printing or marshalling it
// shows "[redacted sha256:xxxxxxxx]".
type Secret struct {
	b  []byte
	fp string
}

// NewSecret wraps a key.
func NewSecret(key string) Secret {
	if key == "" {
		return Secret{}
	}
	sum := sha256.Sum256([]byte(key))
	return Secret{b: []byte(key), fp: "sha256:" + hex.EncodeToString(sum[:4])}
}

// IsZero reports whether no key is held.
func (s Secret) IsZero() bool { return len(s.b) == 0 }

// Fingerprint is a short SHA-256 prefix of the key: enough to tell keys
// apart in logs, far too short to help guess one.
func (s Secret) Fingerprint() string {
	if s.IsZero() {
		return "none"
	}
	return s.fp
}

// Equal compares two keys in constant time.
func (s Secret) Equal(o Secret) bool { return subtle.ConstantTimeCompare(s.b, o.b) == 1 }

func (s Secret) redacted() string { return "[redacted " + s.Fingerprint() + "]" }

func (s Secret) String() string   { return s.redacted() }
func (s Secret) GoString() string { return s.redacted() }

// Format covers every fmt verb, including %x and %q.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.redacted())) }

func (s Secret) MarshalText() ([]byte, error) { return []byte(s.redacted()), nil }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.redacted() + `"`), nil }

// Interface guards.
var (
	_ fmt.Stringer   = Secret{}
	_ fmt.GoStringer = Secret{}
	_ fmt.Formatter  = Secret{}
)
