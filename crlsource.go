// crlsource.go: a CRL source (a file, or an http(s) URL named by the
// configuration or by a certificate's CRL distribution point): loaded at
// start, refreshed in the background, kept in Caddy's storage, shared by
// every configuration that names it (revocationSources in state.go), and
// asked whether a certificate is listed.

package clientcertificate

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// crlSource is one place CRLs come from, and the CRLs last read from it.
type crlSource struct {
	location   string // file path or URL
	isURL      bool
	settings   revocationSettings
	storage    certmagic.Storage // nil: not kept
	storageKey string
	logger     *zap.Logger
	now        func() time.Time

	current atomic.Pointer[crlGeneration]
	ready   chan struct{} // closed once data is in, or the first load failed
	// loads counts the reads of the file or fetches of the URL (tests: no
	// duplicate fetches across reloads).
	loads atomic.Int64
	// failures counts the loads that failed in a row.
	failures atomic.Int64
	// ownStore is when this source last stored its CRL (the storage's
	// Modified time, Unix nanoseconds): finding that copy in storage is not
	// news from another instance.
	ownStore atomic.Int64

	mu        sync.Mutex
	readyOnce sync.Once
	lastErr   string
	// issuers are copies of the CA certificates that verified this
	// source's CRLs: a refreshed CRL of the same CA must verify against
	// them before it replaces the last good one.
	issuers []*x509.Certificate
	// floors are the highest CRL numbers accepted from each issuer (by
	// name), among CRLs whose signature was verified.
	floors map[string]*big.Int

	cancel context.CancelFunc
	done   chan struct{}
}

// crlGeneration is the set of CRLs read from a source at one time.
type crlGeneration struct {
	lists  []*crlList
	digest [32]byte  // of the bytes they were read from
	loaded time.Time // when they were fetched (or stored by whoever fetched them)
}

// crlSourceKey names a source in revocationSources: the same location
// with the same settings that govern loading (stale_grace decides which
// CRLs a refresh keeps) is one source.
func crlSourceKey(loc string, s revocationSettings) string {
	return "crl\x00" + loc + "\x00" + s.refresh.String() + "\x00" + s.timeout.String() + "\x00" + strconv.FormatInt(s.maxCRLSize, 10) + "\x00" + s.staleGrace.String()
}

// crlStorageKey is where a URL's CRL is kept in Caddy's storage.
func crlStorageKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "client_certificate/crl/" + hex.EncodeToString(sum[:16]) + ".crl"
}

// newCRLSource loads loc and starts its refreshes. A file must load now;
// a URL is read from storage now and fetched in the background.
func newCRLSource(loc string, s revocationSettings, storage certmagic.Storage, logger *zap.Logger) (*crlSource, error) {
	src := &crlSource{
		location: loc,
		isURL:    strings.Contains(loc, "://"),
		settings: s,
		storage:  storage,
		logger:   logger.With(zap.String("crl", loc)),
		now:      time.Now,
		ready:    make(chan struct{}),
		floors:   make(map[string]*big.Int),
		done:     make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	src.cancel = cancel
	next := time.Duration(0)
	if src.isURL {
		src.storageKey = crlStorageKey(loc)
		if at, ok := src.loadStored(ctx); ok {
			next = src.nextRefresh(at)
		}
	} else {
		data, err := readCRLFile(loc, s.maxCRLSize)
		if err != nil {
			cancel()
			return nil, err
		}
		src.loads.Add(1)
		if err := src.accept(data, src.now(), nil); err != nil {
			cancel()
			return nil, err
		}
		next = src.nextRefresh(src.now())
	}
	go src.refreshLoop(ctx, next)
	return src, nil
}

// Destruct stops the refreshes; revocationSources calls it when the last
// configuration using the source is unloaded.
func (s *crlSource) Destruct() error {
	s.cancel()
	<-s.done
	return nil
}

func (s *crlSource) refreshLoop(ctx context.Context, next time.Duration) {
	defer close(s.done)
	timer := time.NewTimer(next)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		timer.Reset(s.refresh(ctx))
	}
}

// refresh reads the source again and returns when to do so next. A
// failure keeps the last good CRLs and is logged with its cause.
func (s *crlSource) refresh(ctx context.Context) time.Duration {
	started := s.now()
	if s.isURL {
		if at, ok := s.loadStored(ctx); ok {
			if next := s.nextRefresh(at); next > 0 {
				return next // another instance sharing the storage fetched it
			}
		}
	}
	data, err := s.read(ctx)
	if err == nil {
		err = s.accept(data, started, newPacer(refreshIdleFactor))
		if err == nil && s.isURL && s.storage != nil {
			s.store(ctx, data)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return time.Hour // unloading
		}
		s.fail(err)
		return s.retryAfter()
	}
	s.failures.Store(0)
	return s.nextRefresh(started)
}

