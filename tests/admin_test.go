package tests

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The attack from issue 13: any local process PUTs a route whose body is
// {env.QFPAY_CLIENT_KEY} through Caddy's admin API and reads the key. On
// Caddyfile.example's defaults there is no admin API to PUT to: the
// process listens on the gateway's port and the embedded double's, no
// other TCP port and no unix socket. The control run opts in to a TCP
// admin address and shows the same attack does get the key.
func TestAdminTrickGetsNoKey(t *testing.T) {
	const key = "ADMIN-TRICK-KEY-7c4e"
	env := []string{"QFPAY_APP_CODE=APP-ADMIN", "QFPAY_CLIENT_KEY=" + key}
	t.Run("defaults", func(t *testing.T) {
		listen, _, proc := startConfigProcess(t, "Caddyfile.example", env...)
		port, _ := strconv.Atoi(listen[strings.LastIndexByte(listen, ':')+1:])
		ports := listeningTCP(t, proc.Pid)
		if len(ports) != 2 || !slices.Contains(ports, port) || slices.Contains(ports, 2019) {
			t.Fatalf("listening on %v; want the gateway's %d and the embedded double's only", ports, port)
		}
		if socks := listeningUnix(t, proc.Pid); len(socks) != 0 {
			t.Fatalf("listening on unix sockets %v", socks)
		}
		for _, p := range ports {
			got := adminTrick(t, p)
			t.Logf("port %d: %.120s", p, got)
			if strings.Contains(got, key) {
				t.Fatalf("port %d served the key through a loaded config", p)
			}
		}
	})
	t.Run("control: TCP admin opted in", func(t *testing.T) {
		admin := freePort(t)
		startConfigProcess(t, "Caddyfile.example", append(env, fmt.Sprintf("QFSIGN_ADMIN=localhost:%d", admin))...)
		if got := adminTrick(t, admin); !strings.Contains(got, key) {
			t.Fatalf("the trick did not work with a TCP admin API either (%q): the test proves nothing", got)
		}
	})
}

// adminTrick loads, through an admin API on port, a server answering the
// client key, then asks it. It returns what came back, or why nothing did.
func adminTrick(t *testing.T, port int) string {
	t.Helper()
	leak := freePort(t)
	cfg := fmt.Sprintf(`{"listen":["127.0.0.1:%d"],"routes":[{"handle":[{"handler":"static_response","body":"{env.QFPAY_CLIENT_KEY}"}]}]}`, leak)
	client := &http.Client{Timeout: 5 * time.Second}
	req, _ := http.NewRequest(http.MethodPut, fmt.Sprintf("http://localhost:%d/config/apps/http/servers/leak", port), strings.NewReader(cfg))
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return "admin: " + err.Error()
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	resp, err = client.Get(fmt.Sprintf("http://127.0.0.1:%d/", leak))
	if err != nil {
		return "leak: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// socketInodes are the inodes of pid's open sockets.
func socketInodes(t *testing.T, pid int) map[string]bool {
	t.Helper()
	fds, err := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
	if err != nil || len(fds) == 0 {
		t.Fatalf("reading /proc/%d/fd: %v", pid, err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	return inodes
}

// listeningTCP lists the TCP ports pid listens on (IPv4 and IPv6).
func listeningTCP(t *testing.T, pid int) []int {
	t.Helper()
	inodes := socketInodes(t, pid)
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] { // 0A: LISTEN
				continue
			}
			local := f[1]
			p, err := strconv.ParseInt(local[strings.LastIndexByte(local, ':')+1:], 16, 32)
			if err == nil && !slices.Contains(ports, int(p)) {
				ports = append(ports, int(p))
			}
		}
	}
	return ports
}

// listeningUnix lists the unix sockets pid listens on.
func listeningUnix(t *testing.T, pid int) []string {
	t.Helper()
	inodes := socketInodes(t, pid)
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/unix", pid))
	if err != nil {
		t.Fatal(err)
	}
	var socks []string
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 7 && f[3] == "00010000" && inodes[f[6]] { // __SO_ACCEPTCON
			socks = append(socks, strings.Join(f[7:], " "))
		}
	}
	return socks
}
