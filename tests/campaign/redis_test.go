//go:build campaign

package campaign

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/qfsign/qfsign/internal/testredis"
)

// redisServer is a private redis-server that survives kill -9 as a
// production Redis would (append-only file, fsync on every write), so a
// kill tests the gateway rather than Redis losing its data.
type redisServer struct {
	addr      string
	port      int
	dir       string
	replicaOf string // "host:port" to start as its replica, "" for a primary

	mu  sync.Mutex
	cmd *exec.Cmd
}

// quiet drops go-redis's own log lines (dial failures while Redis is
// starting are expected here).
type quiet struct{}

func (quiet) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quiet{}) }

func startRedis(t testing.TB, dir, replicaOf string) *redisServer {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: apt-get install redis-server")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{port: testredis.FreePort(t), dir: dir, replicaOf: replicaOf}
	r.addr = fmt.Sprintf("127.0.0.1:%d", r.port)
	if err := r.start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.kill() })
	return r
}

func (r *redisServer) start() error {
	args := []string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1",
		"--dir", r.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"}
	if host, port, err := net.SplitHostPort(r.replicaOf); err == nil {
		args = append(args, "--replicaof", host, port)
	}
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	c := redis.NewClient(&redis.Options{Addr: r.addr})
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			return fmt.Errorf("redis-server did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond) // a child process signals readiness only by answering
	}
	return nil
}

// kill sends SIGKILL; it reports false when Redis was not running.
func (r *redisServer) kill() bool {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return false
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
	return true
}

func (r *redisServer) down() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd == nil
}
