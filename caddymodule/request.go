package caddymodule

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/qfsign/qfsign/signer"
)

// Reading the request: which paths are signed and what body is
// accepted (QFPay's request is built afresh in outgoing).

// route admits only the exact paths and methods the gateway signs for:
// it is never a signing oracle for arbitrary requests.
func (h *Gateway) route(r *http.Request) (*signer.Endpoint, *refusal) {
	ep, ok := signer.LookupEndpoint(r.URL.Path)
	if !ok || r.URL.EscapedPath() != ep.Path || !h.allowed[ep.Path] {
		return nil, &refusal{Status: http.StatusNotFound, Error: "the gateway does not sign this path", Rule: rulePath}
	}
	if r.Method != ep.Method && (r.Method != http.MethodGet || !ep.AcceptGet) {
		return nil, &refusal{Status: http.StatusMethodNotAllowed, Error: "use " + ep.Method + " for this path", Rule: ruleMethod}
	}
	return ep, nil
}

// bodyType is how a POST body carries its fields: a form (in cs, nil
// for UTF-8) or, when boundary is set, multipart/form-data.
type bodyType struct {
	cs       *signer.Charset
	boundary string
}

func checkContentType(ct string) (bodyType, *refusal) {
	if ct == "application/x-www-form-urlencoded" { // the common case, without a parse
		return bodyType{}, nil
	}
	unsupported := &refusal{Status: http.StatusUnsupportedMediaType,
		Error: "Content-Type must be application/x-www-form-urlencoded or multipart/form-data", Rule: ruleContentType}
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return bodyType{}, unsupported
	case mt == "multipart/form-data" && params["boundary"] != "":
		return bodyType{boundary: params["boundary"]}, nil
	case mt != "application/x-www-form-urlencoded":
		return bodyType{}, unsupported
	}
	cs, err := signer.LookupCharset(params["charset"])
	if fe, ok := signer.AsFieldError(err); ok {
		return bodyType{}, fromFieldError(http.StatusUnsupportedMediaType, fe)
	}
	return bodyType{cs: cs}, nil
}

// readBody reads at most limit bytes. The buffer grows as bytes arrive:
// a declared Content-Length is no reason to allocate before anything
// was sent (the first allocation is capped at readBodyInitial).
func readBody(r *http.Request, limit int64) ([]byte, *refusal) {
	if r.ContentLength > limit {
		return nil, tooLargeDrained(r, limit)
	}
	var buf bytes.Buffer
	buf.Grow(int(min(max(r.ContentLength, 0), readBodyInitial, limit)) + bytes.MinRead)
	n, err := buf.ReadFrom(io.LimitReader(r.Body, limit+1))
	switch {
	case isMaxBytes(err):
		return nil, tooLarge(limit) // a request_body max_size before us
	case err != nil:
		return nil, &refusal{Status: http.StatusBadRequest, Error: "the request body could not be read", Rule: ruleBodyRead}
	case n > limit:
		return nil, tooLargeDrained(r, limit)
	}
	return buf.Bytes(), nil
}

func isMaxBytes(err error) bool {
	_, ok := errors.AsType[*http.MaxBytesError](err)
	return ok
}

// readBodyInitial caps the first allocation for a body; QFPay's forms
// and notifications are a few KiB.
const readBodyInitial = 8 << 10

// maxDrain bounds what is read and discarded before answering 413. A
// client that writes its whole body before reading (Python's urllib,
// many others) would otherwise meet a closed connection instead of the
// 413 JSON; past the bound (or the server's read_body timeout), it does.
const maxDrain = 4 << 20

// tooLargeDrained discards the rest of an oversized body, up to
// maxDrain, then refuses it; the connection is not reused.
func tooLargeDrained(r *http.Request, limit int64) *refusal {
	if r.ContentLength <= maxDrain {
		_, _ = io.CopyN(io.Discard, r.Body, maxDrain)
	}
	rf := tooLarge(limit)
	rf.closeConn = true
	return rf
}

func tooLarge(limit int64) *refusal {
	return &refusal{Status: http.StatusRequestEntityTooLarge,
		Error: "the body is larger than " + strconv.FormatInt(limit, 10) + " bytes", Rule: ruleBodyTooLarge}
}

// stripQFHeaders removes every header a caller sent under the given
// canonical prefixes: only the gateway speaks for the merchant.
func stripQFHeaders(h http.Header, prefixes ...string) {
	for name := range h {
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) {
				delete(h, name)
			}
		}
	}
}

// ruleSignType: X-QF-SIGNTYPE names another hash than the merchant's.
const ruleSignType = "sign_type"

// namesSignType: an X-QF-SIGNTYPE value is absent (the merchant's own
// type is used) or names want; any other value, known or not, is a
// sender choosing the hash.
func namesSignType(v string, want signer.SignType) bool {
	if v = strings.TrimSpace(v); v == "" {
		return true
	}
	t, err := signer.ParseSignType(v)
	return err == nil && t == want
}

// signTypeRefusal answers a notification that names another hash.
func signTypeRefusal(want signer.SignType) *refusal {
	return &refusal{Status: http.StatusUnauthorized, Field: "X-QF-SIGNTYPE", Rule: ruleSignType,
		Error: "X-QF-SIGNTYPE names another hash than this merchant's sign_type (" + want.String() + ")"}
}

// signTypeOf reads an X-QF-SIGNTYPE value as QFPay means it: SHA256 (any
// case, surrounding spaces ignored) is SHA-256; anything else, or none,
// is MD5.
func signTypeOf(v string) signer.SignType {
	if strings.EqualFold(strings.TrimSpace(v), "SHA256") {
		return signer.SHA256
	}
	return signer.MD5
}
