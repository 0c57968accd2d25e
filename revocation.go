// revocation.go: the policy's revocation block (Revocation), compiled into
// a revocationChecker, and the decision it makes on a verified chain:
// good, revoked or unknown, from CRLs (crlsource.go) and OCSP
// (ocspcache.go). The per-connection memo that spares a lookup per request
// is here too.

package clientcertificate

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
)

// Deny reasons of revocation checking.
const (
	ReasonRevoked           = "revoked"            // a CRL or OCSP response of the issuer lists the certificate
	ReasonRevocationUnknown = "revocation_unknown" // the status could not be established and on_unknown is deny
)

// Revocation configures revocation checking of the certificates of the
// verified chain. It applies only on a verified chain (by the TLS layer or
// the policy's trust_pool), since it needs the issuer; without one the
// request is denied as unverified.
type Revocation struct {
	// CRLs to use: file paths, or http(s) URLs, PEM (several CRLs allowed)
	// or DER. URLs are fetched in the background and kept in Caddy's
	// storage; files are read again at every refresh.
	CRL []string `json:"crl,omitempty"`

	// Also use the http(s) CRL distribution points named in the
	// certificates.
	CRLFromCDP bool `json:"crl_from_cdp,omitempty"`

	// Ask OCSP: the responder named in the certificate's authority
	// information access, or OCSPResponder when set.
	OCSP bool `json:"ocsp,omitempty"`

	// The OCSP responder URL to ask instead of the certificate's. Implies
	// ocsp.
	OCSPResponder string `json:"ocsp_responder,omitempty"`

	// Which certificates are checked: "leaf" (default) or "chain" (the leaf
	// and every CA certificate below the trust anchor).
	Check string `json:"check,omitempty"`

	// What to do when the status cannot be established: "deny" (default,
	// fail closed) or "allow".
	OnUnknown string `json:"on_unknown,omitempty"`

	// Accept last-good data up to this long past its nextUpdate. Default: 0.
	StaleGrace caddy.Duration `json:"stale_grace,omitempty"`

	// Longest time between CRL refreshes; a CRL is refreshed earlier, at
	// half of its thisUpdate..nextUpdate. Default: 1h.
	Refresh caddy.Duration `json:"refresh,omitempty"`

	// How long a revocation result stands on a kept-alive connection
	// before it is looked up again (never past the data's nextUpdate).
	// Default: 5m.
	Recheck caddy.Duration `json:"recheck,omitempty"`

	// Time limit of one fetch. Default: 5s; an OCSP fetch a TLS handshake
	// waits for is cut at 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Largest CRL accepted, in bytes. Default: 64 MiB.
	MaxCRLSize int64 `json:"max_crl_size,omitempty"`
}

// Defaults and limits of the revocation block.
const (
	defaultRevocationRefresh = time.Hour
	defaultRevocationRecheck = 5 * time.Minute
	defaultRevocationTimeout = 5 * time.Second
	defaultMaxCRLSize        = 64 << 20
	// handshakeFetchLimit bounds how long a TLS handshake waits for a fetch.
	handshakeFetchLimit = 2 * time.Second
	// minRevocationDuration is the shortest refresh, recheck or timeout.
	minRevocationDuration = time.Second
	// unknownVerdictTTL bounds how long an unknown status stands on a
	// connection: the data may arrive any moment.
	unknownVerdictTTL = time.Second
	// maxCDPSources bounds the CRL distribution points one policy follows.
	maxCDPSources = 64
	// crlClockSkew is the clock difference tolerated on a CRL's thisUpdate.
	crlClockSkew = time.Minute
)

// revocationStatus is what revocation checking established.
type revocationStatus uint8

const (
	revocationNotChecked revocationStatus = iota // no revocation configured
	revocationGood
	revocationRevoked
	revocationUnknown
)

// revocationTexts are the {http.client_certificate.revocation} values,
// boxed once.
var revocationTexts = [...]any{"", "good", "revoked", "unknown"}

