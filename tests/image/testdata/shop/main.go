// Command shop is the application container of tests/image's pod: it pays
// through the qfsign sidecar on 127.0.0.1:8080, pays the order on the
// embedded double's checkout page, and waits for the verified notification
// the sidecar forwards to 127.0.0.1:9000 (QFPAY_NOTIFY_LISTEN). It prints
// "SHOP OK ..." when all of it happened, "SHOP FAIL ..." otherwise, then
// keeps running (the pod's restartPolicy is Always).
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

type notification struct {
	verified string
	body     string
}

func main() {
	notified := make(chan notification, 4)
	go serve(os.Getenv("QFPAY_NOTIFY_LISTEN"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		notified <- notification{verified: r.Header.Get("X-Qfsign-Verified"), body: string(b)}
		_, _ = io.WriteString(w, "SUCCESS")
	}))
	// The Deployment's readinessProbe: tcpSocket on the shop's port.
	go serve("127.0.0.1:8000", http.NotFoundHandler())
	if err := shop(os.Getenv("QFSIGN_URL"), notified); err != nil {
		fmt.Println("SHOP FAIL", err)
	}
	select {}
}

func serve(addr string, h http.Handler) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("SHOP FAIL listen", addr, err)
		return
	}
	_ = http.Serve(ln, h)
}

func shop(gateway string, notified <-chan notification) error {
	order := "POD-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	form := url.Values{"txamt": {"1500"}, "txcurrcd": {"HKD"}, "pay_type": {"801101"}, "out_trade_no": {order},
		"notify_url": {"http://127.0.0.1:8081/qfpay/notify"}}
	var answer struct {
		Respcd string `json:"respcd"`
		PayURL string `json:"pay_url"`
	}
	// The sidecar may still be loading (both containers start together
	// under podman): retry until it answers.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.PostForm(gateway+"/trade/v1/payment", form)
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&answer)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("payment: %v (status %v)", err, resp)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if answer.Respcd != "0000" || answer.PayURL == "" {
		return fmt.Errorf("payment answered respcd %q pay_url %q", answer.Respcd, answer.PayURL)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.PostForm(answer.PayURL, url.Values{"action": {"pay"}})
	if err != nil {
		return fmt.Errorf("checkout: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("checkout: status %d", resp.StatusCode)
	}
	select {
	case n := <-notified:
		if n.verified != "1" {
			return fmt.Errorf("notification without X-Qfsign-Verified: %q", n.body)
		}
		fmt.Printf("SHOP OK paid %s through 127.0.0.1:8080, notification verified: %s\n", order, n.body)
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("no notification within 30s for %s", order)
	}
}