// retryAfterFailure bounds the wait before a failed refresh is retried.
const retryAfterFailure = 30 * time.Second

// retryAfter is the wait before a failed load is retried: with data in
// use, min(refresh, retryAfterFailure); without any yet (every lookup is
// unknown meanwhile), from 1 s, doubling up to that.
func (s *crlSource) retryAfter() time.Duration {
	wait := min(s.settings.refresh, retryAfterFailure)
	if s.current.Load() == nil {
		wait = min(wait, time.Second<<min(s.failures.Load()-1, 5))
	}
	return wait
}

// store keeps data in storage, and remembers when, so that the refresh
// after it does not take its own copy for another instance's.
func (s *crlSource) store(ctx context.Context, data []byte) {
	if err := s.storage.Store(ctx, s.storageKey, data); err != nil {
		s.logger.Warn("client certificate revocation: could not keep the CRL in storage", zap.Error(err))
		return
	}
	if info, err := s.storage.Stat(ctx, s.storageKey); err == nil {
		s.ownStore.Store(info.Modified.UnixNano())
	}
}

// read fetches the URL, or reads the file.
func (s *crlSource) read(ctx context.Context) ([]byte, error) {
	s.loads.Add(1)
	if !s.isURL {
		return readCRLFile(s.location, s.settings.maxCRLSize)
	}
	return fetch(ctx, fetchRequest{
		url:     s.location,
		accept:  "application/pkix-crl",
		limit:   s.settings.maxCRLSize,
		timeout: s.settings.timeout,
	})
}

// loadStored adopts the copy in storage when it is newer than the CRLs in
// use, and reports when it was stored. What storage holds is checked like
// a fetch.
func (s *crlSource) loadStored(ctx context.Context) (time.Time, bool) {
	if s.storage == nil {
		return time.Time{}, false
	}
	info, err := s.storage.Stat(ctx, s.storageKey)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			s.logger.Warn("client certificate revocation: could not read the stored CRL", zap.Error(err))
		}
		return time.Time{}, false
	}
	if cur := s.current.Load(); cur != nil && (!info.Modified.After(cur.loaded) || info.Modified.UnixNano() == s.ownStore.Load()) {
		return cur.loaded, true
	}
	data, err := s.storage.Load(ctx, s.storageKey)
	if err != nil {
		return time.Time{}, false
	}
	var pace func()
	if s.current.Load() != nil {
		pace = newPacer(refreshIdleFactor) // a refresh; at start nothing is served yet
	}
	if err := s.accept(data, info.Modified, pace); err != nil {
		s.logger.Warn("client certificate revocation: stored CRL not used", zap.Error(err))
		return time.Time{}, false
	}
	return info.Modified, true
}

// nextRefresh is how long after now the CRLs loaded at loaded should be
// read again: at most refresh after loading, and at half of each CRL's
// thisUpdate..nextUpdate when that comes first. Zero when already due.
func (s *crlSource) nextRefresh(loaded time.Time) time.Duration {
	due := loaded.Add(s.settings.refresh)
	if cur := s.current.Load(); cur != nil {
		for _, l := range cur.lists {
			if l.nextUpdate.IsZero() {
				continue
			}
			if half := l.thisUpdate.Add(l.nextUpdate.Sub(l.thisUpdate) / 2); half.After(loaded) && half.Before(due) {
				due = half
			}
		}
	}
	return max(due.Sub(s.now()), 0)
}

