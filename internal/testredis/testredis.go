// Package testredis gives tests a real Redis server: a redis-server
// started for the test on a free loopback port, or one already running at
// QFSIGN_REDIS_ADDR when that is set. No Redis is a failure, never a skip.
package testredis

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns host:port of a running Redis server.
func Addr(t testing.TB) string {
	t.Helper()
	if addr := os.Getenv("QFSIGN_REDIS_ADDR"); addr != "" {
		return addr
	}
	return Start(t).Addr
}

// Server is a redis-server of the test's own, which the test may stop
// and start again on the same port (fault injection).
type Server struct {
	Addr string
	t    testing.TB
	bin  string
	port int
	args []string       // what --port/--bind and the defaults leave out
	dir  string         // working directory
	ping *redis.Options // how to reach it for the readiness check
	cmd  *exec.Cmd
}

// Start runs a private redis-server on a free loopback port until the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	return startOn(t, FreePort(t), nil, nil)
}

func redisServer(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatal("redis-server not found: apt-get install redis-server, or set QFSIGN_REDIS_ADDR")
	}
	return bin
}

// Stop kills the server; it is a no-op when it is not running.
func (s *Server) Stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		s.cmd = nil
	}
}

// Restart starts the server (again) and waits until it answers.
func (s *Server) Restart() {
	s.t.Helper()
	args := append([]string{"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, s.args...)
	s.cmd = exec.Command(s.bin, args...)
	s.cmd.Dir = s.dir // its own: redis-server loads a dump.rdb it finds there
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	o := *s.ping
	o.Addr = s.Addr
	c := redis.NewClient(&o)
	defer c.Close()
	deadline := time.Now().Add(10 * time.Second)
	for c.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			s.t.Fatal("redis-server did not answer within 10s")
		}
		time.Sleep(20 * time.Millisecond) // no readiness signal from a child process but its port
	}
}

// FreePort asks the kernel for a loopback port nobody uses right now.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
