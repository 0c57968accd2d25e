// crlsource.go: a CRL source (a file, or an http(s) URL named by the
// configuration or by a certificate's CRL distribution point): loaded and
// refreshed in the background, kept in Caddy's storage once verified,
// shared by every configuration that names it (revocationSources in
// state.go), and asked whether a certificate is listed.

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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
)

// crlSource is one place CRLs come from, and the CRLs last read from it.
//
// A CRL is trusted only once the issuer certificate of a verified chain
// has checked its signature (crlList.verifyIssuer), and that happens at
// the first lookup that needs it. So a fetched CRL may be in use before it
// is verified; what keeps an unverified one from doing harm:
//   - a lookup never counts it (neither revoked nor good) unless it
//     verifies, and a lookup that finds one its CA did not sign asks for a
//     refresh from the source at once (kick);
//   - a refresh compares CRL numbers and thisUpdate only with verified CRLs,
//     so a forged CRL cannot lock the real one out;
//   - a refreshed CRL of a CA this source has seen must verify against it
//     before it replaces the last good one;
//   - only generations whose every CRL is verified go to storage, where
//     other instances would find them.
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
	// kick asks the refresh loop to read the source now, past storage:
	// sent when a lookup finds a CRL its CA did not sign, or verifies a
	// generation not kept in storage yet.
	kick chan struct{}
	// loads counts the reads of the file or fetches of the URL (tests: no
	// duplicate fetches across reloads).
	loads atomic.Int64
	// failures counts the loads that failed in a row.
	failures atomic.Int64
	// ownStore is when this source last stored its CRL (the storage's
	// Modified time, Unix nanoseconds): finding that copy in storage is not
	// news from another instance.
	ownStore atomic.Int64
	// known are copies of the CA certificates that verified this source's
	// CRLs (at most maxKnownIssuers): a refreshed CRL of one of them must
	// verify against it. Read without a lock; replaced under mu.
	known atomic.Pointer[[]*x509.Certificate]

	mu        sync.Mutex // guards lastErr, floors, and replacing known
	readyOnce sync.Once
	lastErr   string
	// floors are the highest CRL numbers accepted in each lineage
	// (crlList.lineage), among verified CRLs.
	floors map[string]*big.Int

	cancel context.CancelFunc
	done   chan struct{}
}

// crlGeneration is the set of CRLs read from a source at one time.
type crlGeneration struct {
	lists   []*crlList
	learned []atomic.Bool // per list: a lookup verified it and recorded its issuer
	digest  [32]byte      // of the bytes they were read from
	loaded  atomic.Int64  // when they were fetched (or stored by whoever fetched them), Unix nanoseconds
	stored  atomic.Bool   // they are in storage (kept there, or read from there)
}

func newGeneration(lists []*crlList, digest [32]byte, loaded time.Time) *crlGeneration {
	g := &crlGeneration{lists: lists, learned: make([]atomic.Bool, len(lists)), digest: digest}
	g.loaded.Store(unixNanos(loaded))
	return g
}

func (g *crlGeneration) loadedAt() time.Time { return time.Unix(0, g.loaded.Load()) }

// allVerified reports whether every CRL of the generation is verified.
func (g *crlGeneration) allVerified() bool {
	for _, l := range g.lists {
		if !l.verified() {
			return false
		}
	}
	return true
}

// crlSourceKey names a source in revocationSources: the same location,
// storage and settings that govern loading (stale_grace decides which CRLs
// a refresh keeps) make one source.
func crlSourceKey(loc string, s revocationSettings, storage certmagic.Storage) string {
	return "crl\x00" + loc + "\x00" + s.refresh.String() + "\x00" + s.timeout.String() + "\x00" +
		strconv.FormatInt(s.maxCRLSize, 10) + "\x00" + s.staleGrace.String() + "\x00" + storageIdentity(storage)
}

// storageIdentity names a storage: configurations loaded one after the
// other each get their own storage value, equal in what it names.
func storageIdentity(storage certmagic.Storage) string {
	if storage == nil {
		return "none"
	}
	if s, ok := storage.(fmt.Stringer); ok {
		return fmt.Sprintf("%T:%s", storage, s.String())
	}
	return fmt.Sprintf("%T", storage)
}

