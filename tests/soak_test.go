//go:build soak

package tests

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qfsign/qfsign/internal/testvault"
	"github.com/qfsign/qfsign/qfpaytest"
)

// TestSoak: 20,000 mixed requests at concurrency 32 through the built
// binary: every request answered once and logged once, QFPay's counts as
// the mix implies, no goroutine growth, RSS flat. Run with
// `go test -tags soak -run TestSoak -count=1 -v ./tests` (CI does).
func TestSoak(t *testing.T) {
	const total, conc = 20000, 32
	double := qfpaytest.New(qfpaytest.Merchant{AppCode: qfpaytest.DemoAppCode, ClientKey: qfpaytest.DemoClientKey})
	srv := httptest.NewServer(double)
	t.Cleanup(func() { srv.Close(); double.Close() })
	run := testvault.RandomID(4)
	otn := func(i int) string { return "S-" + run + "-" + strconv.Itoa(i) }
	for i := 8; i < total; i += 10 {
		double.Script(qfpaytest.Outcome{OutTradeNo: otn(i), Respcd: "1143", FinalRespcd: "0000"})
	}
	listen := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	admin := freePort(t)
	cfg := fmt.Sprintf(`{
	admin localhost:%d
	log {
		output stderr
		format json
	}
	qfpay {
		environment %s
		merchant default {
			app_code {env.QFPAY_APP_CODE}
			client_key {env.QFPAY_CLIENT_KEY}
		}
	}
}
http://%s {
	bind 127.0.0.1
	route /trade/v1/* {
		qfpay_gateway default
	}
}
`, admin, srv.URL, listen)
	out := keepOutput(new(syncBuffer))
	cmd := startBinaryConfigOutput(t, cfg, listen, out,
		"QFPAY_APP_CODE="+qfpaytest.DemoAppCode, "QFPAY_CLIENT_KEY="+qfpaytest.DemoClientKey)
	base := "http://" + listen

	var answered, failed atomic.Int64
	statuses := sync.Map{}
	send := func(i int) {
		path, form := "/trade/v1/payment", payForm(otn(i), 1500)
		switch i % 10 {
		case 6:
			form = "txamt=abc&txcurrcd=HKD&pay_type=801101&out_trade_no=" + otn(i)
		case 7:
			form = payForm(otn(i-7), 1500) // a double submit of an earlier payment
		case 9:
			path, form = "/trade/v1/query", "out_trade_no="+otn(i-9)
		}
		resp, err := http.Post(base+path, formType, strings.NewReader(form))
		if err != nil {
			failed.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered.Add(1)
		c, _ := statuses.LoadOrStore(resp.StatusCode, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
	}
	var rssMid, gorMid int
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for i := range jobs {
				send(i)
			}
		})
	}
	start := time.Now()
	for i := range total {
		if i == total/4 {
			rssMid, gorMid = rssKiB(t, cmd.Process.Pid), goroutines(t, admin)
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	elapsed := time.Since(start)
	time.Sleep(200 * time.Millisecond) // idle connections settle before counting goroutines
	rssEnd, gorEnd := rssKiB(t, cmd.Process.Pid), goroutines(t, admin)

	codes := map[int]int64{}
	statuses.Range(func(k, v any) bool { codes[k.(int)] = v.(*atomic.Int64).Load(); return true })
	lines := logLineCount(waitLogCount(t, out, total))
	t.Logf("%d requests in %s (%.0f/s): answered %d, transport errors %d, statuses %v", total, elapsed.Round(time.Millisecond),
		float64(total)/elapsed.Seconds(), answered.Load(), failed.Load(), codes)
	t.Logf("QFPay saw %d payments and %d queries; log lines %d; RSS %d -> %d KiB; goroutines %d -> %d",
		double.CountPath("/trade/v1/payment"), double.CountPath("/trade/v1/query"), lines, rssMid, rssEnd, gorMid, gorEnd)

	if answered.Load() != total || failed.Load() != 0 {
		t.Fatalf("answered %d of %d", answered.Load(), total)
	}
	// A double submit while its first request is in flight gets 409
	// in_progress; otherwise the replay (200).
	if codes[400] != total/10 || codes[200]+codes[409] != total-total/10 || codes[409] > total/10 {
		t.Fatalf("statuses %v: want %d refusals, the rest 200 or (double submits only) 409", codes, total/10)
	}
	// 6 new + 1 pending payment per 10; the double submits never reach QFPay.
	if p := double.CountPath("/trade/v1/payment"); p != total*7/10 {
		t.Fatalf("QFPay saw %d payments, want %d", p, total*7/10)
	}
	if q := double.CountPath("/trade/v1/query"); q != total/10 {
		t.Fatalf("QFPay saw %d queries, want %d", q, total/10)
	}
	if lines != total {
		t.Fatalf("%d transaction/refused log lines for %d requests", lines, total)
	}
	if gorEnd > gorMid+20 {
		t.Fatalf("goroutines grew from %d to %d", gorMid, gorEnd)
	}
	// The memory store holds ~16,000 orders by the end (QFPay's answer
	// each): some growth is the records themselves, not a leak.
	if rssEnd > rssMid*3/2 || rssEnd > 128<<10 {
		t.Fatalf("RSS grew from %d to %d KiB", rssMid, rssEnd)
	}
}

func rssKiB(t *testing.T, pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// goroutines reads the total from Caddy's admin pprof endpoint.
func goroutines(t *testing.T, admin int) int {
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/debug/pprof/goroutine?debug=1", admin))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "goroutine profile: total")))
	if err != nil {
		t.Fatalf("goroutine profile: %q", line)
	}
	return n
}

func logLineCount(s string) int {
	return strings.Count(s, `"msg":"transaction"`) + strings.Count(s, `"msg":"refused"`)
}

// waitLogCount waits until want transaction lines were written (the log
// line follows the response).
func waitLogCount(t *testing.T, b *syncBuffer, want int) string {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := b.String()
		if logLineCount(s) >= want || time.Now().After(deadline) {
			return s
		}
		time.Sleep(50 * time.Millisecond)
	}
}
