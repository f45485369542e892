package qfpaytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// cancelParams names the payment by one id, for payParams' amount.
func cancelParams(name, id string) url.Values {
	return url.Values{name: {id}, "txamt": {"2200"}, "txdtm": {"2025-11-17 18:00:00"}}
}

// cancelCase is a reversal or close of payment C1 (syssn sn).
type cancelCase struct {
	name    string
	path    string
	payType string
	pending bool                                               // C1 is answered 1143, pending for good
	before  func(t *testing.T, ts *httptest.Server, sn string) // runs before the cancel
	params  func(sn string) url.Values
	respcd  string
	row     [2]string // respcd and cancel of C1's row afterwards
}

func cancelCases() []cancelCase {
	bySn := func(sn string) url.Values { return cancelParams("syssn", sn) }
	byOut := func(string) url.Values { return cancelParams("out_trade_no", "C1") }
	refundC1 := func(t *testing.T, ts *httptest.Server, sn string) {
		if resp := call(t, ts, pathRefund, refundParams(sn, "R1", "100"), merchant); resp["respcd"] != "0000" {
			t.Fatalf("refund: %v", resp)
		}
	}
	return []cancelCase{
		{"reversal by syssn", pathReversal, "800201", false, nil, bySn, "0000", [2]string{"0000", "2"}},
		{"reversal of CPM by out_trade_no", pathReversal, "800208", false, nil, byOut, "0000", [2]string{"0000", "1"}},
		{"close by syssn", pathClose, "800201", false, nil, bySn, "0000", [2]string{"0000", "2"}},
		{"close by out_trade_no", pathClose, "801512", false, nil, byOut, "0000", [2]string{"0000", "2"}},
		{"both ids agree", pathReversal, "800201", false, nil, func(sn string) url.Values {
			return withField(bySn(sn), "out_trade_no", "C1")
		}, "0000", [2]string{"0000", "2"}},
		{"ids disagree", pathReversal, "800201", false, func(t *testing.T, ts *httptest.Server, _ string) {
			payLive(t, ts, payParams("C2", "800201"), merchant)
		}, func(sn string) url.Values { return withField(bySn(sn), "out_trade_no", "C2") }, "1267", [2]string{"0000", "0"}},
		{"unknown out_trade_no", pathClose, "800201", false, nil, func(string) url.Values {
			return cancelParams("out_trade_no", "NOPE")
		}, "1268", [2]string{"0000", "0"}},
		{"wrong txamt", pathReversal, "800201", false, nil, func(sn string) url.Values {
			return withField(bySn(sn), "txamt", "2201")
		}, "1266", [2]string{"0000", "0"}},
		{"no id", pathReversal, "800201", false, nil, func(sn string) url.Values {
			return without(bySn(sn), "syssn")
		}, "1101", [2]string{"0000", "0"}},
		{"pending payment closed", pathClose, "800201", true, nil, byOut, "0000", [2]string{"1142", "2"}},
		{"cancelled already", pathReversal, "800201", false, func(t *testing.T, ts *httptest.Server, sn string) {
			call(t, ts, pathClose, bySn(sn), merchant)
		}, bySn, "1263", [2]string{"0000", "2"}},
		{"refunded", pathReversal, "800201", false, refundC1, bySn, "1262", [2]string{"0000", "5"}},
		{"a refund, not a payment", pathClose, "800201", false, refundC1, func(string) url.Values {
			return withField(cancelParams("out_trade_no", "R1"), "txamt", "100")
		}, "1136", [2]string{"0000", "5"}},
	}
}

func TestCancel(t *testing.T) {
	for _, tc := range cancelCases() {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer()
			ts := live(t, s)
			if tc.pending {
				s.Script(Outcome{Respcd: "1143"})
			}
			params := payParams("C1", tc.payType)
			params.Set("auth_code", "1300") // CPM types need it; others ignore it
			sn, _ := call(t, ts, pathPayment, params, merchant)["syssn"].(string)
			if tc.before != nil {
				tc.before(t, ts, sn)
			}
			resp := call(t, ts, tc.path, tc.params(sn), merchant)
			if resp["respcd"] != tc.respcd {
				t.Fatalf("respcd %v (%v), want %s", resp["respcd"], resp["resperr"], tc.respcd)
			}
			if tc.respcd == "0000" && (resp["orig_syssn"] != sn || resp["syssn"] == sn ||
				resp["out_trade_no"] != "C1" || resp["txamt"] != "2200" || resp["txcurrcd"] != "HKD") {
				t.Errorf("answer %v", resp)
			}
			if row := queryRow(t, ts, "syssn", sn); row["respcd"] != tc.row[0] || row["cancel"] != tc.row[1] {
				t.Errorf("row respcd %v cancel %v, want %v", row["respcd"], row["cancel"], tc.row)
			}
		})
	}
}

// TestCloseQueryString: close is a GET whose query string is what is signed.
func TestCloseQueryString(t *testing.T) {
	get := func(t *testing.T, base, sn string) *http.Request {
		return clientRequest(t, base, http.MethodGet, pathClose, cancelParams("syssn", sn), merchant)
	}
	tests := []struct {
		name   string
		req    func(t *testing.T, base, sn string) *http.Request
		status int
		respcd string
	}{
		{"signed query", get, 200, "0000"},
		{"tampered query", func(t *testing.T, base, sn string) *http.Request {
			r := get(t, base, sn)
			r.URL.RawQuery = strings.Replace(r.URL.RawQuery, "txamt=2200", "txamt=2201", 1)
			return r
		}, 200, "1108"},
		{"parameters in a body", func(t *testing.T, base, sn string) *http.Request {
			r := get(t, base, sn)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(r.URL.RawQuery)), int64(len(r.URL.RawQuery))
			r.URL.RawQuery = ""
			return r
		}, 200, "1101"},
		{"POST to close", func(t *testing.T, base, sn string) *http.Request {
			return clientRequest(t, base, http.MethodPost, pathClose, cancelParams("syssn", sn), merchant)
		}, 405, "1101"},
		{"GET to reversal", func(t *testing.T, base, sn string) *http.Request {
			return clientRequest(t, base, http.MethodGet, pathReversal, cancelParams("syssn", sn), merchant)
		}, 405, "1101"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestServer()
			ts := live(t, s)
			sn := payLive(t, ts, payParams("Q1", "800201"), merchant)
			req := tc.req(t, ts.URL, sn)
			status, resp := do(t, ts, req)
			if status != tc.status || resp["respcd"] != tc.respcd {
				t.Fatalf("got %d %v (%v), want %d %s", status, resp["respcd"], resp["resperr"], tc.status, tc.respcd)
			}
			last := s.Requests()[s.Count()-1]
			if last.Method != req.Method || last.RawQuery != req.URL.RawQuery {
				t.Errorf("recorded %s ?%s, sent %s ?%s", last.Method, last.RawQuery, req.Method, req.URL.RawQuery)
			}
		})
	}
}
