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
func (p Params) Encode() []byte { return p.AppendEncode(nil) }

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
// allocating a string per value.
func appendQueryEscape(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isUnreserved(c):
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return dst
}

func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
