// ocspcache.go: asking OCSP responders, through the process-wide cache of
// verified answers (ocspAnswers in state.go) and Caddy's storage: one
// fetch at a time per certificate (ocspFlights), bounded by the timeout,
// refreshed in the background before an answer runs out.

package clientcertificate

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/ocsp"
)

// ocspKey names the answer of one responder about one certificate: the
// SHA-256 of the responder URL, the issuer's key and the serial.
type ocspKey [32]byte

func ocspKeyOf(responder string, issuer *x509.Certificate, serial []byte) ocspKey {
	h := sha256.New()
	h.Write([]byte(responder))
	h.Write([]byte{0})
	spki := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)
	h.Write(spki[:])
	h.Write(serial)
	var k ocspKey
	h.Sum(k[:0])
	return k
}

// ocspEntry is what is known of one certificate from one responder.
type ocspEntry struct {
	answer ocspAnswer
	has    bool // answer holds a verified answer
	// failure is why the last fetch failed, and retryAt when to try again:
	// a responder that is down is not asked on every request.
	failure string
	retryAt time.Time
}

// ocspMaxResponseBytes bounds an OCSP response (they are a few KiB).
const ocspMaxResponseBytes = 1 << 20

// ocspRetryAfterFailure is how long a failed fetch is not repeated.
const ocspRetryAfterFailure = 10 * time.Second

// ocspFlight is one fetch in progress; waiters read the result after done
// is closed.
type ocspFlight struct {
	done  chan struct{}
	entry *ocspEntry
}

// ocspFlightGroup runs one fetch at a time per key.
type ocspFlightGroup struct {
	mu sync.Mutex
	m  map[ocspKey]*ocspFlight
}

// start returns the flight for key, and whether the caller must run it.
func (g *ocspFlightGroup) start(key ocspKey) (*ocspFlight, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if f, ok := g.m[key]; ok {
		return f, false
	}
	f := &ocspFlight{done: make(chan struct{})}
	g.m[key] = f
	return f, true
}

func (g *ocspFlightGroup) finish(key ocspKey, f *ocspFlight, e *ocspEntry) {
	f.entry = e
	g.mu.Lock()
	delete(g.m, key)
	g.mu.Unlock()
	close(f.done)
}

// ocspResponderOf is the responder to ask about cert: the configured one,
// else the first http(s) responder of its authority information access.
func (rc *revocationChecker) ocspResponderOf(cert *x509.Certificate) string {
	if rc.ocspResponder != "" {
		return rc.ocspResponder
	}
	for _, u := range cert.OCSPServer {
		if checkFetchURL(u) == nil {
			return u
		}
	}
	return ""
}

// ocspStatus asks OCSP about cert: a cached answer while it is current
// (refreshed in the background from half its life), else storage, else a
// fetch, waited for until deadline.
func (rc *revocationChecker) ocspStatus(cert *x509.Certificate, serial []byte, issuer *x509.Certificate, now, deadline time.Time) revocationVerdict {
	responder := rc.ocspResponderOf(cert)
	if responder == "" {
		return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: "OCSP: the certificate names no http(s) responder"}
	}
	key := ocspKeyOf(responder, issuer, serial)
	e, ok := ocspAnswers.get(key)
	if !ok {
		if stored, ok := rc.loadOCSP(key, cert, issuer, now, deadline); ok {
			e = stored
			ocspAnswers.put(key, e)
		}
	}
	failedRecently := e != nil && e.failure != "" && now.Before(e.retryAt)
	if e != nil && e.has {
		if v, current := rc.ocspVerdict(e.answer, responder, now); current {
			if !now.Before(rc.ocspRefreshAt(e.answer)) && !failedRecently {
				rc.fetchOCSP(key, responder, cert, issuer) // in the background
			}
			return v
		}
	}
	if failedRecently {
		return rc.ocspUnknown(now, e.failure)
	}
	flight := rc.fetchOCSP(key, responder, cert, issuer)
	budget := time.Until(deadline)
	if !waitUntil(flight.done, deadline) {
		if budget <= 0 {
			return rc.ocspUnknown(now, "no time left to wait for "+responder)
		}
		return rc.ocspUnknown(now, fmt.Sprintf("no answer from %s within %s", responder, budget.Round(time.Second)))
	}
	e = flight.entry
	if e.has {
		if v, current := rc.ocspVerdict(e.answer, responder, rc.now()); current {
			return v
		}
	}
	return rc.ocspUnknown(now, e.failure)
}

func (rc *revocationChecker) ocspUnknown(now time.Time, cause string) revocationVerdict {
	return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: "OCSP: " + cause}
}

// ocspExpiry is when an answer stops being current: its nextUpdate plus
// stale_grace, or, when the responder gave no nextUpdate, recheck after
// its thisUpdate.
func (rc *revocationChecker) ocspExpiry(a ocspAnswer) time.Time {
	if a.nextUpdate.IsZero() {
		return a.thisUpdate.Add(rc.recheck)
	}
	return a.nextUpdate.Add(rc.staleGrace)
}

