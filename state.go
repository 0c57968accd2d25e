// state.go: everything the plugin keeps beyond the call that computed it.
// No other file declares mutable package-level state.

package clientcertificate

import (
	"crypto/x509"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

// What the plugin remembers, and the rules that keep it from being steered
// by clients:
//
//	connections   the record of each connection that a completed handshake
//	              brought to the handler or the matcher (see connection):
//	              the leaf's facts, the trust_pool verifications of up to
//	              maxVerifyMemos policies on the connection, and the digests
//	              of the CA certificates of its TLS-verified chains. Records
//	              hold other certificates only weakly: a record that held
//	              its own leaf, or another record's, would never leave.
//	  key         the address of the *x509.Certificate crypto/tls parsed for
//	              the connection's leaf: every request of a connection
//	              carries that same object.
//	  bound       one entry per live certificate object, and no cap: an
//	              entry goes when its certificate is collected, so the table
//	              holds what the live connections hold, and a connection's
//	              facts are derived at most once however many connections
//	              there are. An entry is a few hundred bytes plus about the
//	              size of the certificate's names.
//	  lifetime    the connection (until its certificate is collected).
//	  inserted by a decision on a completed handshake (the client proved it
//	              holds the key); the verifier, which runs before that
//	              proof, never inserts.
//	  why         per request, a decision is then a map lookup and compares.
//
//	sharedFacts   what a certificate's bytes yield (contentFacts).
//	  key         SHA-256 of the certificate.
//	  bound       sharedFactsSize entries, of certificates of at most
//	              sharedFactsMaxCertBytes; an arbitrary entry is evicted
//	              when full.
//	  lifetime    until evicted.
//	  inserted by a decision on a completed handshake whose chain was
//	              verified (by TLS or the policy's trust_pool): it outlives
//	              connections, so what it holds must be neither chosen by a
//	              client that proved nothing nor forged (a small certificate
//	              full of names yields many times its size in facts).
//	  why         a client's next connection parses its certificate anew;
//	              finding the facts by digest costs far less than deriving
//	              them (BenchmarkDeriveFacts).
//
//	Policy.verifyCache  (per policy, not process-wide) the results of the
//	              policy's own trust_pool path validation.
//	  key         SHA-256 over the digests of the presented chain.
//	  bound       verify_cache_size (default 4096); arbitrary eviction.
//	  lifetime    the policy; a result is used only inside its validity
//	              window (the chain's, or at most a minute for a failure,
//	              never past a presented certificate's NotBefore).
//	  inserted by a decision on a completed handshake.
//	  why         path validation costs signature checks.
//
//	coarseClock   the current time, refreshed every coarseClockResolution by
//	              one goroutine started on first use: one atomic load per
//	              request instead of a clock read. validity.go decides when
//	              it is too coarse.
//
//	policyIDs     numbers compiled policies, so that per-connection memos
//	              name a policy without keeping it alive after a reload.
//
//	revocationSources  the CRL sources (crlSource) in use: one per location
//	              and settings, whichever configurations name it.
//	  key         crlSourceKey: location, refresh, timeout, max_crl_size,
//	              stale_grace.
//	  bound       the sources the loaded configurations name, plus at most
//	              maxCDPSources distribution points per policy (CRLs named
//	              by certificates of verified chains).
//	  lifetime    reference-counted: a source is stopped (its refresh
//	              goroutine ends) when the last configuration using it is
//	              unloaded; a reload that keeps it neither stops nor
//	              fetches it again.
//	  inserted by Provision of a policy with a revocation block, and a
//	              decision meeting a new distribution point.
//	  why         CRLs are fetched off the request path and shared across
//	              reloads.
//
//	ocspAnswers   the verified OCSP answers, and the last failure, per
//	              responder, issuer key and serial.
//	  key         ocspKeyOf.
//	  bound       ocspAnswersSize entries; arbitrary eviction.
//	  lifetime    until evicted; an answer is used only while current.
//	  inserted by a revocation lookup of a certificate on a verified chain
//	              whose policy asks OCSP, the verifier's included: before
//	              the client proved it holds the key, but what is kept is
//	              the responder's signed word about a CA-issued
//	              certificate, true whoever presented it.
//	  why         a responder is asked once per certificate and answer
//	              lifetime, not per handshake.
//
//	ocspFlights   the OCSP fetches in progress, so that concurrent
//	              handshakes of one certificate share one fetch. Each lasts
//	              at most the policy's timeout.
//
//	decisionsTotal  the counters of caddy_client_certificate_decisions_total
//	              (metrics.go): one vector for the process, registered in
//	              the metrics registry of every configuration loaded, so
//	              that counts carry over reloads.
//	  key         module, result, reason, identity: the reasons are the
//	              closed set in the code and the identities names in the
//	              configurations, never anything a client sends.
//	  bound       the series the loaded configurations can produce.
//	  lifetime    decisionSeries counts the modules holding each series: a
//	              series is removed when the last configuration naming it is
//	              unloaded; a reload that keeps it keeps its count.
//	  inserted by Provision of a handler, matcher or verifier.
//	  why         rate() and alerts need every series from the start, and a
//	              decision must count with one atomic add.
//
// Nothing else outlives a call: the verifier computes what it needs for the
// handshake at hand and drops it (OCSP answers and distribution points
// aside, as said above), and a decision keeps its evidence on the stack or
// in the request's decision record.
var (
	connections = connectionTable{m: make(map[uintptr]*connection)}
	sharedFacts = newBoundedCache[[32]byte, *contentFacts](sharedFactsSize)
	coarseClock struct {
		once sync.Once
		now  atomic.Int64 // Unix nanoseconds
	}
	policyIDs atomic.Uint64

	revocationSources = caddy.NewUsagePool()
	ocspAnswers       = newBoundedCache[ocspKey, *ocspEntry](ocspAnswersSize)
	ocspFlights       = ocspFlightGroup{m: make(map[ocspKey]*ocspFlight)}

	decisionsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy",
		Subsystem: "client_certificate",
		Name:      "decisions_total",
		Help:      "Client certificate decisions by module (handler, matcher, verifier), result (allow, deny, would_deny), deny reason and configured identity name.",
	}, decisionLabels)
	decisionSeries = seriesTable{refs: make(map[seriesLabels]int)}
)

