package qfpaytest

import (
	"context"
	"net"
	"net/http"
	"time"
)

// reply is a scripted answer: its body, and the Outcome saying how the
// exchange ends.
type reply struct {
	body any
	o    Outcome
}

// respond writes v with HTTP 200, as QFPay answers even business errors.
// A scripted reply may come late, with another status, or not at all.
func (s *Server) respond(w http.ResponseWriter, r *http.Request, v any) {
	rp, ok := v.(reply)
	if !ok {
		writeJSON(w, http.StatusOK, v)
		return
	}
	if !s.hold(r.Context(), w, rp.o) {
		return
	}
	if rp.o.ResetConn {
		drop(w)
		return
	}
	writeJSON(w, rp.o.status(), rp.body)
}

// hold keeps the answer back for o.Delay, or for good when o.Hang. It
// reports false when no answer is due any more: the client gave up, or the
// server closed and the connection was dropped.
func (s *Server) hold(ctx context.Context, w http.ResponseWriter, o Outcome) bool {
	if !o.Hang && o.Delay <= 0 {
		return true
	}
	var late <-chan time.Time // nil, so never ready, when hanging
	if !o.Hang {
		t := time.NewTimer(o.Delay)
		defer t.Stop()
		late = t.C
	}
	select {
	case <-late:
		return true
	case <-ctx.Done():
		return false
	case <-s.n.ctx.Done(): // Server.Close
		drop(w)
		return false
	}
}

// drop closes the connection without an answer: with a TCP reset where
// the connection can be hijacked, else through net/http's own abort.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST rather than FIN: a reset, not an empty answer
	}
	_ = conn.Close()
}
