package keys

// SetOnWait lets a test know when a Refetch caller starts waiting for
// the fetch in flight; set it before the cache is used.
func SetOnWait(c *Cache, f func()) { c.onWait = f }
