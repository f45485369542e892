package store

import "errors"

// faultDropDeferred makes every deferred write (Put) fail before its
// commit, as if the process died between the answer and the disk. Only
// a binary built with -tags qfsign_faults can set it (fault_on.go), for
// the lost-record test; in release builds nothing sets it.
var faultDropDeferred = false

var errFaultDropped = errors.New("store: deferred write dropped by fault injection (qfsign_faults build)")
