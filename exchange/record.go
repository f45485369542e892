package exchange

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/qfsign/qfsign/signer"
)

// Record states.
const (
	StateInFlight = "inflight" // claimed, no answer yet
	StateDone     = "done"     // QFPay answered with a final outcome: replay it
	StateUnknown  = "unknown"  // may have reached QFPay: query, never resend
)

// Record is what the store keeps per (merchant, out_trade_no).
type Record struct {
	State  string
	Hash   string
	At     int64 // Unix seconds
	Status int
	Type   string // Content-Type of Body
	Body   string // QFPay's answer, replayed byte for byte
}

// Encode writes "1|state|hash|at|status|type|body": the body goes last
// and unescaped, so a record costs one allocation, not a JSON encoding.
func (o Record) Encode() string {
	typ := o.Type
	if strings.IndexByte(typ, '|') >= 0 {
		typ = ""
	}
	b := make([]byte, 0, 48+len(o.Hash)+len(typ)+len(o.Body))
	b = append(b, "1|"...)
	b = append(b, o.State...)
	b = append(b, '|')
	b = append(b, o.Hash...)
	b = append(b, '|')
	b = strconv.AppendInt(b, o.At, 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(o.Status), 10)
	b = append(b, '|')
	b = append(b, typ...)
	b = append(b, '|')
	b = append(b, o.Body...)
	return string(b)
}

// DecodeRecord reads Encode's format; ok is false for anything else.
func DecodeRecord(raw string) (o Record, ok bool) {
	f := strings.SplitN(raw, "|", 7)
	if len(f) != 7 || f[0] != "1" {
		return o, false
	}
	at, err1 := strconv.ParseInt(f[3], 10, 64)
	status, err2 := strconv.Atoi(f[4])
	if err1 != nil || err2 != nil {
		return o, false
	}
	return Record{State: f[1], Hash: f[2], At: at, Status: status, Type: f[5], Body: f[6]}, true
}

// OrderHash identifies the order's content: path and normalised
// parameters. txdtm is left out: a retry legitimately carries a new time.
func OrderHash(path string, p signer.Params) string {
	h := sha256.New()
	var sum [sha256.Size]byte
	var out [32]byte
	h.Write([]byte(path))
	for _, kv := range p {
		if kv.Name == "txdtm" {
			continue
		}
		h.Write([]byte{0})
		h.Write([]byte(kv.Name))
		h.Write([]byte{'='})
		h.Write([]byte(kv.Value))
	}
	hex.Encode(out[:], h.Sum(sum[:0])[:16])
	return string(out[:])
}
