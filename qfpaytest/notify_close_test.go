package qfpaytest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCloseStopsRetries(t *testing.T) {
	tests := []struct {
		name    string
		start   func(t *testing.T) (*Server, func())
		blocked bool // receiver holds the request until the client gives up
	}{
		{"bare server waiting to retry", bareServer, false},
		{"running server waiting to retry", runningServer, false},
		{"bare server mid-attempt", bareServer, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			hits := make(chan struct{}, 16)
			rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits <- struct{}{}
				if tc.blocked {
					select {
					case <-r.Context().Done():
					case <-release:
					}
				}
				w.WriteHeader(http.StatusInternalServerError)
			}))
			defer rcv.Close()
			defer close(release)
			s, closeFn := tc.start(t)
			s.SetRetryScale(1)
			s.SetNotifyURL(rcv.URL)
			pay(t, s, payParams("C1", "800201"), merchant)
			<-hits
			want := 0
			if !tc.blocked {
				want = 1
				if _, err := s.WaitDeliveries(waitCtx(t), 1); err != nil {
					t.Fatal(err)
				}
			}
			closed := make(chan struct{})
			go func() { closeFn(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(5 * time.Second):
				t.Fatal("Close did not return")
			}
			if got := len(s.Deliveries()); got != want || len(hits) != 0 {
				t.Fatalf("after Close: %d deliveries (want %d), %d more hits", got, want, len(hits))
			}
		})
	}
}

func bareServer(t *testing.T) (*Server, func()) {
	s := newTestServer()
	t.Cleanup(s.Close)
	return s, s.Close
}

func runningServer(t *testing.T) (*Server, func()) {
	r, err := Start("127.0.0.1:0", merchant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r.Server, func() { _ = r.Close() }
}

func TestWaitDeliveriesContext(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		n       int
		wantErr error
	}{
		{"nothing to wait for", 0, nil},
		{"cancelled while waiting", 1, context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := newTestServer().WaitDeliveries(cancelled, tc.n)
			if !errors.Is(err, tc.wantErr) || len(ds) != 0 {
				t.Fatalf("WaitDeliveries = %v, %v; want no deliveries, %v", ds, err, tc.wantErr)
			}
		})
	}
}