const (
	sharedFactsSize         = 4096
	sharedFactsMaxCertBytes = 8 << 10
	ocspAnswersSize         = 16384
)

// connectionTable maps the address of a connection's leaf certificate
// object to the connection's record. An address is just a number, so the
// table keeps no certificate alive; each record's weak pointer tells
// whether the certificate at that address is still the one the record was
// made for, and a cleanup removes the entry once the certificate is
// collected.
type connectionTable struct {
	mu sync.RWMutex
	m  map[uintptr]*connection
}

// lookup returns the record of the connection whose leaf is cert.
func (t *connectionTable) lookup(cert *x509.Certificate) (*connection, bool) {
	t.mu.RLock()
	c, ok := t.m[uintptr(unsafe.Pointer(cert))]
	t.mu.RUnlock()
	if ok && c.self.Value() == cert {
		return c, true
	}
	return nil, false
}

// register records c as the connection of cert and returns the record in
// the table: c, or the one a concurrent request of the same connection put
// there first.
func (t *connectionTable) register(cert *x509.Certificate, c *connection) *connection {
	addr := uintptr(unsafe.Pointer(cert))
	c.self = weak.Make(cert)
	t.mu.Lock()
	if old, ok := t.m[addr]; ok && old.self.Value() == cert {
		t.mu.Unlock()
		return old
	}
	// Either new, or the entry of a collected certificate whose cleanup has
	// not run yet: that cleanup will leave this entry alone.
	t.m[addr] = c
	t.mu.Unlock()
	runtime.AddCleanup(cert, t.forget, addr)
	return c
}

// forget drops the entry of a collected certificate, unless a new
// certificate at the same address has taken its place.
func (t *connectionTable) forget(addr uintptr) {
	t.mu.Lock()
	if c, ok := t.m[addr]; ok && c.self.Value() == nil {
		delete(t.m, addr)
	}
	t.mu.Unlock()
}

// share makes what a verified certificate's bytes yield available to the
// client's next connections. The caller has checked that the handshake
// completed and the chain was verified (see sharedFacts). Large
// certificates are never kept.
func share(f *contentFacts) {
	if !f.shareable || f.shared.Load() || !f.shared.CompareAndSwap(false, true) {
		return
	}
	sharedFacts.put(f.sha256, f)
}

// sharedFactsOf returns the shared facts of the certificate whose SHA-256
// is digest.
func sharedFactsOf(digest *[32]byte) (*contentFacts, bool) {
	return sharedFacts.get(*digest)
}

func newPolicyID() uint64 { return policyIDs.Add(1) }

// coarseClockResolution is how often the coarse clock is refreshed.
// Reading it is one atomic load instead of a clock read on every request
// (the largest cost of a decision on virtual machines); validity.go reads
// the exact clock whenever the difference could matter.
const coarseClockResolution = 100 * time.Millisecond

// coarseNow returns the current time as of the last refresh, in Unix
// nanoseconds. It never runs ahead of the real time.
func coarseNow() int64 {
	coarseClock.once.Do(func() {
		coarseClock.now.Store(time.Now().UnixNano())
		go func() {
			for t := range time.Tick(coarseClockResolution) {
				coarseClock.now.Store(t.UnixNano())
			}
		}()
	})
	return coarseClock.now.Load()
}
