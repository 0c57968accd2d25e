// validity.go: whether a moment falls inside a validity window (a
// certificate's, or a cached verification result's), decided exactly even
// though the clock read per request is coarse.

package clientcertificate

import (
	"math"
	"time"
)

// moment is the time a decision is made at: a coarse reading, which may lag
// the real time but never runs ahead of it, and a way to read the real time
// when the lag could change the answer. Times on this path are Unix
// nanoseconds: comparing int64s costs a fraction of time.Time's methods.
type moment struct {
	coarse int64
	exact  func() time.Time // nil: coarse is exact (tests, tools)
}

// at is the moment t, exactly.
func at(t time.Time) moment { return moment{coarse: unixNanos(t)} }

// currentMoment is the moment of a request: the coarse clock, and the real
// clock for the rare decisions near a window's edge.
func currentMoment() moment { return moment{coarse: coarseNow(), exact: time.Now} }

// clockGuard is how far from a window's end the coarse reading must be to
// be used as is. The coarse clock lags by at most coarseClockResolution
// while its goroutine runs; the guard covers stalls of that goroutine far
// longer than that (a process that is paused, or starved of CPU), for the
// price of one clock read per decision in a certificate's last minute.
const clockGuard = uint64(time.Minute)

// now returns the real time: what decisions that cannot use the coarse
// reading compare with (path validation, time-window failures).
func (m moment) now() time.Time {
	if m.exact != nil {
		return m.exact()
	}
	return time.Unix(0, m.coarse)
}

// window is a span of time, both ends included as crypto/x509 includes
// NotBefore and NotAfter, in Unix nanoseconds.
type window struct{ from, until int64 }

// windowOf is the window [from, until]; times beyond int64 nanoseconds
// (years before 1678 or after 2262, such as RFC 5280's 99991231235959Z for
// "no expiry") are clamped, which keeps their order with any real moment.
func windowOf(from, until time.Time) window { return window{unixNanos(from), unixNanos(until)} }

var (
	minUnixNanos = time.Unix(0, math.MinInt64)
	maxUnixNanos = time.Unix(0, math.MaxInt64)
)

func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(minUnixNanos):
		return math.MinInt64
	case t.After(maxUnixNanos):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Where a moment is relative to a window.
const (
	beforeWindow = -1
	insideWindow = 0
	afterWindow  = 1
)

// position places the moment relative to w. The coarse reading decides only
// what it can decide exactly: being past the end (the real time is later
// still), or being inside with the end more than clockGuard away. Anything
// else, including every "not yet", is decided with the real time, so that a
// lagging clock can neither let an expired certificate through nor hold a
// just-valid one out.
func (m moment) position(w window) int {
	if m.surelyInside(w) {
		return insideWindow
	}
	return m.positionNearEdges(w)
}

// surelyInside is position's common case, small enough to be inlined on
// the per-request path: the coarse reading is inside w and far from its end.
func (m moment) surelyInside(w window) bool {
	t := m.coarse
	return t >= w.from && t <= w.until && span(t, w.until) >= clockGuard
}

func (m moment) positionNearEdges(w window) int {
	t := m.coarse
	if t > w.until {
		return afterWindow
	}
	if m.exact != nil && (t < w.from || span(t, w.until) < clockGuard) {
		t = unixNanos(m.exact())
	}
	switch {
	case t < w.from:
		return beforeWindow
	case t > w.until:
		return afterWindow
	}
	return insideWindow
}

// span is until-from for from <= until, computed without overflow (the
// difference of two int64s fits in a uint64).
func span(from, until int64) uint64 { return uint64(until) - uint64(from) }

// inside reports whether the moment is inside w.
func (m moment) inside(w window) bool {
	return m.surelyInside(w) || m.positionNearEdges(w) == insideWindow
}

// validity returns the deny reason of a certificate valid during w at this
// moment, or "".
func (m moment) validity(w window) string {
	if m.surelyInside(w) {
		return ""
	}
	switch m.positionNearEdges(w) {
	case beforeWindow:
		return ReasonNotYetValid
	case afterWindow:
		return ReasonExpired
	}
	return ""
}
