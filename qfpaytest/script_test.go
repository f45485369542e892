package qfpaytest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestScriptPending(t *testing.T) {
	tests := []struct {
		name    string
		o       Outcome
		queries []string // the row's respcd at each query
	}{
		{"1143, success after 2 queries", Outcome{Respcd: "1143", FinalAfterQueries: 2, FinalRespcd: "0000"},
			[]string{"1143", "1143", "0000", "0000"}},
		{"1143, success at the first query", Outcome{Respcd: "1143", FinalRespcd: "0000"}, []string{"0000"}},
		{"1145 for good", Outcome{Respcd: "1145", FinalAfterQueries: 1}, []string{"1145", "1145", "1145"}},
		{"1298, then failed", Outcome{Respcd: "1298", FinalAfterQueries: 1, FinalRespcd: "1205"},
			[]string{"1298", "1205", "1205"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer()
			ts := live(t, s)
			s.Script(tc.o)
			resp := call(t, ts, pathPayment, payParams("S1", "800201"), merchant)
			if resp["respcd"] != tc.o.Respcd || resp["resperr"] != respText(tc.o.Respcd) || len(resp["syssn"].(string)) != 26 {
				t.Fatalf("answer %v, want pending %s with a syssn", resp, tc.o.Respcd)
			}
			for i, want := range tc.queries {
				if row := queryRow(t, ts, "out_trade_no", "S1"); row["respcd"] != want || row["errmsg"] != respText(want) {
					t.Fatalf("query %d: row %v, want respcd %s", i+1, row, want)
				}
			}
			if resp := call(t, ts, pathPayment, payParams("S1", "800201"), merchant); resp["respcd"] != "1102" {
				t.Fatalf("resend: %v, want 1102", resp)
			}
			if s.CountPath(pathPayment) != 2 || s.CountPath(pathQuery) != len(tc.queries) {
				t.Fatalf("counts: %d payments, %d queries", s.CountPath(pathPayment), s.CountPath(pathQuery))
			}
		})
	}
}

// TestScriptFinalNotifies: a pending payment is notified when, and only
// when, a query turns it successful.
func TestScriptFinalNotifies(t *testing.T) {
	rcv := newReceiver(t, answer{200, "SUCCESS"})
	s := notifyServer(t)
	s.SetNotifyURL(rcv.URL)
	ts := live(t, s)
	s.Script(Outcome{Respcd: "1143", FinalAfterQueries: 1, FinalRespcd: "0000"})
	sn, _ := call(t, ts, pathPayment, payParams("S1", "800201"), merchant)["syssn"].(string)
	steps := []struct {
		name       string
		respcd     string
		deliveries int
	}{
		{"still pending", "1143", 0},
		{"turns successful", "0000", 1},
		{"stays successful", "0000", 1},
	}
	for _, st := range steps {
		if row := queryRow(t, ts, "syssn", sn); row["respcd"] != st.respcd {
			t.Fatalf("%s: row %v", st.name, row)
		}
		if _, err := s.WaitDeliveries(waitCtx(t), st.deliveries); err != nil {
			t.Fatal(err)
		}
		waitIdle(t, s)
		ds := s.Deliveries()
		if len(ds) != st.deliveries {
			t.Fatalf("%s: %d deliveries, want %d", st.name, len(ds), st.deliveries)
		}
		if len(ds) > 0 && (ds[0].Syssn != sn || !strings.Contains(string(ds[0].Body), `"respcd": "0000"`)) {
			t.Fatalf("%s: delivery %+v", st.name, ds[0])
		}
	}
}

func TestScriptRefused(t *testing.T) {
	tests := []struct {
		name    string
		o       Outcome
		status  int
		respcd  string
		resperr string
	}{
		{"signature error", Outcome{Respcd: "1108"}, 200, "1108", "signature error"},
		{"duplicate", Outcome{Respcd: "1102"}, 200, "1102", "duplicate out_trade_no"},
		{"risk block", Outcome{Respcd: "1294"}, 200, "1294", "transaction failed"},
		{"rate limited", Outcome{HTTPStatus: 429}, 429, "1100", "Too Many Requests"},
		{"server error", Outcome{HTTPStatus: 500, Respcd: "1297"}, 500, "1297", "Internal Server Error"},
		{"rate limited, pending code ignored", Outcome{HTTPStatus: 429, Respcd: "1143"}, 429, "1143", "Too Many Requests"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer()
			ts := live(t, s)
			s.Script(tc.o)
			status, resp := do(t, ts, clientRequest(t, ts.URL, http.MethodPost, pathPayment, payParams("S1", "800201"), merchant))
			if status != tc.status || resp["respcd"] != tc.respcd || resp["resperr"] != tc.resperr {
				t.Fatalf("got %d %v %v, want %d %s %s", status, resp["respcd"], resp["resperr"], tc.status, tc.respcd, tc.resperr)
			}
			if row := queryRow(t, ts, "out_trade_no", "S1"); row != nil {
				t.Fatalf("refused payment recorded: %v", row)
			}
			// Nothing was recorded, so the same out_trade_no goes through.
			payLive(t, ts, payParams("S1", "800201"), merchant)
		})
	}
}

