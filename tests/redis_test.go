package tests

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qfsign/qfsign/internal/testredis"
)

// replicaConfig is a Caddyfile for one sidecar replica sharing Redis.
func replicaConfig(admin int, listen, redisAddr, app string) string {
	return fmt.Sprintf(`{
	admin localhost:%d
	qfpay {
		environment embedded
		store redis %s {
			prefix qfsign-replicas:
		}
		merchant hk {
			app_code {env.QFSIGN_TEST_APPCODE}
			client_key {env.QFSIGN_TEST_NOTIFY_KEY}
			mchid ZaMVg12345
		}
	}
}
http://%s {
	bind 127.0.0.1
	route /qfpay/notify {
		qfpay_notify hk
		reverse_proxy %s
	}
}
`, admin, redisAddr, listen, app)
}

// TestNotificationDedupeAcrossReplicas: two gateways (caddytest and the
// built binary) share Redis; QFPay's retry to the other replica is
// acknowledged without reaching the application again.
func TestNotificationDedupeAcrossReplicas(t *testing.T) {
	v := loadNotifyVector(t)
	v.Body = strings.Replace(v.Body, "20200413000300020087033882", "20200413000300020087031111", 1)
	v.MD5 = md5Upper(v.Body + v.ClientKey)
	os.Setenv("QFSIGN_TEST_NOTIFY_KEY", v.ClientKey)
	t.Cleanup(func() { os.Unsetenv("QFSIGN_TEST_NOTIFY_KEY") })
	redisAddr := testredis.Addr(t)
	app := newApplication(t)
	appHost := strings.TrimPrefix(app.URL, "http://")

	// Replica A: in-process Caddy.
	gwA := startGatewayRaw(t, replicaConfig(adminPort, fmt.Sprintf("127.0.0.1:%d", freePort(t)), redisAddr, appHost))
	// Replica B: the built binary.
	listenB := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cfg := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(cfg, []byte(replicaConfig(freePort(t), listenB, redisAddr, appHost)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, qfsignBinary(t), "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Env = cleanEnv()
	cmd.Env = append(cmd.Env, "QFSIGN_TEST_APPCODE="+testAppCode, "QFSIGN_TEST_NOTIFY_KEY="+v.ClientKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { cancel(); <-exited })
	waitListening(t, listenB, exited)

	resp, body := gwA.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5)
	if resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("replica A: %d %s", resp.StatusCode, body)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+listenB+"/qfpay/notify", strings.NewReader(v.Body))
	req.Header.Set("X-QF-SIGN", v.MD5)
	resp, body = gwA.do(t, req)
	if resp.StatusCode != 200 || string(body) != "SUCCESS" {
		t.Fatalf("replica B: %d %s", resp.StatusCode, body)
	}
	if bodies, _ := app.received(); len(bodies) != 1 {
		t.Fatalf("application received %d deliveries across replicas, want 1", len(bodies))
	}
}

// TestRedisDownFailsClosed: with the store unreachable, a verified
// notification is refused (QFPay retries) and nothing reaches the app.
func TestRedisDownFailsClosed(t *testing.T) {
	v := loadNotifyVector(t)
	os.Setenv("QFSIGN_TEST_NOTIFY_KEY", v.ClientKey)
	t.Cleanup(func() { os.Unsetenv("QFSIGN_TEST_NOTIFY_KEY") })
	app := newApplication(t)
	dead := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	gw := startGatewayRaw(t, replicaConfig(adminPort, fmt.Sprintf("127.0.0.1:%d", freePort(t)), dead, strings.TrimPrefix(app.URL, "http://")))
	resp, body := gw.post(t, "/qfpay/notify", v.Body, "X-QF-SIGN", v.MD5)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"rule":"store"`) {
		t.Fatalf("got %d %s", resp.StatusCode, body)
	}
	if bodies, _ := app.received(); len(bodies) != 0 {
		t.Fatalf("application received %d", len(bodies))
	}
}