func (s revocationStatus) String() string { return revocationTexts[s].(string) }

// revocationVerdict is what revocation says about a chain, and until when
// it may be reused on the connection.
type revocationVerdict struct {
	status revocationStatus
	until  int64  // Unix nanoseconds
	cause  string // why revoked or unknown, for the debug log
}

// revocationSettings are the compiled values of a Revocation.
type revocationSettings struct {
	checkChain   bool
	allowUnknown bool
	staleGrace   time.Duration
	refresh      time.Duration
	recheck      time.Duration
	timeout      time.Duration
	maxCRLSize   int64
}

// revocationChecker decides on the revocation of a verified chain. It
// holds the sources the configuration named, and acquires CRL distribution
// points as certificates name them; all are released with the
// configuration (release).
type revocationChecker struct {
	revocationSettings
	crls          []*crlSource
	fromCDP       bool
	ocsp          bool
	ocspResponder string

	storage certmagic.Storage
	logger  *zap.Logger
	now     func() time.Time

	mu       sync.Mutex
	acquired map[string]int       // usage pool keys and how many references this configuration holds
	cdp      map[string]*cdpEntry // by URL
	released bool
}

// cdpEntry is a CRL distribution point a policy follows, and when it last
// served a lookup (for eviction when maxCDPSources are in use).
type cdpEntry struct {
	src  *crlSource
	key  string
	used atomic.Int64
}

// compile checks the block and compiles its values; sources are loaded by
// start.
func (r *Revocation) compile() (revocationSettings, error) {
	s := revocationSettings{
		staleGrace: time.Duration(r.StaleGrace),
		refresh:    durationOr(r.Refresh, defaultRevocationRefresh),
		recheck:    durationOr(r.Recheck, defaultRevocationRecheck),
		timeout:    durationOr(r.Timeout, defaultRevocationTimeout),
		maxCRLSize: r.MaxCRLSize,
	}
	if s.maxCRLSize == 0 {
		s.maxCRLSize = defaultMaxCRLSize
	}
	switch r.Check {
	case "", "leaf":
	case "chain":
		s.checkChain = true
	default:
		return s, fmt.Errorf("revocation.check: %q is not leaf or chain", r.Check)
	}
	switch r.OnUnknown {
	case "", "deny":
	case "allow":
		s.allowUnknown = true
	default:
		return s, fmt.Errorf("revocation.on_unknown: %q is not deny or allow", r.OnUnknown)
	}
	for name, d := range map[string]time.Duration{"refresh": s.refresh, "recheck": s.recheck, "timeout": s.timeout} {
		if d < minRevocationDuration {
			return s, fmt.Errorf("revocation.%s: %s is shorter than %s", name, d, minRevocationDuration)
		}
	}
	if s.staleGrace < 0 {
		return s, fmt.Errorf("revocation.stale_grace: %s is negative", s.staleGrace)
	}
	if s.maxCRLSize < 0 {
		return s, fmt.Errorf("revocation.max_crl_size: %d is negative", s.maxCRLSize)
	}
	if len(r.CRL) == 0 && !r.CRLFromCDP && !r.OCSP && r.OCSPResponder == "" {
		return s, errors.New("revocation: no source; give crl, crl_from_cdp or ocsp")
	}
	for i, loc := range r.CRL {
		if err := checkCRLLocation(loc); err != nil {
			return s, fmt.Errorf("revocation.crl[%d] %q: %v", i, loc, err)
		}
	}
	if r.OCSPResponder != "" {
		if err := checkFetchURL(r.OCSPResponder); err != nil {
			return s, fmt.Errorf("revocation.ocsp_responder %q: %v", r.OCSPResponder, err)
		}
	}
	return s, nil
}

func durationOr(d caddy.Duration, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return time.Duration(d)
}

// checkCRLLocation accepts an http(s) URL or a file path.
func checkCRLLocation(loc string) error {
	if loc == "" {
		return errors.New("empty; want a file path or an http(s) URL")
	}
	if strings.Contains(loc, "://") {
		return checkFetchURL(loc)
	}
	return nil
}

