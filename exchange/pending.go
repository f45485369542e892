package exchange

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/qfsign/qfsign/keys"
	"github.com/qfsign/qfsign/signer"
)

// Pending resolution: QFPay says to query, never resend, when a payment
// answers 1143/1145/1298 or its answer is lost. The gateway queries by
// out_trade_no, signed for the same merchant, and answers the caller
// with the payment response updated from the query row.

// ErrNoRow: QFPay has no record of the order (yet).
var ErrNoRow = errors.New("QFPay has no record of this out_trade_no")

// QueryRequest is the signed POST /trade/v1/query for one out_trade_no,
// as the gateway sends it to resolve a pending payment.
func QueryRequest(creds *keys.Credentials, st signer.SignType, otn string) *Request {
	p := signer.Params{}.Set("out_trade_no", otn)
	if creds.MchID != "" {
		p = p.Set("mchid", creds.MchID)
	}
	return &Request{Method: http.MethodPost, Path: signer.QueryEndpoint.Path, Body: p.Encode(),
		ContentType: "application/x-www-form-urlencoded", AppCode: creds.AppCode,
		Sig: signer.Sign(p, creds.Key, st), SignType: st.Header()}
}

// resolve queries until the order is final or ResolveWait is spent (once
// when it is 0). base is the payment answer to update (nil when there
// was none). It returns the body to answer with.
func (x *Exchange) resolve(ctx context.Context, t *Txn, base []byte) ([]byte, error) {
	otn, _ := t.Params.Get("out_trade_no")
	deadline := x.Clock.Now().Add(x.ResolveWait)
	for {
		row, err := x.queryOrder(ctx, otn)
		t.Queries++
		last := !x.Clock.Now().Add(x.ResolveInterval).Before(deadline)
		if err == nil {
			final := signer.ClassifyRespcd(stringField(row, "respcd")) != signer.ClassPending
			if final || last {
				result := "still_pending"
				if final {
					result = "final"
				}
				x.Events.Pending(result)
				return mergeRow(base, row), nil
			}
		} else if last {
			x.Events.Pending("error")
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-x.Clock.After(x.ResolveInterval):
		}
	}
}

// queryOrder asks QFPay for the order's row, signing with the current key.
func (x *Exchange) queryOrder(ctx context.Context, otn string) (map[string]json.RawMessage, error) {
	creds, err := x.Credentials()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	resp, err := x.Sender(ctx, QueryRequest(creds, x.SignType, otn))
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	var out struct {
		Respcd string                       `json:"respcd"`
		Data   []map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &out); err != nil || resp.Status != http.StatusOK || out.Respcd != "0000" {
		return nil, fmt.Errorf("query: HTTP %d respcd %q", resp.Status, out.Respcd)
	}
	for _, row := range out.Data {
		if stringField(row, "out_trade_no") == otn {
			return row, nil
		}
	}
	return nil, ErrNoRow
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
