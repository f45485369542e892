package signer

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// SignType is the digest QFPay expects for a merchant.
type SignType uint8

const (
	// MD5 is QFPay's default: upper-case hex, no X-QF-SIGNTYPE header.
	MD5 SignType = iota
	// SHA256 is lower-case hex and must be announced as X-QF-SIGNTYPE: SHA256.
	SHA256
)

// ParseSignType accepts "", "md5" and "sha256" in any case.
func ParseSignType(s string) (SignType, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "md5":
		return MD5, nil
	case "sha256", "sha-256":
		return SHA256, nil
	}
	return MD5, fmt.Errorf("sign_type: %w", fieldErr("sign_type", RuleOneOf, "must be md5 or sha256"))
}

func (t SignType) String() string {
	if t == SHA256 {
		return "sha256"
	}
	return "md5"
}

// Header is the X-QF-SIGNTYPE value to send, "" for MD5.
func (t SignType) Header() string {
	if t == SHA256 {
		return "SHA256"
	}
	return ""
}

var (
	md5Pool    = sync.Pool{New: func() any { return md5.New() }}
	sha256Pool = sync.Pool{New: func() any { return sha256.New() }}
	bufPool    = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
)

// digest hashes data+key into dst (which must hold 64 bytes) and returns
// the hex, upper-case for MD5 as QFPay's own samples send it.
func digest(t SignType, data []byte, key Secret, dst []byte) []byte {
	pool := &md5Pool
	if t == SHA256 {
		pool = &sha256Pool
	}
	h := pool.Get().(hash.Hash)
	h.Reset()
	h.Write(data)
	h.Write(key.b)
	var sum [sha256.Size]byte
	raw := h.Sum(sum[:0])
	pool.Put(h)
	out := dst[:hex.EncodedLen(len(raw))]
	hex.Encode(out, raw)
	if t == MD5 {
		for i, c := range out {
			if 'a' <= c && c <= 'f' {
				out[i] = c - 'a' + 'A'
			}
		}
	}
	return out
}

// Sign returns the X-QF-SIGN value for p.
func Sign(p Params, key Secret, t SignType) string {
	bp := bufPool.Get().(*[]byte)
	buf := p.AppendCanonical((*bp)[:0])
	var out [64]byte
	sig := string(digest(t, buf, key, out[:]))
	*bp = buf
	bufPool.Put(bp)
	return sig
}

// Verify checks a request signature in constant time; hex case is ignored.
func Verify(p Params, key Secret, t SignType, sig string) bool {
	bp := bufPool.Get().(*[]byte)
	buf := p.AppendCanonical((*bp)[:0])
	ok := verifyDigest(t, buf, key, sig)
	*bp = buf
	bufPool.Put(bp)
	return ok
}

// VerifyNotification checks QFPay's notification signature: the digest
// of the raw body bytes followed by the key, never of re-serialised JSON.
func VerifyNotification(body []byte, key Secret, t SignType, sig string) bool {
	return verifyDigest(t, body, key, sig)
}

func verifyDigest(t SignType, data []byte, key Secret, sig string) bool {
	if key.IsZero() {
		return false
	}
	var out [64]byte
	want := digest(t, data, key, out[:])
	if len(sig) != len(want) {
		return false
	}
	got := make([]byte, len(sig))
	for i := 0; i < len(sig); i++ {
		c := sig[i]
		if 'a' <= c && c <= 'f' {
			c = c - 'a' + 'A'
		}
		got[i] = c
	}
	for i, c := range want {
		if 'a' <= c && c <= 'f' {
			want[i] = c - 'a' + 'A'
		}
	}
	return subtle.ConstantTimeCompare(got, want) == 1
}
