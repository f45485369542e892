package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	bolt "go.etcd.io/bbolt"
)

// sweepLoop deletes expired records every SweepEvery until stop closes.
// Requests never sweep: reads skip expired records by their own expiry.
func (s *File) sweepLoop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(s.o.SweepEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			_, _ = s.Sweep()
		}
	}
}

// Sweep deletes every record expired by now, SweepBatch per write
// transaction so a request waits for at most one batch. It returns how
// many it deleted.
func (s *File) Sweep() (int, error) {
	total := 0
	for {
		n := 0
		err := s.update(context.Background(), "sweep", func(kv, exp *bolt.Bucket, now time.Time) error {
			var err error
			n, err = sweepBatch(kv, exp, now, s.o.SweepBatch)
			return err
		})
		total += n
		if err != nil || n < s.o.SweepBatch {
			return total, err
		}
	}
}

// sweepBatch walks the expiry index in time order up to now. A record
// rewritten with a later expiry has its own, later index entry; only
// the index entry of the old expiry goes. Keys are collected first:
// deleting under a bbolt cursor can skip the next key.
func sweepBatch(kv, exp *bolt.Bucket, now time.Time, limit int) (int, error) {
	var due [][]byte
	c := exp.Cursor()
	for k, _ := c.First(); k != nil && len(due) < limit; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) > now.UnixNano() {
			break
		}
		due = append(due, append([]byte(nil), k...))
	}
	for _, k := range due {
		key := k[8:]
		if raw := kv.Get(key); raw != nil {
			if r, err := decodeRecord(raw); err == nil && !r.live(now) && bytes.Equal(expKey(r.expires, string(key)), k) {
				if err := kv.Delete(key); err != nil {
					return 0, err
				}
			}
		}
		if err := exp.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(due), nil
}