// checkFetchURL accepts absolute http and https URLs.
func checkFetchURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return errors.New("want an http:// or https:// URL")
	}
	return nil
}

// newRevocationChecker compiles r and loads its sources: CRL files are
// read and parsed now (an error names the file), CRL URLs are read from
// storage now and fetched in the background. Nothing here waits for the
// network, so `caddy validate` never hangs on an unreachable URL.
func newRevocationChecker(r *Revocation, storage certmagic.Storage, logger *zap.Logger) (*revocationChecker, error) {
	s, err := r.compile()
	if err != nil {
		return nil, err
	}
	rc := &revocationChecker{
		revocationSettings: s,
		fromCDP:            r.CRLFromCDP,
		ocsp:               r.OCSP || r.OCSPResponder != "",
		ocspResponder:      r.OCSPResponder,
		storage:            storage,
		logger:             logger,
		now:                time.Now,
		acquired:           make(map[string]int),
		cdp:                make(map[string]*cdpEntry),
	}
	for _, loc := range r.CRL {
		src, _, err := rc.acquireCRL(loc)
		if err != nil {
			rc.release()
			return nil, fmt.Errorf("revocation.crl %q: %v", loc, err)
		}
		rc.crls = append(rc.crls, src)
	}
	return rc, nil
}

// acquireCRL returns the shared source of loc, creating it if no
// configuration uses it yet, and its key. rc.mu is not held while a source
// is made: reading a CRL file takes time, and lookups take rc.mu.
func (rc *revocationChecker) acquireCRL(loc string) (*crlSource, string, error) {
	key := crlSourceKey(loc, rc.revocationSettings, rc.storage)
	rc.mu.Lock()
	released := rc.released
	rc.mu.Unlock()
	if released {
		return nil, "", errors.New("configuration unloaded")
	}
	v, _, err := revocationSources.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newCRLSource(loc, rc.revocationSettings, rc.storage, rc.logger)
	})
	if err != nil {
		return nil, "", err
	}
	rc.mu.Lock()
	if rc.released { // unloaded meanwhile: give it back at once
		rc.mu.Unlock()
		_, _ = revocationSources.Delete(key)
		return nil, "", errors.New("configuration unloaded")
	}
	rc.acquired[key]++
	rc.mu.Unlock()
	return v.(*crlSource), key, nil
}

// giveBack releases one reference to the source of key.
func (rc *revocationChecker) giveBack(key string) {
	rc.mu.Lock()
	if rc.acquired[key] == 0 {
		rc.mu.Unlock()
		return
	}
	rc.acquired[key]--
	rc.mu.Unlock()
	_, _ = revocationSources.Delete(key)
}

// release gives back the sources this configuration used; the last
// configuration to use a source stops its refreshes.
func (rc *revocationChecker) release() {
	rc.mu.Lock()
	keys := rc.acquired
	rc.acquired, rc.released = map[string]int{}, true
	rc.mu.Unlock()
	for k, n := range keys {
		for range n {
			_, _ = revocationSources.Delete(k)
		}
	}
}

// maxCDPsPerCertificate bounds the distribution points followed for one
// certificate.
const maxCDPsPerCertificate = 4

// cdpSources returns the sources of the first http(s) CRL distribution
// points of cert, acquiring those not seen yet. A policy follows at most
// maxCDPSources; beyond, the one that served a lookup longest ago is let
// go.
func (rc *revocationChecker) cdpSources(cert *x509.Certificate, now time.Time) ([]*crlSource, string) {
	var out []*crlSource
	var problem string
	for _, u := range cert.CRLDistributionPoints {
		if len(out) == maxCDPsPerCertificate {
			break
		}
		if checkFetchURL(u) != nil {
			continue
		}
		rc.mu.Lock()
		e, ok := rc.cdp[u]
		rc.mu.Unlock()
		if !ok {
			src, key, err := rc.acquireCRL(u)
			if err != nil {
				problem = fmt.Sprintf("CRL %s: %v", u, err)
				continue
			}
			e = rc.addCDP(u, &cdpEntry{src: src, key: key})
		}
		e.used.Store(unixNanos(now))
		out = append(out, e.src)
	}
	return out, problem
}

