//go:build image

package image

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestContainerSIGTERM: SIGTERM while a payment waits on a slow QFPay.
// The container stops taking connections, the payment is still answered
// (Caddyfile.example sets no grace_period: Caddy waits for it), and the
// process exits 0.
func TestContainerSIGTERM(t *testing.T) {
	d := startDouble(t)
	c, _ := startContainer(t, "sigterm", d.env()...)
	order := "SLOW-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	answered := make(chan payAnswer, 1)
	failed := make(chan error, 1)
	go func() {
		a, err := pay(c.listen, order)
		if err != nil {
			failed <- err
			return
		}
		answered <- a
	}()
	select {
	case <-d.arrived:
	case err := <-failed:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatal("the payment did not reach QFPay within 30s")
	}
	podman(t, "kill", "-s", "TERM", c.name)
	// A new connection is refused once Caddy closed its listener; the
	// container gives no other signal of that, so poll.
	refused := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", c.listen, time.Second)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
	}
	if !refused {
		t.Error("new connections still accepted 10s after SIGTERM")
	}
	if s := strings.TrimSpace(podman(t, "inspect", "--format", "{{.State.Status}}", c.name)); s != "running" {
		t.Fatalf("container %s before the payment was answered", s)
	}
	d.once.Do(func() { close(d.release) })
	select {
	case a := <-answered:
		if a.status != http.StatusOK || a.Respcd != "0000" {
			t.Errorf("the in-flight payment after SIGTERM: %+v", a)
		}
	case err := <-failed:
		t.Errorf("the in-flight payment was not answered: %v", err)
	case <-time.After(30 * time.Second):
		t.Error("the in-flight payment was not answered within 30s")
	}
	if code := strings.TrimSpace(podman(t, "wait", c.name)); code != "0" {
		t.Errorf("exit status after SIGTERM: %s, want 0", code)
	}
	c.noWrites(t)
}
