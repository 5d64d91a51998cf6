package cimd

// CacheLen is how many client ids r caches, for the bounded-cache test.
func CacheLen(r *Resolver) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cache.len()
}
