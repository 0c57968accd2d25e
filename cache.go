// cache.go: boundedCache, the bounded map behind the shared facts and the
// policies' verification caches (see state.go for what each holds).

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

func (c *boundedCache[K, V]) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