// crlStorageKey is where a URL's CRL is kept in Caddy's storage.
func crlStorageKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return "client_certificate/crl/" + hex.EncodeToString(sum[:16]) + ".crl"
}

// newCRLSource loads loc and starts its refreshes. A file must load now
// (a configuration error otherwise); a URL is read from storage, then
// fetched, by the refresh loop, so that nothing here waits.
func newCRLSource(loc string, s revocationSettings, storage certmagic.Storage, logger *zap.Logger) (*crlSource, error) {
	src := &crlSource{
		location: loc,
		isURL:    strings.Contains(loc, "://"),
		settings: s,
		storage:  storage,
		logger:   logger.With(zap.String("crl", loc)),
		now:      time.Now,
		ready:    make(chan struct{}),
		kick:     make(chan struct{}, 1),
		floors:   make(map[string]*big.Int),
		done:     make(chan struct{}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	src.cancel = cancel
	first := time.Duration(0)
	if src.isURL {
		src.storageKey = crlStorageKey(loc)
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
		first = src.nextRefresh(src.now())
	}
	go src.refreshLoop(ctx, first)
	return src, nil
}

// Destruct stops the refreshes; revocationSources calls it when the last
// configuration using the source is unloaded.
func (s *crlSource) Destruct() error {
	s.cancel()
	<-s.done
	return nil
}

// kickSpacing is the least time between two reads a kick asks for.
const kickSpacing = time.Second

func (s *crlSource) refreshLoop(ctx context.Context, next time.Duration) {
	defer close(s.done)
	timer := time.NewTimer(next)
	defer timer.Stop()
	fromStorage := s.isURL // a URL starts from what storage holds
	var lastRead time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.kick:
			if wait := kickSpacing - time.Since(lastRead); wait > 0 {
				timer.Reset(wait) // read again soon, not at once
				continue
			}
			fromStorage = false
		}
		lastRead = time.Now()
		timer.Reset(s.refresh(ctx, fromStorage))
		fromStorage = s.isURL
	}
}

// refresh reads the source again (first storage, when fromStorage, where
// another instance may have put newer CRLs) and returns when to do so
// next. A failure keeps the last good CRLs and is logged with its cause.
func (s *crlSource) refresh(ctx context.Context, fromStorage bool) time.Duration {
	started := s.now()
	if fromStorage {
		if at, ok := s.loadStored(ctx); ok {
			if next := s.nextRefresh(at); next > 0 {
				return next // fresh: someone sharing the storage fetched it
			}
		}
	}
	data, err := s.read(ctx)
	if err == nil {
		err = s.accept(data, started, newPacer(ctx, refreshIdleFactor))
	}
	if err != nil {
		if ctx.Err() != nil {
			return time.Hour // unloading
		}
		s.fail(err)
		return s.retryAfter()
	}
	s.failures.Store(0)
	if gen := s.current.Load(); s.isURL && s.storage != nil && !gen.stored.Load() && gen.allVerified() {
		s.store(ctx, gen, data)
	}
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
		wait = min(wait, time.Second<<min(max(s.failures.Load()-1, 0), 5))
	}
	return wait
}

// store keeps the verified generation gen, read from data, in storage, and
// remembers when, so that the refresh after it does not take its own copy
// for another instance's.
func (s *crlSource) store(ctx context.Context, gen *crlGeneration, data []byte) {
	if err := s.storage.Store(ctx, s.storageKey, data); err != nil {
		s.logger.Warn("client certificate revocation: could not keep the CRL in storage", zap.Error(err))
		return
	}
	gen.stored.Store(true)
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
	if cur := s.current.Load(); cur != nil && (!info.Modified.After(cur.loadedAt()) || info.Modified.UnixNano() == s.ownStore.Load()) {
		return cur.loadedAt(), true
	}
	data, err := s.storage.Load(ctx, s.storageKey)
	if err != nil {
		return time.Time{}, false
	}
	var pace func()
	if s.current.Load() != nil {
		pace = newPacer(ctx, refreshIdleFactor) // a refresh; at first nothing is decided without it
	}
	if err := s.accept(data, info.Modified, pace); err != nil {
		s.logger.Warn("client certificate revocation: stored CRL not used", zap.Error(err))
		return time.Time{}, false
	}
	s.current.Load().stored.Store(true)
	return info.Modified, true
}

