package qfpaytest

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
)

var (
	errSignature = errors.New("signature error")
	errUnsigned  = errors.New("parameters outside the signed part of the request")
)

// parseForm decodes a form body into single values. Repeated names are
// refused: QFPay's reading of them is undocumented, so a signature over one
// value could end up authorising another.
func parseForm(body []byte) (map[string]string, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	form := make(map[string]string, len(values))
	for name, vs := range values {
		if len(vs) != 1 {
			return nil, fmt.Errorf("repeated parameter %q", name)
		}
		form[name] = vs[0]
	}
	return form, nil
}

// canonical is the string QFPay signs: names sorted byte-wise, raw decoded
// values, joined by '&'. Empty values are kept: the signer signs exactly
// what it sends.
func canonical(params map[string]string) string {
	var b strings.Builder
	for i, name := range slices.Sorted(maps.Keys(params)) {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(params[name])
	}
	return b.String()
}

// digest is MD5 upper-case hex, or SHA-256 lower-case hex, of
// canonical(params) followed directly by the client key.
func digest(params map[string]string, clientKey string, sha bool) string {
	msg := []byte(canonical(params) + clientKey)
	if sha {
		sum := sha256.Sum256(msg)
		return hex.EncodeToString(sum[:])
	}
	return md5Upper(msg)
}

// md5Upper is the upper-case hex MD5 of msg.
func md5Upper(msg []byte) string {
	sum := md5.Sum(msg)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// verify checks sign against params. signType is the X-QF-SIGNTYPE header:
// empty or MD5 means MD5, SHA256 means SHA-256, anything else fails. Hex
// case is ignored because QFPay's own samples disagree on it.
func verify(params map[string]string, signType, sign, clientKey string) error {
	var sha bool
	switch {
	case signType == "" || strings.EqualFold(signType, "MD5"):
	case strings.EqualFold(signType, "SHA256"):
		sha = true
	default:
		return errSignature
	}
	// An empty key would make every signature forgeable.
	if sign == "" || clientKey == "" {
		return errSignature
	}
	want := strings.ToLower(digest(params, clientKey, sha))
	got := strings.ToLower(sign)
	if subtle.ConstantTimeCompare([]byte(want), []byte(got)) != 1 {
		return errSignature
	}
	return nil
}