// accept parses data and makes it the source's CRLs, unless it must not
// replace them: a CRL of a known issuer that does not verify, one with a
// lower number than already accepted, one older than the one in use, one
// from the future or, when there is data already, an expired one.
func (s *crlSource) accept(data []byte, loaded time.Time, pace func()) error {
	digest := digestPaced(data, pace)
	cur := s.current.Load()
	if cur != nil && cur.digest == digest {
		if loaded.After(cur.loaded) {
			s.current.Store(&crlGeneration{lists: cur.lists, digest: digest, loaded: loaded})
		}
		s.succeed()
		return nil
	}
	lists, err := parseCRLs(data, pace)
	if err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range lists {
		if l.thisUpdate.After(now.Add(crlClockSkew)) {
			return fmt.Errorf("CRL of %s is from the future (thisUpdate %s)", nameText(l.issuer), l.thisUpdate.UTC().Format(time.RFC3339))
		}
		if cur != nil && !l.nextUpdate.IsZero() && now.After(l.nextUpdate.Add(s.settings.staleGrace)) {
			return fmt.Errorf("CRL of %s expired at %s", nameText(l.issuer), l.nextUpdate.UTC().Format(time.RFC3339))
		}
		for _, issuer := range s.issuers {
			if bytes.Equal(issuer.RawSubject, l.issuer) {
				if err := l.verifyIssuer(issuer); err != nil {
					return fmt.Errorf("CRL of %s does not verify against the CA that signed the last one: %v", nameText(l.issuer), err)
				}
			}
		}
		if floor := s.floors[string(l.issuer)]; floor != nil && (l.number == nil || l.number.Cmp(floor) < 0) {
			return fmt.Errorf("CRL of %s has number %s, lower than %s already accepted", nameText(l.issuer), numberText(l.number), floor)
		}
		if cur != nil {
			for _, old := range cur.lists {
				if bytes.Equal(old.issuer, l.issuer) && bytes.Equal(old.authorityKeyID, l.authorityKeyID) && l.thisUpdate.Before(old.thisUpdate) {
					return fmt.Errorf("CRL of %s (thisUpdate %s) is older than the one in use (%s)", nameText(l.issuer),
						l.thisUpdate.UTC().Format(time.RFC3339), old.thisUpdate.UTC().Format(time.RFC3339))
				}
			}
		}
	}
	// A source whose CRLs have been used must go on covering their CAs: a
	// CRL of another CA in their place would leave those certificates
	// without a verdict.
	for _, issuer := range s.issuers {
		covered := false
		for _, l := range lists {
			covered = covered || bytes.Equal(issuer.RawSubject, l.issuer)
		}
		if !covered {
			return fmt.Errorf("no CRL of %s, whose CRLs this source served; got CRLs of %s", nameText(issuer.RawSubject), listIssuers(lists))
		}
	}
	for _, issuer := range s.issuers {
		for _, l := range lists {
			if bytes.Equal(issuer.RawSubject, l.issuer) {
				s.raiseFloor(l)
			}
		}
	}
	// Logged first: whoever sees the new CRLs in use finds them on record.
	for _, l := range lists {
		s.logger.Info("client certificate revocation: CRL loaded",
			zap.String("issuer", nameText(l.issuer)),
			zap.String("number", numberText(l.number)),
			zap.Int("entries", l.entries),
			zap.Time("this_update", l.thisUpdate),
			zap.Time("next_update", l.nextUpdate),
			zap.String("unsupported", l.unsupported))
	}
	s.current.Store(&crlGeneration{lists: lists, digest: digest, loaded: loaded})
	s.lastErr = ""
	s.readyOnce.Do(func() { close(s.ready) })
	return nil
}

func (s *crlSource) succeed() {
	s.mu.Lock()
	s.lastErr = ""
	s.mu.Unlock()
	s.readyOnce.Do(func() { close(s.ready) })
}

// fail records why the last load failed, and lets waiting lookups go.
func (s *crlSource) fail(err error) {
	s.failures.Add(1)
	s.mu.Lock()
	s.lastErr = err.Error()
	s.mu.Unlock()
	if s.current.Load() == nil {
		s.logger.Warn("client certificate revocation: CRL load failed; no CRL from this source yet, so the status of the certificates it covers is unknown",
			zap.Error(err), zap.Duration("retry_in", s.retryAfter()))
	} else {
		s.logger.Warn("client certificate revocation: CRL refresh failed; keeping the last good CRL", zap.Error(err))
	}
	// Last: lookups waiting for the first load go on once the failure is on
	// record.
	s.readyOnce.Do(func() { close(s.ready) })
}

// raiseFloor records l's number as the lowest acceptable from its issuer.
// The caller holds s.mu.
func (s *crlSource) raiseFloor(l *crlList) {
	if l.number == nil {
		return
	}
	if floor := s.floors[string(l.issuer)]; floor == nil || l.number.Cmp(floor) > 0 {
		s.floors[string(l.issuer)] = l.number
	}
}

// learn remembers that issuer verified l, so refreshed CRLs of that CA are
// checked against it before they replace l.
func (s *crlSource) learn(issuer *x509.Certificate, l *crlList) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.raiseFloor(l)
	for _, known := range s.issuers {
		if bytes.Equal(known.Raw, issuer.Raw) {
			return
		}
	}
	if len(s.issuers) < maxKnownIssuers {
		cp := *issuer
		s.issuers = append(s.issuers, &cp)
	}
}

// maxKnownIssuers bounds the CA certificates a source remembers.
const maxKnownIssuers = 16

