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
	"time"

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

// TestGatewayOverManagedRedis: the Caddyfile options reach each Redis
// topology: a payment is sent once and its retry replayed.
func TestGatewayOverManagedRedis(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) string
	}{
		{"rediss with CA and ACL user", func(t *testing.T) string {
			s := testredis.StartTLS(t)
			os.Setenv("QFSIGN_TEST_REDIS_PASSWORD", s.Password)
			t.Cleanup(func() { os.Unsetenv("QFSIGN_TEST_REDIS_PASSWORD") })
			return fmt.Sprintf("store rediss://%s {\n\t\t\ttls_ca %s\n\t\t\tusername %s\n\t\t\tpassword {env.QFSIGN_TEST_REDIS_PASSWORD}\n\t\t}", s.Addr, s.CAFile, s.User)
		}},
		{"cluster", func(t *testing.T) string {
			return "store redis " + strings.Join(testredis.StartCluster(t, 3), " ")
		}},
		{"sentinel", func(t *testing.T) string {
			s := testredis.StartSentinel(t)
			return fmt.Sprintf("store redis %s {\n\t\t\tmaster_name %s\n\t\t}", s.Addr, s.MasterSet)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newGuardSetup(t, tt.store(t), "", "")
			form := payForm(s.otn("managed"), 1500)
			first, again := s.pay(t, form), s.pay(t, form)
			if first.status != 200 || first.field("respcd") != "0000" || again.replayed != "true" || again.body != first.body {
				t.Fatalf("first %+v\nagain %+v", first, again)
			}
			if p := s.double.CountPath("/trade/v1/payment"); p != 1 {
				t.Fatalf("QFPay saw %d payments, want 1", p)
			}
		})
	}
}

// TestRedisFailoverNoDoublePayment: payments run while Sentinel promotes
// the replica, with min_replicas 1. A refusal (503 store) is retried
// with the same out_trade_no, as a client would; afterwards every
// out_trade_no is sent once more. QFPay sees each payment once.
func TestRedisFailoverNoDoublePayment(t *testing.T) {
	sen := testredis.StartSentinel(t)
	s := newGuardSetup(t, fmt.Sprintf("store redis %s {\n\t\t\tmaster_name %s\n\t\t\tmin_replicas 1\n\t\t\ttimeout 500ms\n\t\t}",
		sen.Addr, sen.MasterSet), "", "")
	var otns []string
	answered, refused, after := 0, 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for i := 0; after < 20; i++ {
		if i == 20 {
			sen.Failover(t)
		}
		if i > 20 && sen.FailedOver() {
			after++
		}
		otn := s.otn(fmt.Sprint("fo-", i))
		otns = append(otns, otn)
		for {
			if time.Now().After(deadline) {
				t.Fatalf("no failover within 60s: %d answered, %d refused", answered, refused)
			}
			r := s.pay(t, payForm(otn, 1500))
			if r.status == http.StatusServiceUnavailable && r.field("rule") == "store" {
				refused++ // nothing was sent: the same order again
				time.Sleep(20 * time.Millisecond)
				continue
			}
			if r.status == http.StatusOK && r.field("respcd") == "0000" {
				answered++
			} else if r.status != http.StatusConflict || r.field("rule") != "in_progress" {
				t.Fatalf("%s: %+v", otn, r)
			}
			break
		}
	}
	for _, otn := range otns {
		if r := s.pay(t, payForm(otn, 1500)); r.replayed != "true" && r.field("rule") != "in_progress" {
			t.Fatalf("%s sent again after the failover: %+v", otn, r)
		}
	}
	if p := s.double.CountPath("/trade/v1/payment"); p != answered {
		t.Fatalf("QFPay saw %d payments, %d were answered", p, answered)
	}
	t.Logf("failover: %d orders, %d answered once each, %d refusals (503 store) retried", len(otns), answered, refused)
}
