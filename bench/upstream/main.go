// Command upstream is the benchmark's fixed-answer QFPay stand-in: every
// request gets the same ~450-byte payment answer, so A (plain Caddy) and
// B (qfsign) are measured against identical upstream work.
package main

import (
	"flag"
	"io"
	"log"
	"net/http"
	"strconv"
)

const answer = `{"respcd":"0000","respmsg":"","resperr":"success","syssn":"20261127000300020087033882","out_trade_no":"BENCH","pay_type":"801101","txamt":"1500","txcurrcd":"HKD","txdtm":"2026-11-27 10:00:00","sysdtm":"2026-11-27 10:00:00","udid":"","cardcd":"","chnlsn":"","pay_url":"https://openapi-int.qfapi.com/checkstand/alipay?syssn=20261127000300020087033882&sign=0123456789abcdef0123456789abcdef"}`

func main() {
	addr := flag.String("listen", "127.0.0.1:18090", "address to serve on")
	flag.Parse()
	body := []byte(answer)
	clen := strconv.Itoa(len(body))
	log.Fatal(http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", clen)
		_, _ = w.Write(body)
	})))
}
