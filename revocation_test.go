// revocation_test.go: revocation checking with CRLs made at test time by
// x509.CreateRevocationList, from files and from an httptest server:
// verdicts, the rules that keep a refresh from turning a revoked
// certificate good, refreshes without reloads, the per-connection recheck,
// and Caddy's storage.

package clientcertificate

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// revocationPolicy compiles p with its revocation block, sources loaded,
// released when the test ends. Its log is returned.
func revocationPolicy(t testing.TB, p Policy, pool *x509.CertPool, storage certmagic.Storage) (*Policy, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	cp := compiled(t, p, pool)
	rc, err := newRevocationChecker(cp.Revocation, storage, zap.New(core))
	if err != nil {
		t.Fatalf("revocation: %v", err)
	}
	t.Cleanup(rc.release)
	cp.revocation = rc
	return cp, logs
}

// signedCRL returns a CRL signed by ca.
func signedCRL(t testing.TB, ca *testpki.CA, o testpki.CRLOptions) []byte {
	t.Helper()
	der, err := ca.CRL(o)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func pemCRLs(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: d})...)
	}
	return out
}

// waitsOnTheClock skips, under -short, a test that waits for real time to
// pass (a refresh interval, a fetch timeout, a handshake's deadline).
func waitsOnTheClock(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("waits on the clock: run without -short")
	}
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// freshConnection returns the leaf as a new connection would present it:
// a distinct certificate object, so no record of earlier decisions
// applies.
func freshConnection(t testing.TB, l *testpki.Leaf) []*x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(l.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return append([]*x509.Certificate{c}, l.Chain...)
}

// decideVerified decides on a fresh connection of l whose chain the TLS
// layer verified against root.
func decideVerified(t testing.TB, p *Policy, l *testpki.Leaf, root *testpki.CA) Decision {
	t.Helper()
	peer := freshConnection(t, l)
	chains := tlsVerifiedPeer(peer, testpki.Pool(root))
	if chains == nil {
		t.Fatalf("%s does not verify", l.Cert.Subject)
	}
	return p.evaluate(peer, chains, p.now(), true)
}

// tlsVerifiedPeer is tlsVerified for an already presented chain.
func tlsVerifiedPeer(peer []*x509.Certificate, roots *x509.CertPool) [][]*x509.Certificate {
	inter := x509.NewCertPool()
	for _, c := range peer[1:] {
		inter.AddCert(c)
	}
	chains, err := peer[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil
	}
	return chains
}

// deltaCRLIndicator marks a CRL as a delta on the base CRL numbered base.
func deltaCRLIndicator(t testing.TB, base int64) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(big.NewInt(base))
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: v}
}

var unknownCriticalExtension = pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 55555, 1}, Critical: true, Value: []byte{5, 0}}

