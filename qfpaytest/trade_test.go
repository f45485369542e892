package qfpaytest

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestPayment(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(p url.Values)
		respcd  string
		resperr string
		extra   string // field that must be present on success
		absent  string // field that must not be present
	}{
		{"alipay online gets pay_url", func(p url.Values) { p.Set("pay_type", "801512") }, "0000", "success", "pay_url", "qrcode"},
		{"wechat mpm gets qrcode", func(p url.Values) {}, "0000", "success", "qrcode", "pay_url"},
		{"cpm with auth_code", func(p url.Values) { p.Set("pay_type", "800208"); p.Set("auth_code", "1300") }, "0000", "success", "syssn", "qrcode"},
		{"cpm without auth_code", func(p url.Values) { p.Set("pay_type", "800208") }, "1101", "missing auth_code", "", ""},
		{"missing txamt", func(p url.Values) { p.Del("txamt") }, "1101", "missing txamt", "", ""},
		{"missing txcurrcd", func(p url.Values) { p.Del("txcurrcd") }, "1101", "missing txcurrcd", "", ""},
		{"missing pay_type", func(p url.Values) { p.Del("pay_type") }, "1101", "missing pay_type", "", ""},
		{"missing out_trade_no", func(p url.Values) { p.Del("out_trade_no") }, "1101", "missing out_trade_no", "", ""},
		{"empty txdtm", func(p url.Values) { p.Set("txdtm", "") }, "1101", "missing txdtm", "", ""},
		{"decimal txamt", func(p url.Values) { p.Set("txamt", "22.00") }, "1101", "invalid txamt", "", ""},
		{"zero txamt", func(p url.Values) { p.Set("txamt", "000") }, "1101", "invalid txamt", "", ""},
		{"12-digit txamt", func(p url.Values) { p.Set("txamt", "100000000000") }, "1101", "invalid txamt", "", ""},
		{"unknown currency", func(p url.Values) { p.Set("txcurrcd", "XXX") }, "1101", "invalid txcurrcd", "", ""},
		{"unknown pay_type", func(p url.Values) { p.Set("pay_type", "999999") }, "1101", "invalid pay_type", "", ""},
		{"bad txdtm", func(p url.Values) { p.Set("txdtm", "2025-11-17T18:00:00") }, "1101", "invalid txdtm", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			params := payParams("P1", "800201")
			tc.edit(params)
			_, resp := send(t, newTestServer(), signed(t, pathPayment, params, merchant))
			if resp["respcd"] != tc.respcd || resp["resperr"] != tc.resperr {
				t.Fatalf("got %v %v, want %s %s", resp["respcd"], resp["resperr"], tc.respcd, tc.resperr)
			}
			if _, ok := resp[tc.extra]; tc.extra != "" && !ok {
				t.Errorf("%s missing from %v", tc.extra, resp)
			}
			if _, ok := resp[tc.absent]; ok {
				t.Errorf("%s unexpectedly in %v", tc.absent, resp)
			}
		})
	}
}

func TestPaymentResponse(t *testing.T) {
	params := payParams("ORDER-9", "801101")
	params.Set("udid", "till-1")
	rec := httptest.NewRecorder()
	newTestServer().ServeHTTP(rec, signed(t, pathPayment, params, merchant))
	raw := rec.Body.String()
	if !strings.HasPrefix(raw, `{"respcd":"0000","respmsg":"","resperr":"success","syssn":"`) {
		t.Fatalf("unexpected field order or envelope: %s", raw)
	}
	_, resp := send(t, newTestServer(), signed(t, pathPayment, params, merchant))
	syssn, _ := resp["syssn"].(string)
	if !regexp.MustCompile(`^20251117\d{18}$`).MatchString(syssn) {
		t.Fatalf("syssn = %q", syssn)
	}
	want := map[string]any{
		"out_trade_no": "ORDER-9", "pay_type": "801101", "txamt": "2200", "txcurrcd": "HKD",
		"txdtm": "2025-11-17 18:00:00", "sysdtm": "2025-11-17 18:00:05", "udid": "till-1",
		"cardcd": "", "chnlsn": "", "pay_url": "https://openapi-int.qfapi.com/checkstand/alipay?syssn=" + syssn,
	}
	for k, v := range want {
		if resp[k] != v {
			t.Errorf("%s = %v, want %v", k, resp[k], v)
		}
	}
}

