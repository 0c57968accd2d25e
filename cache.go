package clientcertificate

import "sync"

// boundedCache is a concurrency-safe map that never holds more than max
// entries. When full, it evicts an arbitrary entry (Go randomises map
// iteration), which costs O(1) and cannot be steered by a client into
// evicting chosen entries the way an LRU order can.
type boundedCache[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

func newBoundedCache[K comparable, V any](max int) *boundedCache[K, V] {
	if max < 1 {
		max = 1
	}
	return &boundedCache[K, V]{m: make(map[K]V), max: max}
}

func (c *boundedCache[K, V]) get(k K) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[k]
	c.mu.RUnlock()
	return v, ok
}

// getByBytes looks a []byte key up in a string-keyed cache without
// converting (and allocating) the key.
func getByBytes[V any](c *boundedCache[string, V], k []byte) (V, bool) {
	c.mu.RLock()
	v, ok := c.m[string(k)]
	c.mu.RUnlock()
	return v, ok
}

func (c *boundedCache[K, V]) put(k K, v V) {
	c.mu.Lock()
	if _, exists := c.m[k]; !exists && len(c.m) >= c.max {
		for victim := range c.m {
			delete(c.m, victim)
			break
		}
	}
	c.m[k] = v
	c.mu.Unlock()
}

// add inserts or replaces k unless that would take the cache over its
// bound, and reports whether it did: for caches whose entries leave on
// their own rather than by eviction.
func (c *boundedCache[K, V]) add(k K, v V) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, exists := c.m[k]; !exists && len(c.m) >= c.max {
		return false
	}
	c.m[k] = v
	return true
}

// deleteIf removes k if its value is stale, checked under the lock so that
// a value put in the meantime stays.
func (c *boundedCache[K, V]) deleteIf(k K, stale func(V) bool) {
	c.mu.Lock()
	if v, ok := c.m[k]; ok && stale(v) {
		delete(c.m, k)
	}
	c.mu.Unlock()
}

func (c *boundedCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
