package qfpaytest

import (
	"net/url"
	"strings"
	"testing"
)

func noteParams(code, syssn, note string) url.Values {
	return url.Values{"code": {code}, "syssn": {syssn}, "note": {note}}
}

func TestAddNote(t *testing.T) {
	withID := Merchant{AppCode: "M1", ClientKey: "K1", MchID: "ZaMVg12345"}
	s := newTestServer(merchant, withID)
	ts := live(t, s)
	sn := payLive(t, ts, payParams("N1", "800201"), merchant)
	idSn := payLive(t, ts, withField(payParams("N2", "800201"), "mchid", withID.MchID), withID)
	long := strings.Repeat("測", maxNote)
	steps := []struct {
		name    string
		m       Merchant
		params  url.Values
		respcd  string
		resperr string
		stored  string // the note on N1 afterwards
	}{
		{"note", merchant, noteParams("APP1", sn, "gift wrap"), "0000", "success", "gift wrap"},
		{"200 characters", merchant, noteParams("APP1", sn, long), "0000", "success", long},
		{"201 characters", merchant, noteParams("APP1", sn, long+"x"), "1101", "invalid note", long},
		{"empty note", merchant, noteParams("APP1", sn, ""), "1101", "missing note", long},
		{"no code", merchant, without(noteParams("APP1", sn, "x"), "code"), "1101", "missing code", long},
		{"another app's code", merchant, noteParams("M1", sn, "x"), "1101", "code mismatch", long},
		{"unknown syssn", merchant, noteParams("APP1", "20251117000000000000000999", "x"), "1268", "order does not exist", long},
		{"merchant with mchid", withID, withField(noteParams("M1", idSn, "x"), "mchid", withID.MchID),
			"1101", "add_note is for merchants without mchid", long},
	}
	for _, st := range steps {
		resp := call(t, ts, pathAddNote, st.params, st.m)
		if resp["respcd"] != st.respcd || resp["resperr"] != st.resperr {
			t.Fatalf("%s: got %v %v, want %s %s", st.name, resp["respcd"], resp["resperr"], st.respcd, st.resperr)
		}
		if data, _ := resp["data"].(map[string]any); st.respcd == "0000" && data["syssn"] != sn {
			t.Fatalf("%s: answer %v", st.name, resp)
		}
		if note, ok := s.Note(merchant.AppCode, sn); note != st.stored || !ok {
			t.Fatalf("%s: stored note %q, %v", st.name, note, ok)
		}
	}
	if note, ok := s.Note(withID.AppCode, idSn); ok || note != "" {
		t.Fatalf("note stored for the mchid merchant: %q", note)
	}
}