// addCDP records the distribution point u, evicting the least recently
// used one when maxCDPSources are followed, and returns the entry in use
// for u (another request may have added it first; then e is given back).
func (rc *revocationChecker) addCDP(u string, e *cdpEntry) *cdpEntry {
	var evicted *cdpEntry
	rc.mu.Lock()
	if prior, ok := rc.cdp[u]; ok {
		rc.mu.Unlock()
		rc.giveBack(e.key)
		return prior
	}
	if len(rc.cdp) >= maxCDPSources {
		var victim string
		for url, c := range rc.cdp {
			if evicted == nil || c.used.Load() < evicted.used.Load() {
				victim, evicted = url, c
			}
		}
		delete(rc.cdp, victim)
	}
	rc.cdp[u] = e
	rc.mu.Unlock()
	if evicted != nil {
		rc.giveBack(evicted.key)
	}
	return e
}

// check decides on chain (leaf first, trust anchor last), as verified.
// handshake says a TLS handshake is waiting.
func (rc *revocationChecker) check(chain []*x509.Certificate, handshake bool) revocationVerdict {
	now := rc.now()
	v := revocationVerdict{status: revocationGood, until: unixNanos(now.Add(rc.recheck))}
	if len(chain) < 2 {
		return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: "the verified chain has no issuer above the certificate"}
	}
	checked := 1
	if rc.checkChain {
		checked = len(chain) - 1
	}
	// One deadline for the whole chain: the waits of its certificates and
	// sources add up to at most fetchWait.
	deadline := time.Now().Add(rc.fetchWait(handshake))
	for i := range checked {
		one := rc.checkOne(chain[i], chain[i+1], now, deadline)
		switch one.status {
		case revocationRevoked:
			one.until = min(one.until, v.until)
			return one
		case revocationUnknown:
			cause := one.cause
			if rc.checkChain {
				cause = crlNameForHumans(chain[i].RawSubject) + ": " + cause
			}
			if v.status == revocationUnknown {
				cause = v.cause + "; " + cause
			}
			v.status, v.cause = revocationUnknown, cause
		}
		v.until = min(v.until, one.until)
	}
	return v
}

// checkOne decides on cert, issued by issuer: revoked if any source lists
// it, good if a current source covering it does not, unknown otherwise.
func (rc *revocationChecker) checkOne(cert, issuer *x509.Certificate, now, deadline time.Time) revocationVerdict {
	serial := serialBytes(cert.SerialNumber)
	good := revocationVerdict{status: revocationGood, until: unixNanos(now.Add(rc.recheck))}
	covered := false
	var causes []string
	consider := func(v revocationVerdict) bool {
		switch v.status {
		case revocationRevoked:
			return true
		case revocationGood:
			covered = true
			good.until = min(good.until, v.until)
		case revocationUnknown:
			causes = append(causes, v.cause)
		}
		return false
	}
	for _, src := range rc.crls {
		if v := src.lookup(cert, serial, issuer, now, deadline, rc.staleGrace, false); consider(v) {
			return v
		}
	}
	if rc.fromCDP {
		cdp, problem := rc.cdpSources(cert, now)
		if problem != "" {
			causes = append(causes, problem)
		}
		for _, src := range cdp {
			if v := src.lookup(cert, serial, issuer, now, deadline, rc.staleGrace, true); consider(v) {
				return v
			}
		}
	}
	if rc.ocsp {
		if v := rc.ocspStatus(cert, serial, issuer, now, deadline); consider(v) {
			return v
		}
	}
	if covered {
		return good
	}
	cause := "no CRL or OCSP source covers certificates of " + crlNameForHumans(issuer.RawSubject)
	if len(causes) > 0 {
		cause = strings.Join(causes, "; ")
	}
	return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: cause}
}