// Verdicts of CRL files: who is listed, which CRLs count, and what is
// unknown.
func TestRevocationCRLFiles(t *testing.T) {
	s := pki(t)
	now := time.Now()
	listsOther := signedCRL(t, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}})
	rootRevokesIntermediate := signedCRL(t, s.Root, testpki.CRLOptions{Revoked: []*big.Int{s.Intermediate.Cert.SerialNumber}})
	rootGood := signedCRL(t, s.Root, testpki.CRLOptions{})
	expired := signedCRL(t, s.Intermediate, testpki.CRLOptions{ThisUpdate: now.Add(-3 * time.Hour), NextUpdate: now.Add(-time.Hour)})
	rogue := signedCRL(t, s.RogueRoot, testpki.CRLOptions{Revoked: []*big.Int{s.Good.Cert.SerialNumber}})
	critical := signedCRL(t, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}, ExtraExtensions: []pkix.Extension{unknownCriticalExtension}})
	hold := signedCRL(t, s.Intermediate, testpki.CRLOptions{Entries: []x509.RevocationListEntry{{SerialNumber: s.Good.Cert.SerialNumber, RevocationTime: now.Add(-time.Hour), ReasonCode: 6}}})

	type check struct {
		leaf       *testpki.Leaf
		reason     string // "" when allowed
		revocation string
		cause      string // a fragment of the cause, when revoked or unknown
	}
	cases := []struct {
		name   string
		crl    []byte
		config Revocation
		checks []check
	}{
		{"DER listing Other", listsOther, Revocation{}, []check{
			{s.Good, "", "good", ""},
			{s.Other, ReasonRevoked, "revoked", "is listed in the CRL of CN=Contoso Weather Issuing CA"},
		}},
		{"PEM listing Other", pemCRLs(listsOther), Revocation{}, []check{
			{s.Good, "", "good", ""},
			{s.Other, ReasonRevoked, "revoked", "is listed"},
		}},
		{"only another CA's CRL", rootGood, Revocation{}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "no CRL or OCSP source covers certificates of CN=Contoso Weather Issuing CA"},
		}},
		{"only another CA's CRL, on_unknown allow", rootGood, Revocation{OnUnknown: "allow"}, []check{
			{s.Good, "", "unknown", "no CRL or OCSP source covers"},
		}},
		{"expired CRL", expired, Revocation{}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "expired at"},
		}},
		{"expired CRL within stale_grace", expired, Revocation{StaleGrace: caddy.Duration(2 * time.Hour)}, []check{
			{s.Good, "", "good", ""},
		}},
		{"CRL in the Issuing CA's name signed by another key", rogue, Revocation{}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "authority key identifier"},
			{s.Other, ReasonRevocationUnknown, "unknown", ""},
		}},
		{"unknown critical extension", critical, Revocation{}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "cannot vouch for a certificate"},
			{s.Other, ReasonRevoked, "revoked", "is listed"},
		}},
		{"certificateHold", hold, Revocation{}, []check{
			{s.Good, ReasonRevoked, "revoked", "is listed"},
			{s.Other, "", "good", ""},
		}},
		{"check chain, intermediate revoked", pemCRLs(listsOther, rootRevokesIntermediate), Revocation{Check: "chain"}, []check{
			{s.Good, ReasonRevoked, "revoked", fmt.Sprintf("serial %X", s.Intermediate.Cert.SerialNumber)},
		}},
		{"check chain, both good", pemCRLs(listsOther, rootGood), Revocation{Check: "chain"}, []check{
			{s.Good, "", "good", ""},
			{s.Other, ReasonRevoked, "revoked", ""},
		}},
		{"check chain, no CRL of the root", listsOther, Revocation{Check: "chain"}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "no CRL or OCSP source covers certificates of CN=Contoso Weather Root CA"},
		}},
		{"check leaf ignores the revoked intermediate", pemCRLs(listsOther, rootRevokesIntermediate), Revocation{}, []check{
			{s.Good, "", "good", ""},
		}},
		// One source, two CRLs of one CA: every one is read, and one that
		// lists the certificate wins, whatever the order.
		{"an older CRL, then one listing Good", pemCRLs(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(1)}), signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(2), Revoked: []*big.Int{s.Good.Cert.SerialNumber}})), Revocation{}, []check{
			{s.Good, ReasonRevoked, "revoked", "(number 2)"},
			{s.Other, "", "good", ""},
		}},
		{"a base CRL, then a delta CRL listing Good", pemCRLs(signedCRL(t, s.Intermediate, testpki.CRLOptions{}), signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(2), Revoked: []*big.Int{s.Good.Cert.SerialNumber}, ExtraExtensions: []pkix.Extension{deltaCRLIndicator(t, 1)}})), Revocation{}, []check{
			{s.Good, ReasonRevoked, "revoked", "(number 2)"},
			{s.Other, "", "good", ""},
		}},
		{"only a delta CRL", signedCRL(t, s.Intermediate, testpki.CRLOptions{ExtraExtensions: []pkix.Extension{deltaCRLIndicator(t, 1)}}), Revocation{}, []check{
			{s.Good, ReasonRevocationUnknown, "unknown", "delta CRL"},
		}},
		{"an expired CRL, then a current one", pemCRLs(expired, listsOther), Revocation{}, []check{
			{s.Good, "", "good", ""},
			{s.Other, ReasonRevoked, "revoked", ""},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.config
			r.CRL = []string{writeTemp(t, "ca.crl", tc.crl)}
			for _, pool := range []bool{false, true} {
				var roots *x509.CertPool
				if pool {
					roots = testpki.Pool(s.Root)
				}
				p, _ := revocationPolicy(t, Policy{Revocation: &r, Conditions: Conditions{Issuer: []string{issuingCA}}}, roots, nil)
				for _, c := range tc.checks {
					var d Decision
					if pool {
						d = p.evaluate(freshConnection(t, c.leaf), nil, p.now(), true)
					} else {
						d = decideVerified(t, p, c.leaf, s.Root)
					}
					if d.Reason != c.reason || d.revocation.String() != c.revocation || !strings.Contains(d.revocationCause, c.cause) {
						t.Errorf("trust_pool %v, %s: reason %q revocation %q cause %q; want %q %q cause containing %q",
							pool, c.leaf.Cert.Subject.CommonName, d.Reason, d.revocation, d.revocationCause, c.reason, c.revocation, c.cause)
					}
					if d.Allowed != (c.reason == "") {
						t.Errorf("trust_pool %v, %s: allowed %v", pool, c.leaf.Cert.Subject.CommonName, d.Allowed)
					}
				}
			}
		})
	}
}