// nextRefresh is how long after now the CRLs loaded at loaded should be
// read again: at most refresh after loading; at half of each CRL's
// thisUpdate..nextUpdate when that comes first, and at its nextUpdate at
// the latest; while a CRL is past its nextUpdate, as often as after a
// failure. Zero when already due.
func (s *crlSource) nextRefresh(loaded time.Time) time.Duration {
	now := s.now()
	due := loaded.Add(s.settings.refresh)
	if cur := s.current.Load(); cur != nil {
		for _, l := range cur.lists {
			switch {
			case l.nextUpdate.IsZero():
			case !now.Before(l.nextUpdate):
				due = minTime(due, now.Add(min(s.settings.refresh, retryAfterFailure)))
			default:
				if half := l.thisUpdate.Add(l.nextUpdate.Sub(l.thisUpdate) / 2); half.After(loaded) {
					due = minTime(due, half)
				}
				due = minTime(due, l.nextUpdate)
			}
		}
	}
	return max(due.Sub(now), 0)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// accept parses data and makes it the source's CRLs, unless it must not
// replace them: a CRL of a CA this source has seen that does not verify
// against it, a verified CRL with a lower number or an older thisUpdate
// than a verified one of its lineage, one from the future or, when there
// is data already, an expired one, or data that no longer covers a CA it
// covered.
func (s *crlSource) accept(data []byte, loaded time.Time, pace func()) error {
	digest := digestPaced(data, pace)
	cur := s.current.Load()
	if cur != nil && cur.digest == digest {
		if unixNanos(loaded) > cur.loaded.Load() {
			cur.loaded.Store(unixNanos(loaded))
		}
		s.succeed()
		return nil
	}
	lists, err := parseCRLs(data, pace)
	if err != nil {
		return err
	}
	now := s.now()
	known := s.knownIssuers()
	for _, l := range lists {
		name := crlNameForHumans(l.issuer)
		if l.thisUpdate.After(now.Add(crlClockSkew)) {
			return fmt.Errorf("CRL of %s is from the future (thisUpdate %s)", name, l.thisUpdate.UTC().Format(time.RFC3339))
		}
		if cur != nil && !l.nextUpdate.IsZero() && now.After(l.nextUpdate.Add(s.settings.staleGrace)) {
			return fmt.Errorf("CRL of %s expired at %s", name, l.nextUpdate.UTC().Format(time.RFC3339))
		}
		if err := verifyAgainstKnown(l, known); err != nil {
			return fmt.Errorf("CRL of %s does not verify against the CA that signed the last one: %v", name, err)
		}
		if cur != nil && l.verified() {
			for _, old := range cur.lists {
				if old.lineage() == l.lineage() && old.verified() && l.thisUpdate.Before(old.thisUpdate) {
					return fmt.Errorf("CRL of %s (thisUpdate %s) is older than the one in use (%s)", name,
						l.thisUpdate.UTC().Format(time.RFC3339), old.thisUpdate.UTC().Format(time.RFC3339))
				}
			}
		}
	}
	// A source whose CRLs have been used must go on serving, for each CA
	// key that signed them, a CRL that key signed: a CRL of another CA, or
	// one in the same CA's name under a key that does not verify, in their
	// place would leave those certificates without a verdict. (CAs that
	// change keys publish each key's CRL at its own distribution point.)
	for _, issuer := range known {
		if !slices.ContainsFunc(lists, func(l *crlList) bool { return l.mayHaveSigned(issuer) && l.verified() }) {
			return fmt.Errorf("no CRL of %s signed by the key that signed the last one; got CRLs of %s", crlNameForHumans(issuer.RawSubject), listIssuers(lists))
		}
	}
	s.mu.Lock()
	for _, l := range lists {
		if !l.verified() {
			continue
		}
		if floor := s.floors[l.lineage()]; floor != nil && (l.number == nil || l.number.Cmp(floor) < 0) {
			s.mu.Unlock()
			return fmt.Errorf("CRL of %s has number %s, lower than %s already accepted", crlNameForHumans(l.issuer), numberText(l.number), floor)
		}
	}
	for _, l := range lists {
		if l.verified() {
			s.raiseFloor(l)
		}
	}
	s.mu.Unlock()
	// Logged first: whoever sees the new CRLs in use finds them on record.
	for _, l := range lists {
		s.logger.Info("client certificate revocation: CRL loaded",
			zap.String("issuer", crlNameForHumans(l.issuer)),
			zap.String("number", numberText(l.number)),
			zap.Int("entries", l.entries),
			zap.Int("bytes", l.size),
			zap.Time("this_update", l.thisUpdate),
			zap.Time("next_update", l.nextUpdate),
			zap.Bool("verified", l.verified()),
			zap.String("unsupported", l.unsupported))
	}
	s.current.Store(newGeneration(lists, digest, loaded))
	s.succeed()
	return nil
}

// verifyAgainstKnown checks l against the CA certificates that verified
// this source's CRLs and could have signed it: it must verify against one
// of them. A CRL of a CA not met yet is left unverified.
func verifyAgainstKnown(l *crlList, known []*x509.Certificate) error {
	var lastErr error
	for _, issuer := range known {
		if !l.mayHaveSigned(issuer) {
			continue
		}
		if lastErr = l.verifyIssuer(issuer); lastErr == nil {
			return nil
		}
	}
	return lastErr
}

func (s *crlSource) knownIssuers() []*x509.Certificate {
	if k := s.known.Load(); k != nil {
		return *k
	}
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

// raiseFloor records l's number as the lowest acceptable in its lineage.
// The caller holds s.mu.
func (s *crlSource) raiseFloor(l *crlList) {
	if l.number == nil {
		return
	}
	if floor := s.floors[l.lineage()]; floor == nil || l.number.Cmp(floor) > 0 {
		s.floors[l.lineage()] = l.number
	}
}

// learn records that issuer verified the i-th CRL of gen: its number
// becomes the floor of its lineage, and issuer a CA whose refreshed CRLs
// must verify against it. A generation all verified and not in storage yet
// asks the loop for a read that will keep it. After the first time for a
// CRL, it costs one atomic load.
func (s *crlSource) learn(issuer *x509.Certificate, gen *crlGeneration, i int) {
	if gen.learned[i].Load() {
		return
	}
	s.mu.Lock()
	s.raiseFloor(gen.lists[i])
	known := s.knownIssuers()
	if !slices.ContainsFunc(known, func(k *x509.Certificate) bool { return bytes.Equal(k.Raw, issuer.Raw) }) && len(known) < maxKnownIssuers {
		cp := *issuer
		next := append(slices.Clip(known), &cp)
		s.known.Store(&next)
	}
	gen.learned[i].Store(true)
	s.mu.Unlock()
	if s.isURL && s.storage != nil && !gen.stored.Load() && gen.allVerified() {
		s.kickRefresh()
	}
}

// kickRefresh asks the refresh loop to read the source soon.
func (s *crlSource) kickRefresh() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// maxKnownIssuers bounds the CA certificates a source remembers.
const maxKnownIssuers = 16

// lookup says whether cert (issued by issuer, serial in canonical form) is
// revoked according to this source: revoked when a CRL its issuer signed
// lists it; good when none does and one of them is complete and current;
// else unknown. named says the certificate named this source (a CRL
// distribution point), so it must cover it; otherwise a source of other
// CAs' CRLs gives no verdict (revocationNotChecked). When no data has
// arrived yet, it waits for the first load until deadline.
func (s *crlSource) lookup(cert *x509.Certificate, serial []byte, issuer *x509.Certificate, now, deadline time.Time, grace time.Duration, named bool) revocationVerdict {
	unknown := func(format string, args ...any) revocationVerdict {
		return revocationVerdict{status: revocationUnknown, until: unixNanos(now.Add(unknownVerdictTTL)), cause: "CRL " + s.location + ": " + fmt.Sprintf(format, args...)}
	}
	gen := s.current.Load()
	if gen == nil && waitUntil(s.ready, deadline) {
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
	var good *crlList
	for i, l := range gen.lists {
		if !bytes.Equal(l.issuer, cert.RawIssuer) || !l.covers(cert) {
			continue
		}
		if err := l.verifyIssuer(issuer); err != nil {
			problems = append(problems, err.Error())
			s.kickRefresh() // the CA did not sign this: read the source again
			continue
		}
		s.learn(issuer, gen, i)
		if l.listed(serial) {
			return revocationVerdict{status: revocationRevoked, until: maxUnixNano,
				cause: fmt.Sprintf("serial %X is listed in the CRL of %s from %s (number %s)", cert.SerialNumber, crlNameForHumans(l.issuer), s.location, numberText(l.number))}
		}
		switch {
		case l.unsupported != "":
			problems = append(problems, "cannot vouch for a certificate: "+l.unsupported)
		case l.thisUpdate.After(now.Add(crlClockSkew)):
			problems = append(problems, "from the future (thisUpdate "+l.thisUpdate.UTC().Format(time.RFC3339)+")")
		case l.nextUpdate.IsZero():
			problems = append(problems, "has no nextUpdate, so it is never current")
		case now.After(l.nextUpdate.Add(grace)):
			problems = append(problems, fmt.Sprintf("expired at %s (stale_grace %s)", l.nextUpdate.UTC().Format(time.RFC3339), grace))
		case good == nil || l.nextUpdate.After(good.nextUpdate):
			good = l
		}
	}
	switch {
	case good != nil:
		return revocationVerdict{status: revocationGood, until: unixNanos(good.nextUpdate.Add(grace))}
	case len(problems) > 0:
		return unknown("%s", strings.Join(problems, "; "))
	case named:
		return unknown("holds no CRL of %s covering the certificate", crlNameForHumans(cert.RawIssuer))
	}
	return revocationVerdict{status: revocationNotChecked}
}

// waitUntil waits for ch to close until deadline (real time), and reports
// whether it did.
func waitUntil(ch <-chan struct{}, deadline time.Time) bool {
	select {
	case <-ch:
		return true
	default:
	}
	wait := time.Until(deadline)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}

const maxUnixNano = 1<<63 - 1

// parseCRLs reads one DER CRL, or every CRL of a PEM file (text around
// the blocks, as `openssl crl -text` writes it, is skipped), pacing the
// work with pace when it is not nil (see parseCRLPaced).
func parseCRLs(data []byte, pace func()) ([]*crlList, error) {
	if !bytes.Contains(data, []byte("-----BEGIN")) {
		l, err := parseCRLPaced(data, pace, true) // read for this call: never changed
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
		if block.Type != pemTypeCRL {
			return nil, fmt.Errorf("PEM block %d is %s, want %s", len(lists)+1, block.Type, pemTypeCRL)
		}
		l, err := parseCRLPaced(block.Bytes, pace, true)
		if err != nil {
			return nil, fmt.Errorf("CRL %d of the PEM file: %v", len(lists)+1, err)
		}
		lists = append(lists, l)
	}
	if len(lists) == 0 {
		return nil, errors.New("no " + pemTypeCRL + " in the PEM data")
	}
	return lists, nil
}

// refreshIdleFactor is how long a background refresh rests for each moment
// of work while it reads a CRL: it takes at most 1/(1+refreshIdleFactor)
// of a CPU, so that refreshing a CRL of a million entries leaves the
// requests being served their throughput (BenchmarkKeepAliveDuringCRLRefresh).
const refreshIdleFactor = 9

// newPacer returns a pace function that, called between slices of work,
// sleeps factor times as long as the slice since the last call took; once
// ctx is done (the source is being stopped), it no longer sleeps.
func newPacer(ctx context.Context, factor int) func() {
	last := time.Now()
	return func() {
		t := time.NewTimer(time.Duration(factor) * time.Since(last))
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
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
		names[i] = crlNameForHumans(l.issuer)
	}
	return strings.Join(names, ", ")
}