// lookup says whether cert (issued by issuer, serial in canonical form) is
// revoked according to this source. named says the certificate named this
// source (a CRL distribution point), so it must cover it; otherwise a
// source of another CA's CRLs is no verdict (revocationNotChecked). When no
// data has arrived yet, it waits up to wait for the first load.
func (s *crlSource) lookup(cert *x509.Certificate, serial []byte, issuer *x509.Certificate, now time.Time, wait, grace time.Duration, named bool) revocationVerdict {
	unknown := func(format string, args ...any) revocationVerdict {
		return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: "CRL " + s.location + ": " + fmt.Sprintf(format, args...)}
	}
	gen := s.current.Load()
	if gen == nil && wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-s.ready:
		case <-t.C:
		}
		t.Stop()
		gen = s.current.Load()
	}
	if gen == nil {
		s.mu.Lock()
		why := s.lastErr
		s.mu.Unlock()
		if why == "" {
			why = "not loaded yet"
		}
		return unknown("not available: %s", why)
	}
	var problems []string
	for _, l := range gen.lists {
		if !bytes.Equal(l.issuer, cert.RawIssuer) || !l.covers(cert) {
			continue
		}
		if err := l.verifyIssuer(issuer); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		s.learn(issuer, l)
		if l.listed(serial) {
			return revocationVerdict{status: revocationRevoked, until: maxUnixNano,
				cause: fmt.Sprintf("serial %X is listed in the CRL of %s from %s (number %s)", cert.SerialNumber, nameText(l.issuer), s.location, numberText(l.number))}
		}
		switch {
		case l.unsupported != "":
			return unknown("cannot vouch for a certificate: %s", l.unsupported)
		case l.thisUpdate.After(now.Add(crlClockSkew)):
			return unknown("from the future (thisUpdate %s)", l.thisUpdate.UTC().Format(time.RFC3339))
		case l.nextUpdate.IsZero():
			return unknown("has no nextUpdate, so it is never current")
		case now.After(l.nextUpdate.Add(grace)):
			return unknown("expired at %s (stale_grace %s)", l.nextUpdate.UTC().Format(time.RFC3339), grace)
		}
		return revocationVerdict{status: revocationGood, until: unixNanos(l.nextUpdate.Add(grace))}
	}
	switch {
	case len(problems) > 0:
		return unknown("%s", strings.Join(problems, "; "))
	case named:
		return unknown("holds no CRL of %s covering the certificate", nameText(cert.RawIssuer))
	}
	return revocationVerdict{status: revocationNotChecked}
}

const maxUnixNano = 1<<63 - 1

// parseCRLs reads one DER CRL, or every CRL of a PEM file, pacing the work
// with pace when it is not nil (see parseCRLPaced).
func parseCRLs(data []byte, pace func()) ([]*crlList, error) {
	if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		l, err := parseCRLPaced(data, pace)
		if err != nil {
			return nil, err
		}
		return []*crlList{l}, nil
	}
	var lists []*crlList
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "X509 CRL" {
			return nil, fmt.Errorf("PEM block %d is %s, want X509 CRL", len(lists)+1, block.Type)
		}
		l, err := parseCRLPaced(block.Bytes, pace)
		if err != nil {
			return nil, fmt.Errorf("CRL %d of the PEM file: %v", len(lists)+1, err)
		}
		lists = append(lists, l)
	}
	if len(lists) == 0 {
		return nil, errors.New("no X509 CRL in the PEM data")
	}
	return lists, nil
}

// refreshIdleFactor is how long a background refresh rests for each moment
// of work while it reads a CRL: it takes at most 1/(1+refreshIdleFactor)
// of a CPU, so that refreshing a CRL of a million entries leaves the
// requests being served their throughput (BenchmarkKeepAliveDuringCRLRefresh).
const refreshIdleFactor = 9

// newPacer returns a pace function that, called between slices of work,
// sleeps factor times as long as the slice since the last call took.
func newPacer(factor int) func() {
	last := time.Now()
	return func() {
		time.Sleep(time.Duration(factor) * time.Since(last))
		last = time.Now()
	}
}

// digestPaced is the SHA-256 of data, hashed in slices between which pace
// (when not nil) is called.
func digestPaced(data []byte, pace func()) [32]byte {
	if pace == nil {
		return sha256.Sum256(data)
	}
	h := sha256.New()
	for len(data) > 0 {
		n := min(len(data), 1<<20)
		h.Write(data[:n])
		data = data[n:]
		pace()
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// nameText renders a DER name for logs.
func nameText(der []byte) string {
	if s := nameFactsOf(der).text; s != "" {
		return s
	}
	return fmt.Sprintf("%X", der)
}

func numberText(n *big.Int) string {
	if n == nil {
		return "none"
	}
	return n.String()
}

// listIssuers names the issuers of lists, for errors.
func listIssuers(lists []*crlList) string {
	names := make([]string, len(lists))
	for i, l := range lists {
		names[i] = nameText(l.issuer)
	}
	return strings.Join(names, ", ")
}