// Revocation needs the issuer, so it needs a verified chain: a pin alone,
// or allow_unverified, is not enough.
func TestRevocationNeedsAVerifiedChain(t *testing.T) {
	s := pki(t)
	file := writeTemp(t, "ca.crl", signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	for _, p := range []Policy{
		{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}},
		{AllowUnverified: true, Conditions: Conditions{Subject: []string{goodSubject}}},
	} {
		p.Revocation = &Revocation{CRL: []string{file}}
		cp, _ := revocationPolicy(t, p, nil, nil)
		if d := cp.evaluate(freshConnection(t, s.Good), nil, cp.now(), true); d.Allowed || d.Reason != ReasonUnverified {
			t.Errorf("unverified chain: allowed %v reason %q, want denied %q", d.Allowed, d.Reason, ReasonUnverified)
		}
		if d := decideVerified(t, cp, s.Good, s.Root); !d.Allowed || d.revocation != revocationGood {
			t.Errorf("verified chain: allowed %v reason %q revocation %q", d.Allowed, d.Reason, d.revocation)
		}
	}
}

// A CRL file that does not parse is a configuration error naming the file.
func TestRevocationBadCRLFileIsAConfigError(t *testing.T) {
	s := pki(t)
	for name, data := range map[string][]byte{
		"html":      []byte("<!DOCTYPE html><html><body>Not found</body></html>"),
		"empty":     nil,
		"truncated": signedCRL(t, s.Intermediate, testpki.CRLOptions{})[:100],
		"cert":      s.Good.CertPEM(),
	} {
		path := writeTemp(t, name+".crl", data)
		r := &Revocation{CRL: []string{path}}
		if _, err := newRevocationChecker(r, nil, zap.NewNop()); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming %s", name, err, path)
		}
	}
	missing := filepath.Join(t.TempDir(), "missing.crl")
	if _, err := newRevocationChecker(&Revocation{CRL: []string{missing}}, nil, zap.NewNop()); err == nil || !strings.Contains(err.Error(), "missing.crl") {
		t.Errorf("missing file: %v", err)
	}
}

// crlServer serves whatever CRL it is given, and counts requests.
type crlServer struct {
	*httptest.Server
	body     atomic.Pointer[[]byte]
	behave   atomic.Pointer[func(w http.ResponseWriter) bool] // true: handled
	requests atomic.Int64
}

func newCRLServer(t testing.TB, der []byte) *crlServer {
	cs := &crlServer{}
	cs.set(der)
	hang := make(chan struct{})
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.requests.Add(1)
		if b := cs.behave.Load(); b != nil && (*b)(w) {
			return
		}
		if r.URL.Query().Get("hang") != "" {
			<-hang
			return
		}
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(*cs.body.Load())
	}))
	t.Cleanup(func() { close(hang); cs.Close() })
	return cs
}

func (cs *crlServer) set(der []byte)                               { cs.body.Store(&der) }
func (cs *crlServer) misbehave(f func(w http.ResponseWriter) bool) { cs.behave.Store(&f) }

// waitFor polls cond until it holds or the deadline passes. It waits for
// an event (a background refresh); nothing is asserted on its duration.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A CRL at a URL is fetched in the background and refreshed without a
// reload: a certificate revoked at the CA is denied on new connections
// once the new CRL is fetched, and on a kept-alive connection once its
// verdict is rechecked.
func TestRevocationCRLURLRefresh(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(1)}))
	r := &Revocation{CRL: []string{srv.URL + "/ca.crl"}, Refresh: caddy.Duration(time.Second), Recheck: caddy.Duration(time.Second)}
	p, logs := revocationPolicy(t, Policy{Revocation: r}, nil, nil)

	kept := freshConnection(t, s.Good)
	keptChains := tlsVerifiedPeer(kept, testpki.Pool(s.Root))
	if d := p.evaluate(kept, keptChains, p.now(), true); !d.Allowed || d.revocation != revocationGood {
		t.Fatalf("before revocation: allowed %v reason %q cause %q", d.Allowed, d.Reason, d.revocationCause)
	}
	srv.set(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(2), Revoked: []*big.Int{s.Good.Cert.SerialNumber}}))
	waitFor(t, "a new connection to be denied", func() bool { return decideVerified(t, p, s.Good, s.Root).Reason == ReasonRevoked })
	waitFor(t, "the kept-alive connection to be denied", func() bool {
		return p.evaluate(kept, keptChains, p.now(), true).Reason == ReasonRevoked
	})
	if logs.FilterMessage("client certificate revocation: CRL loaded").Len() < 2 {
		t.Errorf("want a log entry per CRL loaded; got %v", logs.All())
	}
}

