//go:build qfsign_faults

package store

import "os"

// A fault build drops deferred writes when QFSIGN_FAULT_DROP_DEFERRED=1.
func init() { faultDropDeferred = os.Getenv("QFSIGN_FAULT_DROP_DEFERRED") == "1" }
