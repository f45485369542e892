package caddymodule

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestAcknowledged: QFPay's rule by default, any 2xx under status_2xx;
// the answers are those of integrations written for QFPay.
func TestAcknowledged(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		strict bool // acknowledged under success_body
		any2xx bool // acknowledged under status_2xx
	}{
		{"SUCCESS", 200, "SUCCESS", true, true},
		{"SUCCESS with newline (PHP echo)", 200, "SUCCESS\n", true, true},
		{"SUCCESS padded", 200, "  \tSUCCESS\r\n", true, true},
		{"success lower case (QFPay's PHP sample)", 200, "success", false, true},
		{"FAIL (ThinkPHP)", 200, "FAIL", false, true},
		{"sign error (Magento)", 200, "sign error", false, true},
		{"empty 200 (Odoo on a bad signature)", 200, "", false, true},
		{"SUCCESS inside a longer body", 200, "SUCCESS but not really", false, true},
		{"JSON SUCCESS", 200, `{"result":"SUCCESS"}`, false, true},
		{"201 SUCCESS", 201, "SUCCESS", true, true},
		{"204", 204, "", false, true},
		{"403 SUCCESS", 403, "SUCCESS", false, false},
		{"500", 500, "SUCCESS", false, false},
		{"302", 302, "", false, false},
		{"no answer", 0, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for mode, want := range map[string]bool{"": tt.strict, ackSuccessBody: tt.strict, ackStatus2xx: tt.any2xx, "bogus": false} {
				if got := acknowledged(mode, tt.status, []byte(tt.body), false); got != want {
					t.Errorf("mode %q: acknowledged = %v, want %v", mode, got, want)
				}
			}
		})
	}
}

// TestAckRecorder: the recorder keeps the status and a bounded body; a
// SUCCESS followed by more than the limit is not an acknowledgement.
func TestAckRecorder(t *testing.T) {
	write := func(status int, parts ...string) *ackRecorder {
		rec := newAckRecorder()
		if status != 0 {
			rec.WriteHeader(status)
		}
		for _, p := range parts {
			if n, err := io.WriteString(rec, p); n != len(p) || err != nil {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		return rec
	}
	if rec := write(0, "SUC", "CESS"); !rec.acknowledged(ackSuccessBody) || rec.status != http.StatusOK {
		t.Errorf("split SUCCESS: %+v", rec)
	}
	if rec := write(http.StatusOK, "SUCCESS", strings.Repeat(" ", ackBodyLimit)); rec.acknowledged(ackSuccessBody) || !rec.truncated {
		t.Errorf("oversized body acknowledged: %+v", rec)
	}
	if rec := write(http.StatusAccepted); rec.acknowledged(ackSuccessBody) || !rec.acknowledged(ackStatus2xx) {
		t.Errorf("202 without body: %+v", rec)
	}
	if rec := write(http.StatusInternalServerError, "SUCCESS"); rec.acknowledged(ackStatus2xx) {
		t.Errorf("500 acknowledged")
	}
}