// TestScriptLostAnswer: QFPay records the payment, but the client never
// gets the answer; a query finds the payment and a resend is a duplicate.
func TestScriptLostAnswer(t *testing.T) {
	tests := []struct {
		name   string
		o      Outcome
		giveUp bool   // the client gives up once the payment is recorded
		row    string // the row's respcd at the first query
	}{
		{"hang until the client gives up", Outcome{Hang: true}, true, "0000"},
		{"pending hang", Outcome{Hang: true, Respcd: "1143", FinalAfterQueries: 1, FinalRespcd: "0000"}, true, "1143"},
		{"delay past the client's patience", Outcome{Delay: time.Hour}, true, "0000"},
		{"connection reset", Outcome{ResetConn: true}, false, "0000"},
		{"pending, then reset", Outcome{ResetConn: true, Respcd: "1145"}, false, "1145"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer()
			ts := live(t, s)
			s.Script(tc.o)
			ctx, giveUp := context.WithCancel(t.Context())
			defer giveUp()
			req := clientRequest(t, ts.URL, http.MethodPost, pathPayment, payParams("L1", "800201"), merchant)
			errc := sendAsync(ts.Client(), req.WithContext(ctx))
			waitRecorded(t, s, "L1")
			if tc.giveUp {
				giveUp()
			}
			err := <-errc
			if err == nil || tc.giveUp != errors.Is(err, context.Canceled) {
				t.Fatalf("client error %v, want one (cancelled: %v)", err, tc.giveUp)
			}
			if row := queryRow(t, ts, "out_trade_no", "L1"); row == nil || row["respcd"] != tc.row {
				t.Fatalf("row %v, want respcd %s", row, tc.row)
			}
			if resp := call(t, ts, pathPayment, payParams("L1", "800201"), merchant); resp["respcd"] != "1102" {
				t.Fatalf("resend: %v, want 1102", resp)
			}
		})
	}
}

// sendAsync sends req and reports the transport error, nil for an answer.
func sendAsync(c *http.Client, req *http.Request) <-chan error {
	errc := make(chan error, 1)
	go func() {
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	return errc
}

// TestScriptHangEndsOnClose: closing the server drops a hanging request
// instead of waiting for it.
func TestScriptHangEndsOnClose(t *testing.T) {
	r, err := Start("127.0.0.1:0", merchant)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	r.Script(Outcome{Hang: true})
	req := clientRequest(t, r.URL, http.MethodPost, pathPayment, payParams("H1", "800201"), merchant)
	errc := sendAsync(http.DefaultClient, req)
	waitRecorded(t, r.Server, "H1")
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-errc; err == nil {
		t.Fatal("hanging request got an answer")
	}
}

func TestScriptDelay(t *testing.T) {
	const delay = 20 * time.Millisecond
	s := newTestServer()
	ts := live(t, s)
	s.Script(Outcome{Delay: delay})
	start := time.Now()
	resp := call(t, ts, pathPayment, payParams("D1", "800201"), merchant)
	if elapsed := time.Since(start); resp["respcd"] != "0000" || elapsed < delay {
		t.Fatalf("answer %v after %v, want 0000 after %v", resp["respcd"], elapsed, delay)
	}
}

func TestScriptTargeting(t *testing.T) {
	s := newTestServer()
	ts := live(t, s)
	s.Script(Outcome{OutTradeNo: "B", Respcd: "1145"}, Outcome{Respcd: "1143"})
	steps := []struct {
		name   string
		out    string
		drop   string // field left out, making the payment malformed
		respcd string
	}{
		{"malformed payment takes no outcome", "A", "txamt", "1101"},
		{"untargeted outcome, past one aimed elsewhere", "A", "", "1143"},
		{"no outcome left for C", "C", "", "0000"},
		{"outcome aimed at B", "B", "", "1145"},
		{"script used up", "D", "", "0000"},
	}
	for _, st := range steps {
		params := payParams(st.out, "800201")
		if st.drop != "" {
			params.Del(st.drop)
		}
		if resp := call(t, ts, pathPayment, params, merchant); resp["respcd"] != st.respcd {
			t.Fatalf("%s: respcd %v, want %s", st.name, resp["respcd"], st.respcd)
		}
	}
}
