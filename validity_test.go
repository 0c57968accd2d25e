// validity_test.go: decisions at the edges of validity windows with a
// coarse clock that lags: the coarse reading is used only where it cannot
// change the answer.

package clientcertificate

import (
	"testing"
	"time"
)

func TestMomentPosition(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	until := from.Add(24 * time.Hour)
	for _, c := range []struct {
		name          string
		coarse, exact time.Time // exact zero: reading it fails the test
		want          int
	}{
		{"coarse past the end: certain, the real time is later still", until.Add(time.Millisecond), time.Time{}, afterWindow},
		{"coarse well inside", from.Add(time.Hour), time.Time{}, insideWindow},
		{"coarse inside, near the end, real time past it", until.Add(-50 * time.Millisecond), until.Add(50 * time.Millisecond), afterWindow},
		{"coarse inside, near the end, real time still inside", until.Add(-30 * time.Second), until.Add(-29 * time.Second), insideWindow},
		{"coarse before the start, real time inside", from.Add(-50 * time.Millisecond), from.Add(50 * time.Millisecond), insideWindow},
		{"coarse before the start, real time too", from.Add(-time.Hour), from.Add(-time.Hour + time.Millisecond), beforeWindow},
		{"both ends are part of the window", until, until, insideWindow},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := moment{coarse: unixNanos(c.coarse), exact: func() time.Time {
				if c.exact.IsZero() {
					t.Fatal("read the real clock where the coarse reading decides")
				}
				return c.exact
			}}
			if got := m.position(windowOf(from, until)); got != c.want {
				t.Fatalf("position = %d, want %d", got, c.want)
			}
		})
	}
}

// Times beyond int64 nanoseconds are clamped, and no difference overflows:
// a certificate that expired before 1678 is expired, one valid from before
// 1678 until 9999 (RFC 5280's "no expiry") is valid.
func TestMomentPositionFarFromNow(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		name        string
		from, until time.Time
		at          time.Time
		want        int
	}{
		{"expired in 1500", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC), now, afterWindow},
		{"valid from 1000 to 9999", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), now, insideWindow},
		{"valid from 9000", time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), now, beforeWindow},
		{"a moment before 1678, window up to 9999", now, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), beforeWindow},
	} {
		for _, exact := range []bool{false, true} {
			m := at(c.at)
			if exact {
				m.exact = func() time.Time { return c.at }
			}
			if got := m.position(windowOf(c.from, c.until)); got != c.want {
				t.Errorf("%s (exact clock %v): position = %d, want %d", c.name, exact, got, c.want)
			}
		}
	}
}

// require_unexpired never allows an expired certificate, nor holds out one
// that has just become valid, whatever the coarse clock's lag.
func TestRequireUnexpiredWithALaggingClock(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{RequireUnexpired: true, Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil)
	peer := presented(s.Good)
	lag := func(real time.Time) moment {
		return moment{coarse: unixNanos(real.Add(-200 * time.Millisecond)), exact: func() time.Time { return real }}
	}
	notBefore, notAfter := s.Good.Cert.NotBefore, s.Good.Cert.NotAfter
	for _, c := range []struct {
		name   string
		at     moment
		reason string
	}{
		{"just expired", lag(notAfter.Add(100 * time.Millisecond)), ReasonExpired},
		{"about to expire", lag(notAfter.Add(-100 * time.Millisecond)), ""},
		{"just valid", lag(notBefore.Add(100 * time.Millisecond)), ""},
		{"not yet valid", lag(notBefore.Add(-100 * time.Millisecond)), ReasonNotYetValid},
	} {
		if d := p.evaluate(peer, nil, c.at, true); d.Reason != c.reason || d.Allowed != (c.reason == "") {
			t.Errorf("%s: allowed=%v reason=%q, want reason %q", c.name, d.Allowed, d.Reason, c.reason)
		}
	}
}

func TestCoarseClockNeverRunsAhead(t *testing.T) {
	for range 50 {
		if c, now := coarseNow(), time.Now(); c > now.UnixNano() {
			t.Fatalf("coarse clock %v is ahead of the real time %v", time.Unix(0, c), now)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
