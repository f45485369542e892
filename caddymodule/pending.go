package caddymodule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/qfsign/qfsign/signer"
)

// Pending resolution: QFPay says to query, never resend, when a payment
// answers 1143/1145/1298 or its answer is lost. The gateway queries by
// out_trade_no, signed for the same merchant, and answers the caller
// with the payment response updated from the query row.

const defaultPendingInterval = 3 * time.Second

// errNoRow: QFPay has no record of the order (yet).
var errNoRow = errors.New("QFPay has no record of this out_trade_no")

// resolveWait is the resolve_pending budget; 0 when off.
func (h *SignHandler) resolveWait() time.Duration {
	if h.ResolvePending == nil {
		return 0
	}
	return time.Duration(h.ResolvePending.MaxWait)
}

// resolve queries until the order is final or the budget is spent; with
// resolve_pending off it queries once. base is the payment answer to
// update (nil when there was none). It returns the body to answer with
// and whether the outcome is final.
func (h *SignHandler) resolve(ctx context.Context, t *txn, base []byte) ([]byte, bool, error) {
	otn, _ := t.params.Get("out_trade_no")
	deadline := time.Now().Add(h.resolveWait())
	interval := defaultPendingInterval
	if h.ResolvePending != nil && h.ResolvePending.Interval > 0 {
		interval = time.Duration(h.ResolvePending.Interval)
	}
	for {
		row, err := h.queryOrder(ctx, otn)
		t.queries++
		if err == nil {
			final := signer.ClassifyRespcd(stringField(row, "respcd")) != signer.ClassPending
			if final || !time.Now().Add(interval).Before(deadline) {
				pendingTotal.WithLabelValues(h.Merchant, map[bool]string{true: "final", false: "still_pending"}[final]).Inc()
				return mergeRow(base, row), final, nil
			}
		} else if !time.Now().Add(interval).Before(deadline) {
			pendingTotal.WithLabelValues(h.Merchant, "error").Inc()
			return nil, false, err
		}
		select {
		case <-ctx.Done():
			return nil, false, ctx.Err()
		case <-time.After(interval):
		}
	}
}

// queryOrder asks QFPay for the order's row, signing with the current key.
func (h *SignHandler) queryOrder(ctx context.Context, otn string) (map[string]json.RawMessage, error) {
	creds, err := h.m.credentials()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := NewQueryRequest(ctx, h.app.upstream, creds, h.m.signType, otn)
	if err != nil {
		return nil, err
	}
	resp, err := h.app.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	var out struct {
		Respcd string                       `json:"respcd"`
		Data   []map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK || out.Respcd != "0000" {
		return nil, fmt.Errorf("query: HTTP %d respcd %q", resp.StatusCode, out.Respcd)
	}
	for _, row := range out.Data {
		if stringField(row, "out_trade_no") == otn {
			return row, nil
		}
	}
	return nil, errNoRow
}

// rowFields are always taken from the row; other row fields only replace
// fields the payment answer already has.
var rowFields = []string{"respcd", "resperr", "respmsg", "errmsg", "syssn", "sysdtm", "paydtm", "cancel"}

// mergeRow updates the payment answer with the query row; without a
// payment answer the row itself is the answer.
func mergeRow(base []byte, row map[string]json.RawMessage) []byte {
	var out map[string]json.RawMessage
	if json.Unmarshal(base, &out) != nil || out == nil {
		out = make(map[string]json.RawMessage, len(row))
		for k, v := range row {
			out[k] = v
		}
	}
	for k, v := range row {
		if _, ok := out[k]; ok {
			out[k] = v
		}
	}
	for _, k := range rowFields {
		if v, ok := row[k]; ok {
			out[k] = v
		}
	}
	b, _ := json.Marshal(out)
	return b
}

func stringField(m map[string]json.RawMessage, k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return strings.TrimSpace(s)
}
