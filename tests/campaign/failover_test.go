//go:build campaign

package campaign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// redisHA is a primary and an asynchronous replica behind one address, as
// a managed Redis with failover presents itself. A failover kills the
// primary, promotes the replica and moves the address to it; healing
// brings the old primary back as the new replica. Writes the primary
// acknowledged but had not yet replicated are lost, as in production.
type redisHA struct {
	addr  string // what the gateways use
	proxy *tcpProxy

	mu               sync.Mutex
	primary, replica *redisServer
	failing          bool // failed over, the old primary not back yet
}

func startRedisHA(t testing.TB, dir string) *redisHA {
	t.Helper()
	primary := startRedis(t, filepath.Join(dir, "a"), "")
	replica := startRedis(t, filepath.Join(dir, "b"), primary.addr)
	if err := waitSynced(replica.addr); err != nil {
		t.Fatal(err)
	}
	h := &redisHA{primary: primary, replica: replica, proxy: startProxy(t, primary.addr)}
	h.addr = h.proxy.addr
	return h
}

// failover reports false when a failover is already under way.
func (h *redisHA) failover() (bool, error) {
	h.mu.Lock()
	if h.failing {
		h.mu.Unlock()
		return false, nil
	}
	h.failing = true
	old, next := h.primary, h.replica
	h.primary, h.replica = next, old
	h.mu.Unlock()
	old.kill()
	c := redis.NewClient(&redis.Options{Addr: next.addr})
	defer c.Close()
	err := c.Do(context.Background(), "REPLICAOF", "NO", "ONE").Err()
	h.proxy.retarget(next.addr)
	return true, err
}

// rejoin starts the old primary again, as the new primary's replica, and
// waits until it is in sync: only then may it be promoted (Sentinel does
// not promote a replica whose link is down).
func (h *redisHA) rejoin() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.failing {
		return nil
	}
	h.replica.replicaOf = h.primary.addr
	if err := h.replica.start(); err != nil {
		return err
	}
	if err := waitSynced(h.replica.addr); err != nil {
		return err
	}
	h.failing = false
	return nil
}

// waitSynced waits until the replica at addr has its link to the primary up.
func waitSynced(addr string) error {
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); ; {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Redis replica %s is not in sync within 10s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond) // Redis offers no signal for a finished sync but INFO
	}
}

// tcpProxy forwards connections to a target it can move; moving it cuts
// every open connection, as a failover does.
type tcpProxy struct {
	addr string
	ln   net.Listener

	mu     sync.Mutex
	target string
	conns  map[net.Conn]bool
}

func startProxy(t testing.TB, target string) *tcpProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{addr: ln.Addr().String(), ln: ln, target: target, conns: map[net.Conn]bool{}}
	go p.accept()
	t.Cleanup(func() { ln.Close(); p.retarget("") })
	return p
}

func (p *tcpProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err == nil {
			go p.serve(c)
		}
	}
}

func (p *tcpProxy) serve(c net.Conn) {
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	u, err := net.DialTimeout("tcp", target, time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.track(c, u, true)
	defer p.track(c, u, false)
	go func() { _, _ = io.Copy(u, c); u.Close() }()
	_, _ = io.Copy(c, u)
	c.Close()
}

func (p *tcpProxy) track(c, u net.Conn, open bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if open {
		p.conns[c], p.conns[u] = true, true
	} else {
		delete(p.conns, c)
		delete(p.conns, u)
	}
}

// retarget sends new connections to addr and cuts the open ones.
func (p *tcpProxy) retarget(addr string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = addr
	for c := range p.conns {
		c.Close()
	}
}