// The kept-alive verdict stands until recheck, and no longer: with the
// clock injected, the connection is allowed before recheck and denied
// after it.
func TestRevocationRecheckOnKeptAliveConnection(t *testing.T) {
	s := pki(t)
	path := writeTemp(t, "ca.crl", signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(1)}))
	r := &Revocation{CRL: []string{path}, Recheck: caddy.Duration(time.Minute * 5)}
	p, _ := revocationPolicy(t, Policy{Revocation: r}, nil, nil)
	clock := time.Now()
	p.now = func() moment { return at(clock) }
	p.revocation.now = func() time.Time { return clock }

	kept := freshConnection(t, s.Good)
	chains := tlsVerifiedPeer(kept, testpki.Pool(s.Root))
	if d := p.evaluate(kept, chains, p.now(), true); !d.Allowed {
		t.Fatalf("before: %q %q", d.Reason, d.revocationCause)
	}
	if err := os.WriteFile(path, signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(2), Revoked: []*big.Int{s.Good.Cert.SerialNumber}}), 0o600); err != nil {
		t.Fatal(err)
	}
	src := p.revocation.crls[0]
	src.refresh(context.Background(), false)
	clock = clock.Add(4 * time.Minute)
	if d := p.evaluate(kept, chains, p.now(), true); !d.Allowed {
		t.Errorf("within recheck: denied %q; the connection's verdict should stand", d.Reason)
	}
	clock = clock.Add(2 * time.Minute)
	if d := p.evaluate(kept, chains, p.now(), true); d.Reason != ReasonRevoked {
		t.Errorf("after recheck: reason %q, want %q", d.Reason, ReasonRevoked)
	}
}

// A refresh that brings something unusable keeps the last good CRLs, says
// why in the log, and never turns the revoked certificate good.
func TestRevocationRefreshRejects(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	now := time.Now()
	first := signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(10), ThisUpdate: now.Add(-time.Hour), Revoked: []*big.Int{s.Other.Cert.SerialNumber}})
	serve := func(der []byte) func(w http.ResponseWriter) bool {
		return func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "application/pkix-crl")
			_, _ = w.Write(der)
			return true
		}
	}
	big1 := make([]byte, 2<<20)
	cases := []struct {
		name   string
		behave func(w http.ResponseWriter) bool
		cause  string
	}{
		{"HTML page", func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Type", "text/html")
			_, _ = w.Write([]byte("<html><body>maintenance</body></html>"))
			return true
		}, "HTML page"},
		{"HTML page as a CRL", serve([]byte("<!DOCTYPE html><html></html>")), "HTML page"},
		{"truncated body", func(w http.ResponseWriter) bool {
			w.Header().Set("Content-Length", fmt.Sprint(len(first)))
			_, _ = w.Write(first[:len(first)/2])
			return true
		}, "unexpected EOF"},
		{"over max_crl_size", serve(big1), "over the limit"},
		{"404", func(w http.ResponseWriter) bool { http.NotFound(w, nil); return true }, "404 Not Found"},
		{"500", func(w http.ResponseWriter) bool { w.WriteHeader(500); return true }, "500 Internal Server Error"},
		{"signed by another CA in the issuer's name", serve(signedCRL(t, s.RogueRoot, testpki.CRLOptions{Number: big.NewInt(11)})), "no CRL of CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US signed by the key that signed the last one"},
		{"another CA's CRL", serve(signedCRL(t, s.OtherRoot, testpki.CRLOptions{Number: big.NewInt(11)})), "no CRL of CN=Contoso Weather Issuing CA"},
		{"expired", serve(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(11), ThisUpdate: now.Add(-3 * time.Hour), NextUpdate: now.Add(-2 * time.Hour)})), "expired at"},
		{"lower number", serve(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(9)})), "has number 9, lower than 10"},
		{"older", serve(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(11), ThisUpdate: now.Add(-2 * time.Hour)})), "older than the one in use"},
		{"from the future", serve(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(11), ThisUpdate: now.Add(time.Hour), NextUpdate: now.Add(2 * time.Hour)})), "from the future"},
		{"never answers", func(w http.ResponseWriter) bool { time.Sleep(3 * time.Second); return true }, "no answer from"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := newCRLServer(t, first)
			r := &Revocation{CRL: []string{srv.URL + "/ca.crl"}, Timeout: caddy.Duration(time.Second), MaxCRLSize: 1 << 20}
			p, logs := revocationPolicy(t, Policy{Revocation: r}, nil, nil)
			if d := decideVerified(t, p, s.Other, s.Root); d.Reason != ReasonRevoked {
				t.Fatalf("first CRL: %q %q", d.Reason, d.revocationCause)
			}
			srv.misbehave(tc.behave)
			p.revocation.crls[0].refresh(context.Background(), false)
			failures := logs.FilterMessage("client certificate revocation: CRL refresh failed; keeping the last good CRL").All()
			if len(failures) != 1 || !strings.Contains(fmt.Sprint(failures[0].ContextMap()["error"]), tc.cause) {
				t.Errorf("want one refresh failure logged with %q; got %v", tc.cause, failures)
			}
			if d := decideVerified(t, p, s.Other, s.Root); d.Reason != ReasonRevoked {
				t.Errorf("after the refresh: Other %q %q, want still revoked", d.Reason, d.revocationCause)
			}
			if d := decideVerified(t, p, s.Good, s.Root); !d.Allowed {
				t.Errorf("after the refresh: Good %q %q, want still good", d.Reason, d.revocationCause)
			}
		})
	}
}

