// Command load drives the benchmark: closed loop at a fixed concurrency
// (throughput) or open loop at a fixed rate (latency), posting the
// seed's payment form with a unique out_trade_no per request, so that
// qfsign's out_trade_no guard does real work (no replays).
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const form = "txamt=1500&txcurrcd=HKD&pay_type=801101&goods_name=%E6%B8%AC%E8%A9%A6+test&return_url=https%3A%2F%2Fshop.example%2Fdone&out_trade_no="

func main() {
	url := flag.String("url", "http://127.0.0.1:18080/trade/v1/payment", "target")
	conc := flag.Int("c", 16, "concurrent connections (closed loop)")
	rate := flag.Int("rate", 0, "requests per second (open loop); 0 = closed loop")
	dur := flag.Duration("d", 10*time.Second, "duration")
	prefix := flag.String("prefix", strconv.FormatInt(time.Now().UnixNano(), 36), "out_trade_no prefix")
	flag.Parse()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc + 64, MaxConnsPerHost: 0}}
	var seq atomic.Int64
	var errs atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	one := func() {
		n := seq.Add(1)
		start := time.Now()
		resp, err := client.Post(*url, "application/x-www-form-urlencoded", strings.NewReader(form+*prefix+"-"+strconv.FormatInt(n, 10)))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		d := time.Since(start)
		if err != nil {
			errs.Add(1)
		}
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
	}
	begin := time.Now()
	end := begin.Add(*dur)
	var wg sync.WaitGroup
	if *rate > 0 {
		interval := time.Second / time.Duration(*rate)
		for next := begin; next.Before(end); next = next.Add(interval) {
			time.Sleep(time.Until(next))
			wg.Go(one)
		}
	} else {
		for range *conc {
			wg.Go(func() {
				for time.Now().Before(end) {
					one()
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000
	}
	fmt.Printf("requests=%d errors=%d rps=%.0f p50_ms=%.3f p99_ms=%.3f\n",
		len(lat), errs.Load(), float64(len(lat))/elapsed.Seconds(), pct(0.50), pct(0.99))
}
