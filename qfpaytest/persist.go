package qfpaytest

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"
)

// A double whose ledger outlives the process: payments, refunds, the
// syssn counter, checkout pages and the address it listens on are kept
// in a bbolt file, so after a restart (kill -9 included) old pay_urls
// open, queries find old orders and new syssns do not repeat old ones.
// Recorded requests, scripted outcomes and notifications in flight are
// not kept. Writes are not synced: a crash of the process loses nothing,
// a crash of the machine may lose the last changes (a demo, not QFPay).

var (
	bucketTrades = []byte("trades") // ledger index (8 bytes, big endian) -> savedEntry
	bucketMeta   = []byte("meta")
	keySeq       = []byte("seq")
	keyAddr      = []byte("addr")
)

// ErrLedgerLocked: another process holds the ledger file.
var ErrLedgerLocked = errors.New("held by another running process")

// StartPersistent is Start with the ledger in the file at path (created
// with its directory when missing). addr "" listens where the file says
// the double listened before, or on a free loopback port the first time;
// the address is kept, so pay_urls stay valid across restarts.
func StartPersistent(path, addr string, merchants ...Merchant) (*Running, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: 100 * time.Millisecond, NoSync: true})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("ledger %s: %w", path, ErrLedgerLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger %s: %w", path, err)
	}
	s := New(merchants...)
	saved, err := s.load(db)
	if addr == "" {
		addr = saved
	}
	var ln net.Listener
	if err == nil {
		ln, err = listen(addr, saved)
	}
	if err == nil {
		err = db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Put(keyAddr, []byte(ln.Addr().String())) })
	}
	if err != nil {
		if ln != nil {
			_ = ln.Close()
		}
		return nil, errors.Join(fmt.Errorf("ledger %s: %w", path, err), db.Close())
	}
	s.ledger = db
	r := serve(ln, s)
	r.closeLedger = db.Close
	return r, nil
}

// listen listens on addr, a free loopback port when addr is "". The
// address kept from before must be free again: pay_urls point there.
func listen(addr, saved string) (net.Listener, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && addr == saved {
		return nil, fmt.Errorf("listening on %s, where earlier pay_urls point: %w (stop what holds it, or remove the ledger file to start afresh)", addr, err)
	}
	return ln, err
}

// savedEntry is an entry as stored: every field, exported for JSON.
type savedEntry struct {
	AppCode   string
	GoodsName string
	NotifyURL string
	OrderType string
	OrigSyssn string
	Paydtm    string
	Checkout  savedCheckout
	Respcd    string
	Cancel    string
	Refunded  int64
	Queries   int
	Final     string
	Note      string
	Payment   payment
}

type savedCheckout struct {
	Token, ReturnURL  string
	Expires           time.Time
	Expired           bool
	Merchant, MerchID string
}

func (e *entry) saved() savedEntry {
	return savedEntry{
		AppCode: e.appCode, GoodsName: e.goodsName, NotifyURL: e.notifyURL, OrderType: e.orderType,
		OrigSyssn: e.origSyssn, Paydtm: e.paydtm,
		Checkout: savedCheckout{Token: e.co.token, ReturnURL: e.co.returnURL, Expires: e.co.expires,
			Expired: e.co.expired, Merchant: e.co.merchant, MerchID: e.co.mchid},
		Respcd: e.respcd, Cancel: e.cancel, Refunded: e.refunded, Queries: e.queries, Final: e.final, Note: e.note,
		Payment: e.payment,
	}
}

func (v savedEntry) entry() entry {
	return entry{
		appCode: v.AppCode, goodsName: v.GoodsName, notifyURL: v.NotifyURL, orderType: v.OrderType,
		origSyssn: v.OrigSyssn, paydtm: v.Paydtm,
		co: checkout{token: v.Checkout.Token, returnURL: v.Checkout.ReturnURL, expires: v.Checkout.Expires,
			expired: v.Checkout.Expired, merchant: v.Checkout.Merchant, mchid: v.Checkout.MerchID},
		state: state{respcd: v.Respcd, cancel: v.Cancel, refunded: v.Refunded, queries: v.Queries,
			final: v.Final, note: v.Note},
		payment: v.Payment,
	}
}

// load reads the ledger and the syssn counter into s and returns the
// address kept from before ("" the first time).
func (s *Server) load(db *bbolt.DB) (addr string, err error) {
	err = db.Update(func(tx *bbolt.Tx) error {
		trades, err := tx.CreateBucketIfNotExists(bucketTrades)
		if err != nil {
			return err
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySeq); len(v) == 8 {
			s.seq = binary.BigEndian.Uint64(v)
		}
		addr = string(meta.Get(keyAddr))
		return trades.ForEach(func(_, v []byte) error {
			var e savedEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("a ledger record: %w", err)
			}
			s.trades = append(s.trades, e.entry())
			return nil
		})
	})
	return addr, err
}

// touchLocked marks the entry at index i as possibly changed: saved at
// the next changedLocked.
func (s *Server) touchLocked(i int) {
	if s.ledger == nil {
		return
	}
	if s.touched == nil {
		s.touched = make(map[int]struct{})
	}
	s.touched[i] = struct{}{}
}

// saveLocked writes the touched entries and the syssn counter. A failed
// write stops the double answering trades (1100): what it answered must
// be what it will find after a restart.
func (s *Server) saveLocked() {
	if s.ledger == nil || len(s.touched) == 0 || s.ledgerErr != nil {
		return
	}
	err := s.ledger.Update(func(tx *bbolt.Tx) error {
		trades := tx.Bucket(bucketTrades)
		for i := range s.touched {
			v, err := json.Marshal(s.trades[i].saved())
			if err != nil {
				return err
			}
			if err := trades.Put(binary.BigEndian.AppendUint64(nil, uint64(i)), v); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(keySeq, binary.BigEndian.AppendUint64(nil, s.seq))
	})
	clear(s.touched)
	s.ledgerErr = err
}