// Until a URL's first CRL arrives, lookups wait for it, within the
// timeout; a URL that never answers leaves the status unknown.
func TestRevocationCRLURLUnreachable(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	srv := newCRLServer(t, nil)
	r := &Revocation{CRL: []string{srv.URL + "/ca.crl?hang=1"}, Timeout: caddy.Duration(time.Second)}
	p, _ := revocationPolicy(t, Policy{Revocation: r}, nil, nil)
	d := decideVerified(t, p, s.Good, s.Root)
	if d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "not available") {
		t.Errorf("reason %q cause %q", d.Reason, d.revocationCause)
	}
}

// A certificate's CRL distribution point is followed when crl_from_cdp is
// on: fetched once, shared by the certificates that name it.
func TestRevocationCRLFromCDP(t *testing.T) {
	s := pki(t)
	srv := newCRLServer(t, nil)
	url := srv.URL + "/issuing.crl"
	leaf := func(name string) *testpki.Leaf {
		l, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: name}, CRLDistributionPoints: []string{"ldap://ldap.example/cn=crl", url}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	good, revoked := leaf("cdp-good"), leaf("cdp-revoked")
	srv.set(signedCRL(t, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{revoked.Cert.SerialNumber}}))
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRLFromCDP: true}}, nil, nil)
	if d := decideVerified(t, p, good, s.Root); !d.Allowed {
		t.Errorf("good: %q %q", d.Reason, d.revocationCause)
	}
	if d := decideVerified(t, p, revoked, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("revoked: %q %q", d.Reason, d.revocationCause)
	}
	if n := srv.requests.Load(); n != 1 {
		t.Errorf("%d fetches of the distribution point, want 1", n)
	}
	// The standard leaves name no distribution point: nothing covers them.
	if d := decideVerified(t, p, s.Good, s.Root); d.Reason != ReasonRevocationUnknown {
		t.Errorf("no CDP: %q %q", d.Reason, d.revocationCause)
	}
}

// CRLs fetched from a URL are kept in Caddy's storage: a restart whose CRL
// server is down decides from them, after checking them again, and a
// second instance sharing the storage uses them instead of fetching.
func TestRevocationCRLStorage(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	url := srv.URL + "/ca.crl"
	r := Revocation{CRL: []string{url}}
	func() {
		p, _ := revocationPolicy(t, Policy{Revocation: &r}, nil, storage)
		if d := decideVerified(t, p, s.Other, s.Root); d.Reason != ReasonRevoked {
			t.Fatalf("first instance: %q %q", d.Reason, d.revocationCause)
		}
		// Kept once verified: the lookup that verified it asks for a read
		// that keeps it.
		waitFor(t, "the verified CRL to be kept in storage", func() bool { return storage.Exists(t.Context(), crlStorageKey(url)) })
		p.revocation.release()
	}()
	if _, ok := revocationSources.References(crlSourceKey(url, mustSettings(t, &r), storage)); ok {
		t.Fatal("the source outlived its configuration")
	}
	fetches := srv.requests.Load()
	srv.misbehave(func(w http.ResponseWriter) bool { w.WriteHeader(503); return true })
	p, _ := revocationPolicy(t, Policy{Revocation: &r}, nil, storage)
	if d := decideVerified(t, p, s.Other, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("from storage: Other %q %q", d.Reason, d.revocationCause)
	}
	if d := decideVerified(t, p, s.Good, s.Root); !d.Allowed {
		t.Errorf("from storage: Good %q %q", d.Reason, d.revocationCause)
	}
	if n := srv.requests.Load() - fetches; n != 0 {
		t.Errorf("%d fetches, want none: the stored CRL is fresh", n)
	}

	// What storage holds is checked as if fetched: a CRL in the issuer's
	// name signed by another key is not used.
	poisoned := &certmagic.FileStorage{Path: t.TempDir()}
	if err := poisoned.Store(context.Background(), crlStorageKey(url), signedCRL(t, s.RogueRoot, testpki.CRLOptions{})); err != nil {
		t.Fatal(err)
	}
	p2, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{url}, Refresh: caddy.Duration(2 * time.Hour)}}, nil, poisoned)
	if d := decideVerified(t, p2, s.Good, s.Root); d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "authority key identifier") {
		t.Errorf("poisoned storage: %q %q, want unknown from the CRL's key", d.Reason, d.revocationCause)
	}
}

func mustSettings(t testing.TB, r *Revocation) revocationSettings {
	t.Helper()
	s, err := r.compile()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Configuration errors name the field and what would be accepted.
func TestRevocationCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		r    Revocation
		want string
	}{
		{Revocation{}, "revocation: no source; give crl, crl_from_cdp or ocsp"},
		{Revocation{OCSP: true, Check: "all"}, `revocation.check: "all" is not leaf or chain`},
		{Revocation{OCSP: true, OnUnknown: "warn"}, `revocation.on_unknown: "warn" is not deny or allow`},
		{Revocation{OCSP: true, Refresh: caddy.Duration(time.Millisecond)}, "revocation.refresh: 1ms is shorter than 1s"},
		{Revocation{OCSP: true, StaleGrace: caddy.Duration(-time.Second)}, "revocation.stale_grace: -1s is negative"},
		{Revocation{CRL: []string{"ftp://example.com/ca.crl"}}, `revocation.crl[0] "ftp://example.com/ca.crl": want an http:// or https:// URL`},
		{Revocation{OCSPResponder: "ocsp.example.com"}, `revocation.ocsp_responder "ocsp.example.com": want an http:// or https:// URL`},
	} {
		if _, err := tc.r.compile(); err == nil || err.Error() != tc.want {
			t.Errorf("%+v: error %v, want %q", tc.r, err, tc.want)
		}
	}
}