func TestDuplicateOutTradeNo(t *testing.T) {
	other := Merchant{AppCode: "APP2", ClientKey: "KEY2"}
	s := newTestServer(merchant, other)
	steps := []struct {
		name   string
		m      Merchant
		respcd string
	}{
		{"first use", merchant, "0000"},
		{"reuse by same app code", merchant, "1102"},
		{"same number at another app code", other, "0000"},
	}
	for _, st := range steps {
		_, resp := send(t, s, signed(t, pathPayment, payParams("DUP-1", "800201"), st.m))
		if resp["respcd"] != st.respcd {
			t.Fatalf("%s: respcd = %v (%v), want %s", st.name, resp["respcd"], resp["resperr"], st.respcd)
		}
		if st.respcd == "1102" && resp["resperr"] != "duplicate out_trade_no" {
			t.Fatalf("%s: resperr = %v", st.name, resp["resperr"])
		}
	}
}

func TestQuery(t *testing.T) {
	other := Merchant{AppCode: "APP2", ClientKey: "KEY2"}
	s := newTestServer(merchant, other)
	syssn := map[string]string{}
	for _, p := range []struct {
		m            Merchant
		out, payType string
	}{
		{merchant, "Q1", "800201"}, {merchant, "Q2", "801512"}, {other, "Q3", "800201"},
	} {
		_, resp := send(t, s, signed(t, pathPayment, payParams(p.out, p.payType), p.m))
		syssn[p.out], _ = resp["syssn"].(string)
	}
	tests := []struct {
		name   string
		params url.Values
		want   []string // out_trade_no of the rows, in order
	}{
		{"by out_trade_no", url.Values{"out_trade_no": {"Q2"}}, []string{"Q2"}},
		{"by syssn", url.Values{"syssn": {syssn["Q1"]}}, []string{"Q1"}},
		{"comma list", url.Values{"out_trade_no": {"Q1,Q2"}}, []string{"Q1", "Q2"}},
		{"syssn and out_trade_no disagree", url.Values{"syssn": {syssn["Q1"]}, "out_trade_no": {"Q2"}}, nil},
		{"unknown id", url.Values{"out_trade_no": {"NOPE"}}, nil},
		{"other merchant's payment hidden", url.Values{"out_trade_no": {"Q3"}}, nil},
		{"pay_type filter", url.Values{"pay_type": {"801512"}}, []string{"Q2"}},
		{"second page", url.Values{"page": {"2"}, "page_size": {"1"}}, []string{"Q2"}},
		{"page past the end", url.Values{"page": {"99999999999"}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, resp := send(t, s, signed(t, pathQuery, tc.params, merchant))
			data, ok := resp["data"].([]any)
			if resp["respcd"] != "0000" || resp["resperr"] != "success" || !ok || len(data) != len(tc.want) {
				t.Fatalf("got %v, want %d rows", resp, len(tc.want))
			}
			for i, out := range tc.want {
				row := data[i].(map[string]any)
				if row["out_trade_no"] != out || row["syssn"] != syssn[out] ||
					row["respcd"] != "0000" || row["cancel"] != "0" || row["errmsg"] != "success" {
					t.Errorf("row %d = %v, want %s", i, row, out)
				}
			}
		})
	}
}

func TestQueryParams(t *testing.T) {
	s := newTestServer()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, signed(t, pathQuery, url.Values{"syssn": {"1"}}, merchant))
	if !strings.HasSuffix(rec.Body.String(), `"page":"1","page_size":"10","data":[]}`+"\n") {
		t.Fatalf("empty answer = %s", rec.Body)
	}
	for _, bad := range []url.Values{{"page_size": {"101"}}, {"page": {"0"}}, {"page": {"x"}}} {
		if _, resp := send(t, s, signed(t, pathQuery, bad, merchant)); resp["respcd"] != "1101" {
			t.Errorf("%v: respcd = %v, want 1101", bad, resp["respcd"])
		}
	}
}

func TestConcurrentPayments(t *testing.T) {
	s := newTestServer()
	const n = 32
	syssns := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		req := signed(t, pathPayment, payParams(fmt.Sprintf("C%d", i), "800201"), merchant)
		wg.Go(func() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var resp map[string]string
			_ = json.Unmarshal(rec.Body.Bytes(), &resp)
			syssns <- resp["syssn"]
		})
	}
	wg.Wait()
	close(syssns)
	seen := map[string]bool{}
	for id := range syssns {
		if len(id) != 26 || seen[id] {
			t.Fatalf("bad or repeated syssn %q", id)
		}
		seen[id] = true
	}
	if len(seen) != n || s.Count() != n {
		t.Fatalf("%d unique syssn, Count %d, want %d", len(seen), s.Count(), n)
	}
}
