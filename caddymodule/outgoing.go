package caddymodule

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/qfsign/qfsign/signer"
)

// maxAnswer bounds QFPay's answer; its largest documented answers are a
// few KiB. A larger one is no outcome: 502 upstream_answer, the order
// stays unknown and is resolved by query, never resent.
const maxAnswer = 1 << 20

var errAnswerTooLarge = errors.New("QFPay's answer is larger than 1 MiB")

// send sends tx once and buffers QFPay's answer. It records whether the
// request provably never left: net/http reads the body only after
// writing the headers on a connection, so a body never read means
// nothing reached QFPay (the one failure after which the order guard
// lets a retry through).
func (t *Transport) send(tx *txn, st signer.SignType) (*http.Response, []byte, error) {
	ctx, cancel := t.contextForSend()
	defer cancel()
	out, read := t.outgoing(tx, st)
	resp, err := t.inner.RoundTrip(out.WithContext(ctx))
	tx.notSent = err != nil && !read.Load()
	if err != nil {
		return nil, nil, err
	}
	body, err := bufferAnswer(resp)
	if err != nil {
		return nil, nil, err
	}
	return resp, body, nil
}

// outgoing builds the request QFPay receives from the transaction alone:
// method, pinned URL, the signed bytes, and QFPay's headers. Nothing of
// the caller's request is copied (no Cookie, Authorization, Forwarded,
// X-Forwarded-*, Idempotency-Key, Host). It has no GetBody and is not
// idempotent, so net/http never sends it twice; the flag turns true once
// its body is read.
func (t *Transport) outgoing(tx *txn, st signer.SignType) (*http.Request, *atomic.Bool) {
	method, ctype, stHeader := tx.ep.Method, "application/x-www-form-urlencoded", st.Header()
	u := *t.upstream
	u.Path = tx.ep.Path
	if o := tx.observed; o != nil {
		method, ctype, stHeader, u.RawQuery = o.method, o.contentType, o.signType, o.query
	}
	out := &http.Request{
		Method: method, URL: &u, Host: t.host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{
			headerAppCode: {tx.appCode},
			headerSign:    {tx.sig},
			"User-Agent":  {userAgent()},
		},
		Body: http.NoBody,
	}
	if stHeader != "" {
		out.Header[headerSignType] = []string{stHeader}
	}
	read := new(atomic.Bool)
	if method == http.MethodGet {
		u.RawQuery = string(tx.wire)
		read.Store(true) // no body to tell by: assume it may have been sent
		return out, read
	}
	out.Header["Content-Type"] = []string{ctype}
	out.ContentLength = int64(len(tx.wire))
	out.Body = &readMarker{ReadCloser: io.NopCloser(bytes.NewReader(tx.wire)), read: read}
	return out, read
}

// readMarker records that the transport started sending the body; the
// transport reads it on its own goroutine, hence the atomic.
type readMarker struct {
	io.ReadCloser
	read *atomic.Bool
}

func (m *readMarker) Read(p []byte) (int, error) {
	m.read.Store(true)
	return m.ReadCloser.Read(p)
}

// bufferAnswer reads QFPay's whole answer, up to maxAnswer, and puts it
// back on resp: reverse_proxy then copies bytes already held, and a body
// too large or cut short is an error before any byte reaches the caller.
func bufferAnswer(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > maxAnswer {
		return nil, errAnswerTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("reading QFPay's answer: %w", err)
	}
	if len(body) > maxAnswer {
		return nil, errAnswerTooLarge
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.TransferEncoding = nil
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
	return body, nil
}
