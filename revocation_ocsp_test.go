// revocation_ocsp_test.go: revocation checking by OCSP, against the test
// responder of ocsp_test.go (responses made by ocsp.CreateResponse) behind
// a switch that can take it down: verdicts, the cache that spares the
// responder, one fetch for concurrent handshakes, the bounded wait, and
// Caddy's storage.

package clientcertificate

import (
	"bytes"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"golang.org/x/crypto/ocsp"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// ocspSwitch forwards to a responder unless it is down (503) or hanging
// (no answer until released or the test ends), and counts what it
// forwards.
type ocspSwitch struct {
	*httptest.Server
	down      atomic.Bool
	hang      atomic.Pointer[chan struct{}]
	attempts  atomic.Int64 // requests received
	forwarded atomic.Int64 // requests passed on to the responder
}

func newOCSPSwitch(t testing.TB, upstream string) *ocspSwitch {
	sw := &ocspSwitch{}
	done := make(chan struct{})
	sw.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw.attempts.Add(1)
		if h := sw.hang.Load(); h != nil {
			select {
			case <-*h:
			case <-done:
				return
			}
		}
		if sw.down.Load() {
			http.Error(w, "responder down", http.StatusServiceUnavailable)
			return
		}
		sw.forwarded.Add(1)
		body, _ := io.ReadAll(r.Body)
		resp, err := http.Post(upstream, "application/ocsp-request", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/ocsp-response")
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(func() { close(done); sw.Close() })
	return sw
}

// ocspLeaf issues a client certificate whose AIA names responder.
func ocspLeaf(t testing.TB, s *testpki.Set, name, responder string) *testpki.Leaf {
	t.Helper()
	l, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: name}, OCSPServer: []string{responder}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// ocspStatuses answers from a table of serials (good when not listed).
type ocspStatuses struct {
	mu sync.Mutex
	m  map[string]int
}

func (st *ocspStatuses) set(serial *big.Int, status int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.m == nil {
		st.m = make(map[string]int)
	}
	st.m[serial.String()] = status
}

func (st *ocspStatuses) answer(serial *big.Int) ocsp.Response {
	st.mu.Lock()
	defer st.mu.Unlock()
	now := time.Now()
	r := ocsp.Response{Status: st.m[serial.String()], ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(time.Hour)}
	if r.Status == ocsp.Revoked {
		r.RevokedAt, r.RevocationReason = now.Add(-time.Hour), ocsp.KeyCompromise
	}
	return r
}

func TestRevocationOCSP(t *testing.T) {
	s := pki(t)
	var statuses ocspStatuses
	responder := newOCSPTestResponder(t, s.Intermediate, statuses.answer)
	sw := newOCSPSwitch(t, responder.URL)
	leaf := func(name string, status int) *testpki.Leaf {
		l := ocspLeaf(t, s, name, sw.URL)
		statuses.set(l.Cert.SerialNumber, status)
		return l
	}
	good, revoked, unknown := leaf("ocsp-good", ocsp.Good), leaf("ocsp-revoked", ocsp.Revoked), leaf("ocsp-unknown", ocsp.Unknown)
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true, Timeout: caddy.Duration(time.Second)}}, nil, nil)

	for _, tc := range []struct {
		leaf   *testpki.Leaf
		reason string
		cause  string
	}{
		{good, "", ""},
		{revoked, ReasonRevoked, "says revoked at"},
		{unknown, ReasonRevocationUnknown, "does not know the certificate"},
		{s.Good, ReasonRevocationUnknown, "the certificate names no http(s) responder"},
	} {
		d := decideVerified(t, p, tc.leaf, s.Root)
		if d.Reason != tc.reason || !strings.Contains(d.revocationCause, tc.cause) {
			t.Errorf("%s: reason %q cause %q; want %q, cause containing %q", tc.leaf.Cert.Subject.CommonName, d.Reason, d.revocationCause, tc.reason, tc.cause)
		}
	}

	// A current answer is used without asking the responder: with it down,
	// the certificates it answered for are decided as before, at once.
	asked := sw.forwarded.Load()
	sw.down.Store(true)
	if d := decideVerified(t, p, good, s.Root); !d.Allowed {
		t.Errorf("good, responder down: %q %q", d.Reason, d.revocationCause)
	}
	if d := decideVerified(t, p, revoked, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("revoked, responder down: %q %q", d.Reason, d.revocationCause)
	}
	if sw.forwarded.Load() != asked {
		t.Errorf("the responder was asked although current answers were cached")
	}

	// A certificate never asked about: unknown, with the responder's
	// answer as the cause; the responder is not asked again at once.
	never := leaf("ocsp-never", ocsp.Good)
	d := decideVerified(t, p, never, s.Root)
	if d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "503") {
		t.Errorf("never asked, responder down: %q %q", d.Reason, d.revocationCause)
	}
	sw.down.Store(false)
	if d := decideVerified(t, p, never, s.Root); d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "503") {
		t.Errorf("right after the failure: %q %q, want the failure remembered", d.Reason, d.revocationCause)
	}
	if sw.forwarded.Load() != asked {
		t.Errorf("a failed responder was asked again within %s", ocspRetryAfterFailure)
	}

	// on_unknown allow lets the unknown through, saying so.
	allow, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true, OnUnknown: "allow"}}, nil, nil)
	if d := decideVerified(t, allow, unknown, s.Root); !d.Allowed || d.revocation != revocationUnknown {
		t.Errorf("on_unknown allow: allowed %v revocation %q", d.Allowed, d.revocation)
	}
	if d := decideVerified(t, allow, revoked, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("on_unknown allow, revoked: %q", d.Reason)
	}

	// A fixed responder replaces the certificate's.
	fixed, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSPResponder: responder.URL}}, nil, nil)
	statuses.set(s.Other.Cert.SerialNumber, ocsp.Revoked)
	if d := decideVerified(t, fixed, s.Good, s.Root); !d.Allowed {
		t.Errorf("fixed responder, Good: %q %q", d.Reason, d.revocationCause)
	}
	if d := decideVerified(t, fixed, s.Other, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("fixed responder, Other: %q %q", d.Reason, d.revocationCause)
	}
}

