//go:build campaign

package campaign

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testio"
	"github.com/qfsign/qfsign/internal/testredis"
	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

const (
	appCode         = "APPCODE-CAMPAIGN-01"
	secretPath      = "qfpay/shop"
	responseTimeout = 1500 * time.Millisecond
	resolvePending  = 2 * time.Second
	// answerBound is the longest a caller may wait: QFPay's answer, then
	// querying for a pending outcome, plus time for the store and Vault.
	answerBound = responseTimeout + resolvePending + 4*time.Second
)

// cluster is one schedule's world: the QFPay double behind its front,
// the application, Vault, maybe Redis, and the gateway replicas.
type cluster struct {
	t      testing.TB
	topo   topology
	dir    string
	qf     *qfpayFront
	notify *notifyFront
	app    *application
	vault  *testvault.Env
	redis  *redisServer
	ha     *redisHA

	mu       sync.Mutex
	keys     []string // every client_key QFPay has issued, oldest first
	gateways []*gatewayProc
}

// gatewayProc is one replica: a config, a port kept across restarts, and
// its output across every incarnation.
type gatewayProc struct {
	idx    int
	listen string
	config string
	env    []string
	out    *syncBuffer
	cmd    *exec.Cmd
	exited chan struct{}
	epoch  int // incremented at every kill
	up     bool
}

func startCluster(t testing.TB, bin string, topo topology) *cluster {
	t.Helper()
	c := &cluster{t: t, topo: topo, dir: t.TempDir()}
	c.keys = []string{newKey()}
	c.qf = newQFPayFront(t, qfpaytest.Merchant{AppCode: appCode, ClientKey: c.keys[0]})
	c.app = newApplication(t)
	c.vault = testvault.Start(t)
	c.vault.Put(t, secretPath, map[string]any{"app_code": appCode, "client_key": c.keys[0]})
	if topo.Redis {
		c.redis = startRedis(t, filepath.Join(c.dir, "redis"), "")
	}
	if topo.Failover {
		c.ha = startRedisHA(t, filepath.Join(c.dir, "redis-ha"))
	}
	for i := range topo.Replicas {
		g := &gatewayProc{idx: i, listen: fmt.Sprintf("127.0.0.1:%d", testredis.FreePort(t)), out: new(syncBuffer)}
		data := filepath.Join(c.dir, fmt.Sprintf("gw%d", i))
		g.env = append(cleanEnv(), "XDG_DATA_HOME="+data, "XDG_CONFIG_HOME="+data,
			"QFSIGN_CAMPAIGN_VAULT_TOKEN="+c.vault.Admin.Token())
		g.config = filepath.Join(c.dir, fmt.Sprintf("Caddyfile%d", i))
		if err := os.WriteFile(g.config, []byte(c.caddyfile(g.listen)), 0o600); err != nil {
			t.Fatal(err)
		}
		c.gateways = append(c.gateways, g)
		if err := c.start(g); err != nil {
			t.Fatal(err)
		}
	}
	c.notify = newNotifyFront(t, c)
	c.qf.double.SetNotifyURL(c.notify.url + "/qfpay/notify")
	c.qf.double.SetRetryScale(0.0005) // QFPay's 2m, 10m, ... become 60ms, 300ms, ...
	t.Cleanup(c.stop)
	return c
}

func newKey() string { return "CAMPAIGNKEY-" + testvault.RandomID(10) }

func (c *cluster) caddyfile(listen string) string {
	return fmt.Sprintf(`{
	admin off
	log {
		output stderr
		format json
		level DEBUG
	}
	qfpay {
		environment %s
		%s
		vault {
			address %s
			auth token {env.QFSIGN_CAMPAIGN_VAULT_TOKEN}
			refresh 1m
			max_stale 1m
			retry 100ms 400ms
			timeout 2s
		}
		merchant shop {
			vault %s/%s
		}
	}
}
http://%s {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway shop {
			resolve_pending %s 100ms
			response_header_timeout %s
			dial_timeout 1s
		}
	}
	route /qfpay/notify {
		qfpay_notify shop
		reverse_proxy %s
	}
}
`, c.qf.url, c.topo.Store(c), c.vault.Addr, c.vault.Mount, secretPath, listen,
		resolvePending, responseTimeout, strings.TrimPrefix(c.app.url, "http://"))
}

