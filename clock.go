package clientcertificate

import (
	"sync"
	"sync/atomic"
	"time"
)

// coarseClockResolution is how stale coarseNow may be. Certificate validity
// is stated in whole seconds, so a tenth of a second is exact enough, and
// reading the clock becomes one atomic load instead of a clock read on
// every request (the largest cost of a decision on virtual machines).
const coarseClockResolution = 100 * time.Millisecond

var coarseClock struct {
	once sync.Once
	now  atomic.Int64 // Unix nanoseconds
}

// coarseNow returns the current time, at most coarseClockResolution old.
// The first call starts one ticker goroutine for the life of the process.
func coarseNow() time.Time {
	coarseClock.once.Do(func() {
		coarseClock.now.Store(time.Now().UnixNano())
		go func() {
			for t := range time.Tick(coarseClockResolution) {
				coarseClock.now.Store(t.UnixNano())
			}
		}()
	})
	return time.Unix(0, coarseClock.now.Load())
}