// ocspRefreshAt is when a current answer is fetched again in the
// background: half way through its life.
func (rc *revocationChecker) ocspRefreshAt(a ocspAnswer) time.Time {
	return a.thisUpdate.Add(rc.ocspExpiry(a).Sub(a.thisUpdate) / 2)
}

// ocspVerdict turns an answer into a verdict, and reports whether the
// answer is current at now.
func (rc *revocationChecker) ocspVerdict(a ocspAnswer, responder string, now time.Time) (revocationVerdict, bool) {
	expiry := rc.ocspExpiry(a)
	if now.After(expiry) {
		return revocationVerdict{}, false
	}
	switch a.status {
	case ocsp.Good:
		return revocationVerdict{status: revocationGood, until: unixNanos(expiry)}, true
	case ocsp.Revoked:
		return revocationVerdict{status: revocationRevoked, until: maxUnixNano,
			cause: fmt.Sprintf("OCSP responder %s says revoked at %s (reason %d)", responder, a.revokedAt.UTC().Format(time.RFC3339), a.reason)}, true
	}
	return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)),
		cause: "OCSP responder " + responder + " does not know the certificate"}, true
}

// fetchOCSP starts a fetch of the answer about cert unless one is in
// progress, and returns it. The fetch runs on its own, bounded by the
// timeout, and leaves its result in ocspAnswers and storage.
func (rc *revocationChecker) fetchOCSP(key ocspKey, responder string, cert, issuer *x509.Certificate) *ocspFlight {
	flight, leader := ocspFlights.start(key)
	if !leader {
		return flight
	}
	go func() {
		e := rc.fetchOCSPNow(key, responder, cert, issuer)
		ocspAnswers.put(key, e)
		ocspFlights.finish(key, flight, e)
	}()
	return flight
}

func (rc *revocationChecker) fetchOCSPNow(key ocspKey, responder string, cert, issuer *x509.Certificate) *ocspEntry {
	prior, _ := ocspAnswers.get(key)
	failed := func(err error) *ocspEntry {
		e := &ocspEntry{failure: err.Error(), retryAt: rc.now().Add(min(ocspRetryAfterFailure, rc.recheck))}
		if prior != nil && prior.has {
			e.answer, e.has = prior.answer, true // the last good answer stays until it runs out
		}
		rc.logger.Warn("client certificate revocation: OCSP fetch failed", zap.String("responder", responder), zap.Error(err))
		return e
	}
	req, err := ocspRequestFor(cert, issuer)
	if err != nil {
		return failed(err)
	}
	der, err := fetch(context.Background(), fetchRequest{
		url:         responder,
		body:        req,
		contentType: "application/ocsp-request",
		accept:      "application/ocsp-response",
		limit:       ocspMaxResponseBytes,
		timeout:     rc.timeout,
	})
	if err != nil {
		return failed(err)
	}
	a, err := checkOCSPResponse(der, cert, issuer, rc.now())
	if err != nil {
		return failed(fmt.Errorf("response of %s rejected: %v", responder, err))
	}
	if prior != nil && prior.has && a.thisUpdate.Before(prior.answer.thisUpdate) {
		return failed(fmt.Errorf("response of %s is older than the one in use", responder))
	}
	if rc.storage != nil {
		if err := rc.storage.Store(context.Background(), ocspStorageKey(key), der); err != nil {
			rc.logger.Warn("client certificate revocation: could not keep the OCSP response in storage", zap.Error(err))
		}
	}
	return &ocspEntry{answer: a, has: true}
}

// ocspStorageKey is where an OCSP response is kept in Caddy's storage.
func ocspStorageKey(k ocspKey) string {
	return "client_certificate/ocsp/" + hex.EncodeToString(k[:16]) + ".der"
}

// loadOCSP reads a kept response and verifies it as if just fetched; one
// past its nextUpdate is still accepted within stale_grace.
func (rc *revocationChecker) loadOCSP(key ocspKey, cert, issuer *x509.Certificate, now, deadline time.Time) (*ocspEntry, bool) {
	if rc.storage == nil {
		return nil, false
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	der, err := rc.storage.Load(ctx, ocspStorageKey(key))
	if err != nil {
		return nil, false
	}
	a, err := checkOCSPResponse(der, cert, issuer, now)
	if err != nil && rc.staleGrace > 0 {
		a, err = checkOCSPResponse(der, cert, issuer, now.Add(-rc.staleGrace))
	}
	if err != nil {
		rc.logger.Debug("client certificate revocation: stored OCSP response not used", zap.Error(err))
		return nil, false
	}
	return &ocspEntry{answer: a, has: true}, true
}
