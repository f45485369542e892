package caddymodule

import (
	"bytes"
	"net/http"
)

// What counts as the application taking a notification.
const (
	// ackSuccessBody is QFPay's own rule: 2xx and the body SUCCESS
	// (surrounding whitespace ignored). Applications written for QFPay
	// answer 200 with FAIL or an error text when they refuse one.
	ackSuccessBody = "success_body"
	// ackStatus2xx takes any 2xx, for applications written for qfsign.
	ackStatus2xx = "status_2xx"
)

// ackBodyLimit bounds what is kept of the application's answer: only a
// short SUCCESS can acknowledge, so a longer body is never one.
const ackBodyLimit = 64

// acknowledged reports whether the application's answer takes the
// notification under mode; an unknown mode never acknowledges.
func acknowledged(mode string, status int, body []byte, truncated bool) bool {
	if status < 200 || status > 299 {
		return false
	}
	switch mode {
	case ackStatus2xx:
		return true
	case ackSuccessBody, "":
		return !truncated && string(bytes.TrimSpace(body)) == notifyAckBody
	}
	return false
}

// ackRecorder takes the application's answer in place of QFPay: its
// status and the first ackBodyLimit bytes; headers are dropped.
type ackRecorder struct {
	header    http.Header
	status    int
	body      []byte
	truncated bool
}

func newAckRecorder() *ackRecorder { return &ackRecorder{header: make(http.Header)} }

func (a *ackRecorder) Header() http.Header { return a.header }

func (a *ackRecorder) WriteHeader(status int) {
	if a.status == 0 && status >= 200 {
		a.status = status
	}
}

func (a *ackRecorder) Write(p []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	room := ackBodyLimit - len(a.body)
	if len(p) > room {
		a.body = append(a.body, p[:max(room, 0)]...)
		a.truncated = true
	} else {
		a.body = append(a.body, p...)
	}
	return len(p), nil
}

// Flush lets a streaming proxy flush; there is nothing to flush.
func (a *ackRecorder) Flush() {}

func (a *ackRecorder) acknowledged(mode string) bool {
	return acknowledged(mode, a.status, a.body, a.truncated)
}