// Loading a configuration never waits for the network: a CRL URL that
// never answers does not hold up Provision (so neither `caddy validate`
// nor a reload hangs on it). If it did, this test would not return.
func TestRevocationProvisionDoesNotWaitForTheNetwork(t *testing.T) {
	srv := newCRLServer(t, nil)
	r := &Revocation{CRL: []string{srv.URL + "/ca.crl?hang=1"}}
	rc, err := newRevocationChecker(r, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	rc.release()
}

// Until a URL's first CRL arrives, a request waits for it (within the
// timeout) rather than being denied.
func TestRevocationFirstFetchIsWaitedFor(t *testing.T) {
	s := pki(t)
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	release := make(chan struct{})
	srv.misbehave(func(w http.ResponseWriter) bool {
		<-release
		return false // then serve the CRL
	})
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{srv.URL + "/ca.crl"}, Timeout: caddy.Duration(5 * time.Second)}}, nil, nil)
	done := make(chan Decision)
	go func() { done <- decideVerified(t, p, s.Good, s.Root) }()
	waitFor(t, "the first fetch to start", func() bool { return srv.requests.Load() == 1 })
	close(release)
	if d := <-done; !d.Allowed || d.revocation != revocationGood {
		t.Errorf("allowed %v reason %q cause %q", d.Allowed, d.Reason, d.revocationCause)
	}
}

// A TLS handshake waits at most 2 s for a fetch; a request, the timeout.
func TestRevocationFetchWait(t *testing.T) {
	for _, tc := range []struct {
		timeout            time.Duration
		handshake, request time.Duration
	}{
		{5 * time.Second, 2 * time.Second, 5 * time.Second},
		{time.Second, time.Second, time.Second},
	} {
		rc := &revocationChecker{revocationSettings: revocationSettings{timeout: tc.timeout}}
		if got := rc.fetchWait(true); got != tc.handshake {
			t.Errorf("timeout %s, handshake: %s, want %s", tc.timeout, got, tc.handshake)
		}
		if got := rc.fetchWait(false); got != tc.request {
			t.Errorf("timeout %s, request: %s, want %s", tc.timeout, got, tc.request)
		}
	}
}

// A CRL whose issuingDistributionPoint names its partition covers only the
// certificates that name that partition; one for user certificates covers
// no CA certificate. Anything outside is not "good" by that CRL.
func TestRevocationPartitionedCRL(t *testing.T) {
	s := pki(t)
	const partition = "http://crl.contoso-weather.example/issuing.crl" // as crlIDPPoint names it
	inPartition, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: "in-partition"}, CRLDistributionPoints: []string{partition}})
	if err != nil {
		t.Fatal(err)
	}
	otherPartition, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: "other-partition"}, CRLDistributionPoints: []string{"http://crl.contoso-weather.example/issuing-2.crl"}})
	if err != nil {
		t.Fatal(err)
	}
	scoped := signedCRL(t, s.Intermediate, testpki.CRLOptions{ExtraExtensions: []pkix.Extension{crlIDP(true, crlIDPPoint)}})
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{writeTemp(t, "partition.crl", scoped)}}}, nil, nil)
	if d := decideVerified(t, p, inPartition, s.Root); !d.Allowed {
		t.Errorf("in the partition: %q %q", d.Reason, d.revocationCause)
	}
	for _, l := range []*testpki.Leaf{otherPartition, s.Good} {
		if d := decideVerified(t, p, l, s.Root); d.Reason != ReasonRevocationUnknown {
			t.Errorf("%s, outside the partition: %q %q, want unknown", l.Cert.Subject.CommonName, d.Reason, d.revocationCause)
		}
	}

	userOnly := signedCRL(t, s.Root, testpki.CRLOptions{ExtraExtensions: []pkix.Extension{crlIDP(true, func(b *cryptobyte.Builder) { crlIDPField(b, 1, 0xff) })}})
	issuing := signedCRL(t, s.Intermediate, testpki.CRLOptions{})
	chain, _ := revocationPolicy(t, Policy{Revocation: &Revocation{Check: "chain", CRL: []string{writeTemp(t, "chain.crl", pemCRLs(issuing, userOnly))}}}, nil, nil)
	if d := decideVerified(t, chain, s.Good, s.Root); d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "Root CA") {
		t.Errorf("intermediate against a user-certificates-only CRL: %q %q, want unknown", d.Reason, d.revocationCause)
	}
}

