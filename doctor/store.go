package doctor

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/qfsign/qfsign/store"
)

// probeTTL bounds the probe record should the delete fail.
const probeTTL = time.Minute

// ProbeStore writes, reads back and deletes one probe record through the
// store's interface, so it checks any backend the gateway can use.
func ProbeStore(ctx context.Context, st store.Store, desc string) Check {
	c := Check{Scope: "store", Name: "write/read/delete"}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	key, val := "doctor:probe:"+hex.EncodeToString(b), "probe-"+hex.EncodeToString(b)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	start := time.Now()
	fail := func(op string, err error) Check {
		c.Status, c.Detail = Fail, desc+": "+op+": "+err.Error()
		return c
	}
	if err := st.Put(ctx, key, val, probeTTL); err != nil {
		return fail("write", err)
	}
	got, ok, err := st.Get(ctx, key)
	switch {
	case err != nil:
		return fail("read", err)
	case !ok || got != val:
		return fail("read", errMismatch)
	}
	if err := st.Delete(ctx, key); err != nil {
		return fail("delete", err)
	}
	if _, ok, err := st.Get(ctx, key); err != nil || ok {
		return fail("read after delete", errNotDeleted)
	}
	c.Status, c.Detail = OK, desc+": a probe record written, read back and deleted in "+since(start)
	return c
}

type doctorError string

func (e doctorError) Error() string { return string(e) }

const (
	errMismatch   = doctorError("the record read back differs from the one written")
	errNotDeleted = doctorError("the record is still there after delete")
)