// start runs g's binary and waits until it listens.
func (c *cluster) start(g *gatewayProc) error {
	cmd := exec.Command(binPath, "run", "--config", g.config, "--adapter", "caddyfile")
	cmd.Env = g.env
	cmd.Stdout, cmd.Stderr = g.out, g.out
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", g.listen, 100*time.Millisecond); err == nil {
			conn.Close()
			break
		}
		select {
		case <-exited:
			return fmt.Errorf("gateway %d exited before listening:\n%s", g.idx, tail(g.out.String(), 3000))
		case <-time.After(20 * time.Millisecond): // a child process signals readiness only by listening
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			return fmt.Errorf("gateway %d not listening after 20s", g.idx)
		}
	}
	c.mu.Lock()
	g.cmd, g.exited, g.up = cmd, exited, true
	c.mu.Unlock()
	return nil
}

// kill sends SIGKILL to replica i and waits for it to die.
func (c *cluster) kill(i int) bool {
	c.mu.Lock()
	g := c.gateways[i]
	if !g.up {
		c.mu.Unlock()
		return false
	}
	g.up = false
	g.epoch++
	cmd, exited := g.cmd, g.exited
	c.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	return true
}

// replica picks a live replica by n, and its epoch; ok false if none is up.
func (c *cluster) replica(n int) (g *gatewayProc, epoch int, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range len(c.gateways) {
		if g := c.gateways[(n+k)%len(c.gateways)]; g.up {
			return g, g.epoch, true
		}
	}
	return c.gateways[n%len(c.gateways)], c.gateways[n%len(c.gateways)].epoch, false
}

func (c *cluster) epoch(g *gatewayProc) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return g.epoch
}

// restart starts replica i again if it is down.
func (c *cluster) restart(i int) error {
	g := c.gateways[i]
	c.mu.Lock()
	down := !g.up
	c.mu.Unlock()
	if !down {
		return nil
	}
	return c.start(g)
}

// heal brings every replica, Redis and Vault back, and the application
// to answering SUCCESS.
func (c *cluster) heal() error {
	var errs []error
	for i := range c.gateways {
		errs = append(errs, c.restart(i))
	}
	if c.redis != nil && c.redis.down() {
		errs = append(errs, c.redis.start())
	}
	if c.ha != nil {
		errs = append(errs, c.ha.rejoin())
	}
	c.vault.SetDown(false)
	c.app.setMode(appSuccess)
	return errors.Join(errs...)
}

// rotate issues a new key: Vault first, as an operator would, then QFPay.
func (c *cluster) rotate() {
	k := newKey()
	c.mu.Lock()
	c.keys = append(c.keys, k)
	c.mu.Unlock()
	c.vault.Put(c.t, secretPath, map[string]any{"app_code": appCode, "client_key": k})
	c.qf.double.AddMerchant(qfpaytest.Merchant{AppCode: appCode, ClientKey: k})
}

func (c *cluster) allKeys() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.keys...)
}

// outputs is every replica's output over all its incarnations, and every
// file the world wrote (Caddy's data and config directories, Redis's
// append-only files), by name.
func (c *cluster) outputs() (map[string]string, error) {
	out := map[string]string{}
	for _, g := range c.gateways {
		out[fmt.Sprintf("gateway %d output", g.idx)] = g.out.String()
	}
	err := filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		out[path] = string(b)
		return err
	})
	return out, err
}

func (c *cluster) stop() {
	c.qf.double.Close()
	for i := range c.gateways {
		c.kill(i)
	}
	c.app.release()
}

// cleanEnv is this process's environment without QFPAY_/QFSIGN_/VAULT_
// variables or XDG directories, as on a fresh machine.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QFPAY_") && !strings.HasPrefix(kv, "QFSIGN_") &&
			!strings.HasPrefix(kv, "VAULT_") && !strings.HasPrefix(kv, "XDG_") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer = testio.SyncBuffer

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// probeStore reports whether the binary validates a config whose store
// line is line: how the campaign learns which topologies exist.
func probeStore(t testing.TB, line string) bool {
	dir := t.TempDir()
	cfg := fmt.Sprintf("{\n\tadmin off\n\tqfpay {\n\t\tenvironment http://127.0.0.1:1\n\t\t%s\n\t\tmerchant m {\n\t\t\tapp_code a\n\t\t\tclient_key {env.QFSIGN_PROBE_KEY}\n\t\t}\n\t}\n}\n", line)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, "validate", "--config", path, "--adapter", "caddyfile")
	cmd.Env = append(cleanEnv(), "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "QFSIGN_PROBE_KEY=k")
	return cmd.Run() == nil
}