// fetchWait is how long a lookup waits for a fetch: the timeout, and at
// most handshakeFetchLimit when a TLS handshake is waiting.
func (rc *revocationChecker) fetchWait(handshake bool) time.Duration {
	if handshake {
		return min(rc.timeout, handshakeFetchLimit)
	}
	return rc.timeout
}

// revocationMemo remembers a verdict on a connection, for one policy.
type revocationMemo struct {
	policy  uint64
	verdict *revocationVerdict
}

// revocationOf returns the verdict on the connection's chain: its memo
// while it stands, else a lookup, remembered after a completed handshake.
// The memo is the per-request path: a few loads and compares.
func (p *Policy) revocationOf(conn *connection, chain []*x509.Certificate, at moment, proven bool) *revocationVerdict {
	memos := conn.revocation.Load()
	if memos != nil {
		for i := range *memos {
			if m := &(*memos)[i]; m.policy == p.id {
				if w := (window{from: minInt64, until: m.verdict.until}); at.surelyInside(w) || at.inside(w) {
					return m.verdict
				}
				break
			}
		}
	}
	v := p.revocation.check(chain, !proven)
	if proven {
		next := make([]revocationMemo, 1, maxVerifyMemos)
		next[0] = revocationMemo{policy: p.id, verdict: &v}
		if memos != nil {
			for _, o := range *memos {
				if o.policy != p.id && len(next) < maxVerifyMemos {
					next = append(next, o)
				}
			}
		}
		conn.revocation.Store(&next)
	}
	return &v
}

const minInt64 = -1 << 63

// applyRevocation turns an allow into a deny when the chain is revoked, or
// its status unknown under on_unknown deny. Revocation needs a verified
// chain; an allow without one (a pin, allow_unverified) is denied as
// unverified.
func (p *Policy) applyRevocation(d *Decision, conn *connection, chain []*x509.Certificate, at moment, proven bool) {
	if !d.Verified || len(chain) == 0 {
		d.Allowed, d.Identity, d.identityValue = false, "", nil
		d.Reason = ReasonUnverified
		return
	}
	v := p.revocationOf(conn, chain, at, proven)
	d.revocation = v.status
	if v.status == revocationGood {
		return
	}
	d.revocationCause = v.cause
	switch {
	case v.status == revocationRevoked:
		d.Reason = ReasonRevoked
	case v.status == revocationUnknown && !p.revocation.allowUnknown:
		d.Reason = ReasonRevocationUnknown
	default:
		return
	}
	d.Allowed, d.Identity, d.identityValue = false, "", nil
}

// copyChain returns shallow copies of chain's certificates: the same
// contents as new objects, so that keeping them (in a verification result
// a connection remembers) keeps none of the objects crypto/tls parsed for
// a connection alive.
func copyChain(chain []*x509.Certificate) []*x509.Certificate {
	out := make([]*x509.Certificate, len(chain))
	for i, c := range chain {
		cp := *c
		out[i] = &cp
	}
	return out
}

// readCRLFile reads a CRL file, refusing one larger than limit.
func readCRLFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if info, err := f.Stat(); err == nil && info.Mode().IsRegular() {
		if info.Size() > limit {
			return nil, fmt.Errorf("%d bytes, over the limit of %d bytes", info.Size(), limit)
		}
		// One allocation of the right size, rather than a doubling buffer
		// (a CRL can be tens of megabytes); the extra byte tells whether
		// the file grew meanwhile.
		data := make([]byte, info.Size()+1)
		n, err := io.ReadFull(f, data)
		switch {
		case err == nil:
			return nil, fmt.Errorf("the file grew while it was read; over %d bytes", info.Size())
		case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
			return data[:n:n], nil
		default:
			return nil, err
		}
	}
	return readLimited(f, limit)
}
