package caddymodule

import (
	"net"
	"net/http"
)

// listenerRateLimit applies the route's listener_rate_limit before
// anything else, the merchant's rate_limit included: every request the
// route gets on one listener (a port, or a unix socket that one
// application may use) counts, refused and replayed ones too, so a loop
// in one application neither fills the store nor spends the merchant's
// QFPay budget that other applications share.
func (h *Gateway) listenerRateLimit(r *http.Request) *refusal {
	if h.ListenerRateLimit == nil {
		return nil
	}
	listener := "unknown"
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		listener = a.Network() + ":" + a.String()
	}
	rf := h.allow(r.Context(), "rl:listener:"+h.Merchant+":"+listener, h.ListenerRateLimit, "this listener")
	if rf != nil {
		rf.closeConn = true // the body was not read
	}
	return rf
}
