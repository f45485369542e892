package caddymodule

import (
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// captureLimit bounds what is kept of an upstream answer for the log;
// QFPay's payment answers are well under 2 KiB.
const captureLimit = 8 << 10

// captureWriter writes through to the client and keeps the status and
// the first captureLimit bytes. Streaming, flushing and hijacking are
// untouched: Unwrap reaches the real writer.
type captureWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status    int
	buf       []byte
	truncated bool
}

func newCaptureWriter(w http.ResponseWriter) *captureWriter {
	return &captureWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
}

func (c *captureWriter) WriteHeader(status int) {
	if c.status == 0 && status >= 200 {
		c.status = status
	}
	c.ResponseWriterWrapper.WriteHeader(status)
}

func (c *captureWriter) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if room := captureLimit - len(c.buf); room > 0 {
		if len(p) > room {
			c.buf = append(c.buf, p[:room]...)
			c.truncated = true
		} else {
			c.buf = append(c.buf, p...)
		}
	} else if len(p) > 0 {
		c.truncated = true
	}
	return c.ResponseWriterWrapper.Write(p)
}

// ReadFrom sends copies through Write so that they are captured too.
func (c *captureWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(writerOnly{c}, r)
}

type writerOnly struct{ io.Writer }

// answer decodes the captured body; a truncated or non-JSON body gives
// an empty answer rather than a guess.
func (c *captureWriter) answer() qfpayAnswer {
	if c.truncated || len(c.buf) == 0 {
		return qfpayAnswer{}
	}
	return parseAnswer(c.buf)
}

var _ io.ReaderFrom = (*captureWriter)(nil)