// Concurrent handshakes of one certificate share one fetch, and a
// handshake gives up waiting after 2 s whatever the timeout.
func TestRevocationOCSPFetchIsSharedAndBounded(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	var statuses ocspStatuses
	responder := newOCSPTestResponder(t, s.Intermediate, statuses.answer)
	sw := newOCSPSwitch(t, responder.URL)
	release := make(chan struct{})
	sw.hang.Store(&release)
	l := ocspLeaf(t, s, "ocsp-shared", sw.URL)
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true, Timeout: caddy.Duration(10 * time.Second)}}, nil, nil)
	v := &Verifier{Policy: *p}

	raw := rawChain(l)
	chains := tlsVerified(l, testpki.Pool(s.Root))
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- v.VerifyClientCertificate(raw, chains)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err == nil || !strings.Contains(err.Error(), ReasonRevocationUnknown) {
			t.Errorf("handshake while the responder hangs: %v", err)
		}
	}
	d := decideVerifiedHandshake(t, p, l, s.Root)
	if !strings.Contains(d.revocationCause, "within 2s") {
		t.Errorf("cause %q, want the 2 s handshake limit", d.revocationCause)
	}
	close(release)
	waitFor(t, "the shared fetch to complete", func() bool { return sw.forwarded.Load() == 1 })
	waitFor(t, "the answer to be cached", func() bool { return v.VerifyClientCertificate(raw, chains) == nil })
	if n := sw.forwarded.Load(); n != 1 {
		t.Errorf("%d fetches for 22 handshakes of one certificate, want 1", n)
	}
}

// decideVerifiedHandshake decides as the verifier does, before the
// handshake completes.
func decideVerifiedHandshake(t testing.TB, p *Policy, l *testpki.Leaf, root *testpki.CA) Decision {
	t.Helper()
	peer := freshConnection(t, l)
	return p.evaluate(peer, tlsVerifiedPeer(peer, testpki.Pool(root)), p.now(), false)
}

// OCSP responses are kept in Caddy's storage and verified again when read:
// a restarted Caddy decides from them while the responder is down.
func TestRevocationOCSPStorage(t *testing.T) {
	s := pki(t)
	var statuses ocspStatuses
	responder := newOCSPTestResponder(t, s.Intermediate, statuses.answer)
	l := ocspLeaf(t, s, "ocsp-stored", responder.URL)
	statuses.set(l.Cert.SerialNumber, ocsp.Revoked)
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true}}, nil, storage)
	if d := decideVerified(t, p, l, s.Root); d.Reason != ReasonRevoked {
		t.Fatalf("from the responder: %q %q", d.Reason, d.revocationCause)
	}
	chain := tlsVerified(l, testpki.Pool(s.Root))[0]
	key := ocspKeyOf(responder.URL, chain[1], serialBytes(l.Cert.SerialNumber))
	waitFor(t, "the response to be stored", func() bool { return storage.Exists(t.Context(), ocspStorageKey(key)) })

	restarted, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true}}, nil, storage)
	e, ok := restarted.revocation.loadOCSP(key, l.Cert, chain[1], time.Now(), time.Now().Add(time.Second))
	if !ok || e.answer.status != ocsp.Revoked {
		t.Fatalf("from storage: %+v %v", e, ok)
	}
	// Checked again when read: for another certificate, or from another
	// issuer's key, the stored bytes are refused.
	if _, ok := restarted.revocation.loadOCSP(key, s.Good.Cert, chain[1], time.Now(), time.Now().Add(time.Second)); ok {
		t.Error("a stored response was accepted for another certificate")
	}
	if _, ok := restarted.revocation.loadOCSP(key, l.Cert, s.RogueRoot.Cert, time.Now(), time.Now().Add(time.Second)); ok {
		t.Error("a stored response was accepted against another issuer key")
	}
}

// An answer past half its life is refreshed in the background; when that
// refresh fails, the responder is not asked again on every request.
func TestRevocationOCSPBackgroundRefreshBacksOff(t *testing.T) {
	s := pki(t)
	now := time.Now()
	responder := newOCSPTestResponder(t, s.Intermediate, func(*big.Int) ocsp.Response {
		// Past half its life already: every decision would refresh it.
		return ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(10 * time.Minute)}
	})
	sw := newOCSPSwitch(t, responder.URL)
	l := ocspLeaf(t, s, "ocsp-backoff", sw.URL)
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSP: true}}, nil, nil)
	if d := decideVerified(t, p, l, s.Root); !d.Allowed {
		t.Fatalf("first: %q %q", d.Reason, d.revocationCause)
	}
	sw.down.Store(true)
	before := sw.attempts.Load()
	for range 10 {
		if d := decideVerified(t, p, l, s.Root); !d.Allowed {
			t.Fatalf("with the current answer cached: %q %q", d.Reason, d.revocationCause)
		}
	}
	// One background refresh at most (others joined it or found it failed).
	waitFor(t, "the background refresh", func() bool { return sw.attempts.Load() > before })
	for range 10 {
		decideVerified(t, p, l, s.Root)
	}
	if n := sw.attempts.Load() - before; n != 1 {
		t.Errorf("%d requests to a failing responder for 20 decisions, want 1", n)
	}
}
