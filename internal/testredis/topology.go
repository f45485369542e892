package testredis

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TLSServer is a redis-server as a managed service runs it: TLS only,
// with a CA of the test's own, the default user off and one ACL user.
type TLSServer struct {
	*Server
	CAFile   string // PEM of the CA that signed the server's certificate
	User     string
	Password string
}

// StartTLS runs a TLS-only redis-server on a free loopback port.
func StartTLS(t testing.TB) *TLSServer {
	t.Helper()
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := certificates(t)
	files := map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := &TLSServer{CAFile: filepath.Join(dir, "ca.pem"), User: "qfsign", Password: "test-only-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	port := FreePort(t)
	args := []string{"--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem"),
		"--tls-ca-cert-file", s.CAFile, "--tls-auth-clients", "no",
		"--user", "default", "off", "--user", s.User, "on", ">" + s.Password, "~*", "&*", "+@all"}
	ping := &redis.Options{Username: s.User, Password: s.Password,
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}}
	s.Server = startOn(t, port, args, ping)
	return s
}

// certificates makes a CA and a server certificate for 127.0.0.1.
func certificates(t testing.TB) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "qfsign test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}

// StartCluster runs a cluster of n masters (no replicas) and returns
// their addresses once every node reports cluster_state:ok.
func StartCluster(t testing.TB, n int) []string {
	t.Helper()
	dir := t.TempDir()
	var addrs []string
	for range n {
		port := FreePort(t)
		s := startOn(t, port, []string{"--cluster-enabled", "yes", "--cluster-node-timeout", "2000",
			"--cluster-config-file", filepath.Join(dir, fmt.Sprintf("nodes-%d.conf", port))}, nil)
		addrs = append(addrs, s.Addr)
	}
	args := append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		waitFor(t, a, func(c *redis.Client) bool {
			info, err := c.ClusterInfo(context.Background()).Result()
			return err == nil && strings.Contains(info, "cluster_state:ok")
		})
	}
	return addrs
}

// Sentinel is a master and its replica, watched by one sentinel.
type Sentinel struct {
	Master    *Server
	Replica   *Server
	Addr      string // the sentinel's
	MasterSet string // the name clients ask the sentinel for
}

// StartSentinel runs a master, a replica, and a sentinel that monitors
// them and knows the replica (so that it can fail over).
func StartSentinel(t testing.TB) *Sentinel {
	t.Helper()
	m := Start(t)
	r := startOn(t, FreePort(t), []string{"--replicaof", "127.0.0.1", strconv.Itoa(m.port)}, nil)
	port := FreePort(t)
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	text := fmt.Sprintf("port %d\nbind 127.0.0.1\nsentinel monitor qfsign %s %d 1\nsentinel down-after-milliseconds qfsign 1000\n",
		port, "127.0.0.1", m.port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Sentinel{Master: m, Replica: r, Addr: fmt.Sprintf("127.0.0.1:%d", port), MasterSet: "qfsign"}
	cmd := exec.Command(redisServer(t), conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	waitFor(t, s.Addr, func(c *redis.Client) bool {
		addr, err := c.Do(context.Background(), "SENTINEL", "get-master-addr-by-name", s.MasterSet).StringSlice()
		return err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(m.port)
	})
	// The sentinel learns of replicas from the master's INFO, every 10s.
	waitFor(t, s.Addr, func(c *redis.Client) bool {
		reps, err := c.Do(context.Background(), "SENTINEL", "replicas", s.MasterSet).Slice()
		return err == nil && len(reps) == 1 && strings.Contains(fmt.Sprint(reps[0]), "slave")
	})
	return s
}

// Failover asks the sentinel to promote the replica; it returns at once.
func (s *Sentinel) Failover(t testing.TB) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	if err := c.Do(context.Background(), "SENTINEL", "FAILOVER", s.MasterSet).Err(); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
}

// FailedOver reports whether the sentinel names the replica as master.
func (s *Sentinel) FailedOver() bool {
	c := redis.NewClient(&redis.Options{Addr: s.Addr})
	defer c.Close()
	addr, err := c.Do(context.Background(), "SENTINEL", "get-master-addr-by-name", s.MasterSet).StringSlice()
	return err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(s.Replica.port)
}

// startOn is start on a given port (TLS and cluster name it in args).
func startOn(t testing.TB, port int, args []string, ping *redis.Options) *Server {
	t.Helper()
	s := &Server{t: t, bin: redisServer(t), port: port, args: args, ping: ping, dir: t.TempDir()}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	if s.ping == nil {
		s.ping = &redis.Options{Addr: s.Addr}
	}
	s.Restart()
	t.Cleanup(s.Stop)
	return s
}

// waitFor polls addr until ok: a child process gives no other signal.
func waitFor(t testing.TB, addr string, ok func(*redis.Client) bool) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for !ok(c) {
		if time.Now().After(deadline) {
			t.Fatalf("redis at %s not ready within 15s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