// A URL whose first load fails (the server not up yet, say) is retried
// within seconds, not after the refresh interval: meanwhile every lookup
// is unknown.
func TestRevocationFirstLoadFailureIsRetriedSoon(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	var first atomic.Bool
	srv.misbehave(func(w http.ResponseWriter) bool {
		if first.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	p, logs := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{srv.URL + "/ca.crl"}}}, nil, nil)
	if d := decideVerified(t, p, s.Good, s.Root); d.Reason != ReasonRevocationUnknown {
		t.Fatalf("after the failed first load: %q %q", d.Reason, d.revocationCause)
	}
	if n := logs.FilterMessageSnippet("no CRL from this source yet").Len(); n != 1 {
		t.Errorf("%d log entries saying there is no CRL yet, want 1: %v", n, logs.All())
	}
	// The refresh interval is an hour; the retry comes within seconds.
	waitFor(t, "the retried load", func() bool { return decideVerified(t, p, s.Good, s.Root).Allowed })
}

// The refresh after storing a CRL finds its own copy in storage and does
// not take it for another instance's (which would re-read and re-time it).
func TestRevocationOwnStoredCopyIsNotNews(t *testing.T) {
	s := pki(t)
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{srv.URL + "/ca.crl"}, Refresh: caddy.Duration(3 * time.Hour)}}, nil, storage)
	if d := decideVerified(t, p, s.Good, s.Root); !d.Allowed { // verifies the CRL
		t.Fatalf("%q %q", d.Reason, d.revocationCause)
	}
	src := p.revocation.crls[0]
	src.refresh(context.Background(), false)
	gen := src.current.Load()
	if _, ok := src.loadStored(context.Background()); !ok {
		t.Fatal("nothing in storage")
	}
	if src.current.Load() != gen {
		t.Error("the source re-read its own stored copy as news")
	}
}

// A CRL in the CA's name that the CA did not sign, fetched before any
// lookup could check it, neither counts nor locks the real one out: the
// lookup that finds it asks for a new read, and the real CRL, older though
// it is, replaces it.
func TestRevocationForgedFirstFetch(t *testing.T) {
	waitsOnTheClock(t)
	s := pki(t)
	now := time.Now()
	impostor := signedCRL(t, s.RogueRoot, testpki.CRLOptions{Number: big.NewInt(1000), ThisUpdate: now.Add(-time.Minute)})
	srv := newCRLServer(t, impostor)
	p, logs := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{srv.URL + "/ca.crl"}}}, nil, nil)
	if d := decideVerified(t, p, s.Other, s.Root); d.Reason != ReasonRevocationUnknown {
		t.Fatalf("with the impostor's CRL: %q %q", d.Reason, d.revocationCause)
	}
	srv.set(signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(3), ThisUpdate: now.Add(-time.Hour), Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	waitFor(t, "the real CRL", func() bool { return decideVerified(t, p, s.Other, s.Root).Reason == ReasonRevoked })
	if d := decideVerified(t, p, s.Good, s.Root); !d.Allowed {
		t.Errorf("Good with the real CRL: %q %q", d.Reason, d.revocationCause)
	}
	if n := logs.FilterMessageSnippet("refresh failed").Len(); n != 0 {
		t.Errorf("the real CRL was refused: %v", logs.FilterMessageSnippet("refresh failed").All())
	}
}

// A CRL is read again at half its life, at its nextUpdate at the latest,
// and, once past it, as often as after a failure.
func TestRevocationNextRefresh(t *testing.T) {
	s := pki(t)
	now := time.Now()
	for _, tc := range []struct {
		name       string
		this, next time.Duration // from now
		refresh    time.Duration
		atMost     time.Duration
		atLeast    time.Duration
	}{
		{"half its life", -time.Hour, 3 * time.Hour, 24 * time.Hour, time.Hour + time.Minute, time.Hour - time.Minute},
		{"refresh first", -time.Hour, 48 * time.Hour, time.Hour, time.Hour + time.Minute, time.Hour - time.Minute},
		{"half past: nextUpdate", -23 * time.Hour, 30 * time.Minute, 24 * time.Hour, 31 * time.Minute, 29 * time.Minute},
		{"expired: retry cadence", -25 * time.Hour, -time.Hour, 24 * time.Hour, retryAfterFailure, retryAfterFailure - time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeTemp(t, "ca.crl", signedCRL(t, s.Intermediate, testpki.CRLOptions{ThisUpdate: now.Add(tc.this), NextUpdate: now.Add(tc.next)}))
			src, err := newCRLSource(path, revocationSettings{refresh: tc.refresh, timeout: time.Second, maxCRLSize: 1 << 20}, nil, zap.NewNop())
			if err != nil {
				t.Fatal(err)
			}
			defer src.Destruct()
			if got := src.nextRefresh(time.Now()); got > tc.atMost || got < tc.atLeast {
				t.Errorf("next refresh in %s, want between %s and %s", got, tc.atLeast, tc.atMost)
			}
		})
	}
}

