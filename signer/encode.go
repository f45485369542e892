package signer

// Canonical returns the string QFPay signs: names in byte order, raw
// values, joined as name=value with '&'. The key is not part of it.
func (p Params) Canonical() string { return string(p.AppendCanonical(nil)) }

// AppendCanonical appends the canonical string to dst.
func (p Params) AppendCanonical(dst []byte) []byte {
	for i, kv := range p {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, kv.Name...)
		dst = append(dst, '=')
		dst = append(dst, kv.Value...)
	}
	return dst
}

// Encode returns the wire body: the same fields in the same order,
// each value escaped exactly as url.QueryEscape does.
func (p Params) Encode() []byte { return p.AppendEncode(make([]byte, 0, p.encodedLen())) }

// encodedLen is the exact length of the wire body: one allocation.
func (p Params) encodedLen() int {
	n := len(p)
	for _, kv := range p {
		n += escapedLen(kv.Name) + escapedLen(kv.Value)
	}
	return n
}

func escapedLen(s string) int {
	n := len(s)
	for i := 0; i < len(s); i++ {
		if c := s[i]; !unreserved[c] && c != ' ' {
			n += 2
		}
	}
	return n
}

// AppendEncode appends the wire body to dst.
func (p Params) AppendEncode(dst []byte) []byte {
	for i, kv := range p {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = appendQueryEscape(dst, kv.Name)
		dst = append(dst, '=')
		dst = appendQueryEscape(dst, kv.Value)
	}
	return dst
}

const upperHex = "0123456789ABCDEF"

// appendQueryEscape matches url.QueryEscape byte for byte without
// allocating a string per value; runs of unreserved bytes are copied
// whole, since most values are plain ASCII.
func appendQueryEscape(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		if c == ' ' {
			dst = append(dst, '+')
		} else {
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
		start = i + 1
	}
	return append(dst, s[start:]...)
}

// unreserved is isUnreserved as a table, for the per-byte loops.
var unreserved = func() (t [256]bool) {
	for c := range 256 {
		t[c] = isUnreserved(byte(c))
	}
	return t
}()

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
