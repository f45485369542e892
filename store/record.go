package store

import (
	"encoding/binary"
	"fmt"
	"time"
)

// recordV1 is the first record layout: version byte, expiry (Unix
// nanoseconds, big-endian), value. A later layout gets a new version
// byte and decodeRecord keeps reading this one, so an upgraded qfsign
// reads an older file (store/testdata/v1.db pins it).
const recordV1 = 1

// record is one stored value with its expiry.
type record struct {
	expires time.Time
	val     []byte
}

func (r record) live(now time.Time) bool { return now.Before(r.expires) }

func (r record) encode() []byte {
	b := make([]byte, 9, 9+len(r.val))
	b[0] = recordV1
	binary.BigEndian.PutUint64(b[1:], uint64(r.expires.UnixNano()))
	return append(b, r.val...)
}

// decodeRecord copies the value out: bbolt's bytes live only as long as
// the transaction.
func decodeRecord(raw []byte) (record, error) {
	if len(raw) < 9 || raw[0] != recordV1 {
		v := -1
		if len(raw) > 0 {
			v = int(raw[0])
		}
		return record{}, fmt.Errorf("%w (version %d, %d bytes)", ErrUnreadable, v, len(raw))
	}
	return record{
		expires: time.Unix(0, int64(binary.BigEndian.Uint64(raw[1:9]))),
		val:     append([]byte(nil), raw[9:]...),
	}, nil
}