// idpExtension is an issuingDistributionPoint naming the partition uri.
func idpExtension(t testing.TB, uri string) pkix.Extension {
	t.Helper()
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes([]byte(uri)) })
			})
		})
	})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: b.BytesOrPanic()}
}

// The partitions of a CA in one file each keep their own CRL numbers: a
// refresh raising both is accepted, though one partition's number is below
// the other's.
func TestRevocationPartitionsRefreshOnTheirOwn(t *testing.T) {
	s := pki(t)
	const a, b = "http://crl.contoso-weather.example/a.crl", "http://crl.contoso-weather.example/b.crl"
	inB, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: "in-b"}, CRLDistributionPoints: []string{b}})
	if err != nil {
		t.Fatal(err)
	}
	bundle := func(na, nb int64, revokedInB ...*big.Int) []byte {
		return pemCRLs(
			signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(na), ExtraExtensions: []pkix.Extension{idpExtension(t, a)}}),
			signedCRL(t, s.Intermediate, testpki.CRLOptions{Number: big.NewInt(nb), Revoked: revokedInB, ExtraExtensions: []pkix.Extension{idpExtension(t, b)}}))
	}
	path := writeTemp(t, "partitions.crl", bundle(100, 5))
	p, logs := revocationPolicy(t, Policy{Revocation: &Revocation{CRL: []string{path}}}, nil, nil)
	if d := decideVerified(t, p, inB, s.Root); !d.Allowed {
		t.Fatalf("before: %q %q", d.Reason, d.revocationCause)
	}
	if err := os.WriteFile(path, bundle(101, 6, inB.Cert.SerialNumber), 0o600); err != nil {
		t.Fatal(err)
	}
	p.revocation.crls[0].refresh(context.Background(), false)
	if d := decideVerified(t, p, inB, s.Root); d.Reason != ReasonRevoked {
		t.Errorf("after the refresh: %q %q; log %v", d.Reason, d.revocationCause, logs.FilterMessageSnippet("refresh failed").All())
	}
}

// The waits of a whole chain share one deadline: under check chain, with
// the responder hanging, the leaf's lookup waits out the handshake's 2 s
// and the intermediate's finds no time left.
func TestRevocationChainSharesOneDeadline(t *testing.T) {
	waitsOnTheClock(t)
	// A PKI of its own: OCSP answers are cached process-wide by responder
	// URL, issuer and serial, and a later run of this test may get the same
	// port, so it must not present certificates an earlier run's fetch
	// (completed after that run ended) has answers for.
	s, err := testpki.Standard()
	if err != nil {
		t.Fatal(err)
	}
	var statuses ocspStatuses
	responder := newOCSPTestResponder(t, s.Intermediate, statuses.answer)
	sw := newOCSPSwitch(t, responder.URL)
	release := make(chan struct{})
	defer close(release)
	sw.hang.Store(&release)
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{OCSPResponder: sw.URL, Check: "chain", Timeout: caddy.Duration(10 * time.Second)}}, nil, nil)
	d := decideVerifiedHandshake(t, p, s.Good, s.Root)
	if d.Reason != ReasonRevocationUnknown || !strings.Contains(d.revocationCause, "within 2s") || !strings.Contains(d.revocationCause, "no time left") {
		t.Errorf("%q %q, want the leaf to wait 2s and the intermediate no longer", d.Reason, d.revocationCause)
	}
}

// A policy follows at most maxCDPSources distribution points: the one
// unused longest is let go (its source stopped once nothing uses it).
func TestRevocationCDPSourcesAreBounded(t *testing.T) {
	s := pki(t)
	srv := newCRLServer(t, signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	p, _ := revocationPolicy(t, Policy{Revocation: &Revocation{CRLFromCDP: true}}, nil, nil)
	rc := p.revocation
	var keys []string
	for i := range maxCDPSources + 1 {
		u := fmt.Sprintf("%s/%d.crl", srv.URL, i)
		l, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: fmt.Sprint("cdp-", i)}, CRLDistributionPoints: []string{u}})
		if err != nil {
			t.Fatal(err)
		}
		if d := decideVerified(t, p, l, s.Root); !d.Allowed {
			t.Fatalf("certificate %d: %q %q", i, d.Reason, d.revocationCause)
		}
		keys = append(keys, crlSourceKey(u, rc.revocationSettings, nil))
	}
	rc.mu.Lock()
	followed := len(rc.cdp)
	rc.mu.Unlock()
	if followed != maxCDPSources {
		t.Errorf("%d distribution points followed, want %d", followed, maxCDPSources)
	}
	if _, ok := revocationSources.References(keys[0]); ok {
		t.Error("the distribution point unused longest is still held")
	}
	if _, ok := revocationSources.References(keys[len(keys)-1]); !ok {
		t.Error("the newest distribution point is not held")
	}
}
