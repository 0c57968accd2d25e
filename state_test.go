// state_test.go: the process-wide state of state.go: connection records
// leave with their certificates, facts are derived at most once per
// connection whatever the caches hold, only verified content of completed
// handshakes is shared, and no memo keeps a replaced policy alive. Tests
// look only at their own certificates, through the production lookups
// (which check that an entry still describes the certificate at its
// address), never at the maps.

package clientcertificate

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
	"weak"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// A connection's record leaves the table with its certificate: the table
// holds what live connections hold.
func TestConnectionRecordsLeaveWithTheirCertificates(t *testing.T) {
	s := pki(t)
	addrs := make([]uintptr, 100)
	func() {
		live := make([]*x509.Certificate, len(addrs))
		for i := range live {
			c := *s.Good.Cert // a distinct object, as each connection parses its own
			live[i] = &c
			connectionOf(&c, true)
			addrs[i] = uintptr(unsafe.Pointer(&c))
		}
		for i, c := range live {
			if _, ok := connections.lookup(c); !ok {
				t.Errorf("certificate %d has no record", i)
			}
		}
		runtime.KeepAlive(live)
	}()
	stale := func() int {
		n := 0
		for _, a := range addrs {
			if connections.staleAt(a) {
				n++
			}
		}
		return n
	}
	if !collectUntil(func() bool { return stale() == 0 }) {
		t.Fatalf("%d records remain after their certificates were collected", stale())
	}
}

// collectUntil runs the garbage collector until done reports true, for at
// most 10 seconds, and returns done's last answer.
func collectUntil(done func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !done() && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	return done()
}

// A record is found only for the very certificate object it was made for:
// once its certificate is collected, another object can live at the same
// address before the cleanup has removed the entry. The table here is the
// test's own, with such an entry put in place.
func TestConnectionLookupChecksTheCertificate(t *testing.T) {
	s := pki(t)
	table := connectionTable{m: make(map[uintptr]*connection)}
	a, b := *s.Good.Cert, *s.Other.Cert
	ca := table.register(&a, &connection{facts: factsOf(&a)})
	if c, ok := table.lookup(&a); !ok || c != ca {
		t.Fatal("the record of a live certificate is not found")
	}
	if again := table.register(&a, &connection{facts: factsOf(&a)}); again != ca {
		t.Error("a second request of the connection got a new record")
	}
	table.m[uintptr(unsafe.Pointer(&b))] = ca // a's record at b's address
	if c, ok := table.lookup(&b); ok {
		t.Fatalf("b found the record %p made for another certificate", c)
	}
	if cb := table.register(&b, &connection{facts: factsOf(&b)}); cb == ca || cb.facts.sha256 != *digestPtr(&b) {
		t.Error("registering b kept the record of another certificate")
	}
	runtime.KeepAlive(&a)
	runtime.KeepAlive(&b)
}

// A record never keeps its own leaf, or another record's, alive: a client
// can present its leaf again as an intermediate, and with certificates
// shared across resumed sessions two connections can present each other's
// leaves. The records must still leave with their certificates.
func TestRecordsHoldNoCertificateAlive(t *testing.T) {
	s := pki(t)
	var gone []weak.Pointer[x509.Certificate]
	var addrs []uintptr
	func() {
		pool := compiled(t, Policy{}, testpki.Pool(s.Root))
		issuers := compiled(t, Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Root.Cert)}}}, nil)
		self, a, b := *s.Good.Cert, *s.Good.Cert, *s.Other.Cert
		pool.evaluate([]*x509.Certificate{&self, &self}, nil, at(time.Now()), true)
		pool.evaluate([]*x509.Certificate{&a, &b}, nil, at(time.Now()), true)
		pool.evaluate([]*x509.Certificate{&b, &a}, nil, at(time.Now()), true)
		// TLS-verified chains whose CA certificates are other records' leaves.
		issuers.evaluate([]*x509.Certificate{&a}, [][]*x509.Certificate{{&a, &b, s.Root.Cert}}, at(time.Now()), true)
		issuers.evaluate([]*x509.Certificate{&b}, [][]*x509.Certificate{{&b, &a, s.Root.Cert}}, at(time.Now()), true)
		for _, c := range []*x509.Certificate{&self, &a, &b} {
			if conn, ok := connections.lookup(c); !ok || conn.verification.Load() == nil {
				t.Fatal("test setup: no verification memo")
			}
			gone = append(gone, weak.Make(c))
			addrs = append(addrs, uintptr(unsafe.Pointer(c)))
		}
	}()
	left := func() int {
		n := 0
		for i := range gone {
			if gone[i].Value() != nil || connections.staleAt(addrs[i]) {
				n++
			}
		}
		return n
	}
	if !collectUntil(func() bool { return left() == 0 }) {
		t.Fatalf("%d of 3 certificates (or their records) are still alive: a record keeps a certificate", left())
	}
}

// Intermediates are hashed, not given records: a client that sends many
// does not add to the table.
func TestIntermediatesGetNoRecord(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, testpki.Pool(s.Root))
	chain := presented(s.Good)
	inter := *chain[1] // a fresh parse, as on a new connection
	if d := p.evaluate([]*x509.Certificate{chain[0], &inter}, nil, at(time.Now()), true); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	if _, ok := connections.lookup(&inter); ok {
		t.Fatal("verifying the chain gave the intermediate a connection record")
	}
	runtime.KeepAlive(&inter)
}

// fillCaches puts as many live certificates in the connection table as
// the cap it used to have (16,384, reachable by a client holding that many
// idle connections), and fills the shared facts to their bound. It returns
// the certificates, which the caller keeps alive.
func fillCaches(t testing.TB) []*x509.Certificate {
	t.Helper()
	s := pki(t)
	share(connectionOf(s.Good.Cert, true).facts) // so the copies below find their facts
	live := make([]*x509.Certificate, 16384+10)
	for i := range live {
		c := *s.Good.Cert
		live[i] = &c
		connectionOf(&c, true)
	}
	for _, c := range live {
		if _, ok := connections.lookup(c); !ok {
			t.Fatal("a live connection has no record: the table has a cap")
		}
	}
	fillSharedFacts(s)
	return live
}

// fillSharedFacts shares the facts of more distinct certificates than the
// shared facts hold.
func fillSharedFacts(s *testpki.Set) {
	for i := 0; i < sharedFactsSize+10; i++ {
		c := *s.Good.Cert
		c.Raw = append(append([]byte(nil), c.Raw...), byte(i), byte(i>>8)) // distinct bytes, distinct digest
		share(factsOf(&c))
	}
}

// bigSelfSigned is a self-signed certificate of about 100 KB with 5,000
// DNS names: any client can present one, and nothing verifies it.
func bigSelfSigned(t testing.TB) *testpki.Leaf {
	t.Helper()
	names := make([]string, 5000)
	for i := range names {
		names[i] = "s" + strconv.Itoa(i) + ".stations.example"
	}
	leaf, err := testpki.SelfSigned(testpki.Options{Subject: pkix.Name{CommonName: "big"}, DNSNames: names})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Cert.Raw) < 100<<10 {
		t.Fatalf("test certificate is only %d bytes", len(leaf.Cert.Raw))
	}
	return leaf
}

// Per-request work stays bounded whatever the caches hold: with the
// connection table as full as a client can make it and the shared facts at
// their bound, a large unverified certificate is derived once for its
// connection, and every later request finds the same facts.
func TestFactsDerivedOncePerConnectionWithFullCaches(t *testing.T) {
	live := fillCaches(t)
	big := bigSelfSigned(t)
	p := compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(big.Cert)}}}, nil)
	peer := presented(big)
	first := p.evaluate(peer, nil, at(time.Now()), true)
	if !first.Allowed {
		t.Fatalf("denied: %s", first.Reason)
	}
	for i := range 3 {
		if d := p.evaluate(peer, nil, at(time.Now()), true); d.facts != first.facts {
			t.Fatalf("request %d derived the facts again", i+2)
		}
	}
	runtime.KeepAlive(live)
}

// Two parses of the same bytes (two connections of one client): once the
// chain is verified, the second finds the first's facts by content, while
// each connection keeps its own record.
func TestFactsAreSharedByContent(t *testing.T) {
	s := pki(t)
	a, b := *s.Good.Cert, *s.Good.Cert
	ca := connectionOf(&a, true)
	share(ca.facts)
	cb := connectionOf(&b, true)
	if ca.facts != cb.facts {
		t.Error("the same certificate bytes got facts derived twice")
	}
	if ca == cb {
		t.Error("two connections share one record")
	}
	if fo := factsOf(s.Other.Cert); fo == ca.facts || fo.sha256 == ca.facts.sha256 {
		t.Error("another certificate got the facts of station-042")
	}
	if ca.facts.sha256 != *digestPtr(s.Good.Cert) || ca.facts.thumbprintHex != sha1Hex(s.Good.Cert) {
		t.Errorf("facts describe %x, not station-042", ca.facts.sha256)
	}
	runtime.KeepAlive(&a)
	runtime.KeepAlive(&b)
}

// Only a certificate whose chain was verified (by TLS or by the policy's
// trust_pool), on a completed handshake, is shared: the shared facts
// outlive connections, and a client that proved nothing must not fill them.
func TestSharedFactsHoldOnlyVerifiedCertificatesOfCompletedHandshakes(t *testing.T) {
	s := pki(t)
	issue := func(cn string) *testpki.Leaf {
		l, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: cn}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	shared := func(l *testpki.Leaf) bool {
		_, ok := sharedFactsOf(digestPtr(l.Cert))
		return ok
	}
	pool := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"nobody"}}}, testpki.Pool(s.Root))
	pinOnly := compiled(t, Policy{AllowUnverified: true, Conditions: Conditions{Thumbprint: []string{sha1Hex(s.SelfSignedGood.Cert)}}}, nil)
	names := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"nobody"}}}, nil)

	untrusted := pool.evaluate(presented(s.SelfSignedGood), nil, at(time.Now()), true)
	pinned := pinOnly.evaluate(presented(s.SelfSignedGood), nil, at(time.Now()), true)
	if untrusted.Allowed || !pinned.Allowed || shared(s.SelfSignedGood) {
		t.Errorf("self-signed: allowed by trust_pool %v, by pin %v; shared %v (want false, true, false)",
			untrusted.Allowed, pinned.Allowed, shared(s.SelfSignedGood))
	}
	byPool := issue("shared-facts-pool")
	if d := pool.evaluate(presented(byPool), nil, at(time.Now()), true); !d.Verified || !shared(byPool) {
		t.Errorf("verified by trust_pool (%v): shared %v", d.Verified, shared(byPool))
	}
	byTLS := issue("shared-facts-tls")
	if d := names.Evaluate(state(byTLS, true, s.Root)); !d.Verified || !shared(byTLS) {
		t.Errorf("verified by TLS (%v): shared %v", d.Verified, shared(byTLS))
	}
	unverified := issue("shared-facts-unverified")
	names.Evaluate(state(unverified, false, nil))
	if shared(unverified) {
		t.Error("a chain nobody verified was shared")
	}
	beforeProof := issue("shared-facts-before-proof")
	if d := pool.evaluate(presented(beforeProof), tlsVerified(beforeProof, testpki.Pool(s.Root)), at(time.Now()), false); !d.Verified || shared(beforeProof) {
		t.Errorf("verified, before proof of possession (%v): shared %v", d.Verified, shared(beforeProof))
	}
}

func TestSharedFactsAreBounded(t *testing.T) {
	fillSharedFacts(pki(t))
	if n := sharedFacts.len(); n != sharedFactsSize {
		t.Fatalf("shared facts hold %d entries, want their bound %d", n, sharedFactsSize)
	}
}

// A large certificate, which any client can send, does not outlive its
// connection in the shared facts.
func TestSharedFactsSkipLargeCertificates(t *testing.T) {
	leaf := largeCertificate(t)
	share(factsOf(leaf.Cert))
	if _, ok := sharedFactsOf(digestPtr(leaf.Cert)); ok {
		t.Fatal("the facts of a large certificate were shared")
	}
}

// largeCertificate issues a leaf larger than the shared facts keep.
func largeCertificate(t testing.TB) *testpki.Leaf {
	t.Helper()
	leaf, err := pki(t).Intermediate.Issue(testpki.Options{DNSNames: manyNames(600)})
	if err != nil {
		t.Fatal(err)
	}
	if len(leaf.Cert.Raw) <= sharedFactsMaxCertBytes {
		t.Fatalf("test certificate is only %d bytes", len(leaf.Cert.Raw))
	}
	return leaf
}

func manyNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("station-%s-%c%d.stations.contoso-weather.example", strings.Repeat("x", 8), 'a'+i%26, i)
	}
	return out
}

// A policy replaced by a reload is not kept alive by the records of the
// connections it judged: memos name policies by id.
func TestMemosDoNotKeepPoliciesAlive(t *testing.T) {
	s := pki(t)
	leaf := *s.Good.Cert // the connection, alive throughout
	peer := append([]*x509.Certificate{&leaf}, s.Good.Chain...)
	var gone weak.Pointer[Policy]
	func() {
		p := compiled(t, Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, testpki.Pool(s.Root))
		if d := p.evaluate(peer, nil, at(time.Now()), true); !d.Allowed {
			t.Fatalf("denied: %s", d.Reason)
		}
		gone = weak.Make(p)
	}()
	conn, ok := connections.lookup(&leaf)
	if !ok || conn.verification.Load() == nil {
		t.Fatal("the connection has no verification memo")
	}
	if !collectUntil(func() bool { return gone.Value() == nil }) {
		t.Fatal("the policy is still alive: a connection's memo keeps it")
	}
	runtime.KeepAlive(&leaf)
}

// staleAt reports whether the entry at addr is of a collected certificate
// whose cleanup has not run yet.
func (t *connectionTable) staleAt(addr uintptr) bool {
	t.mu.RLock()
	c, ok := t.m[addr]
	t.mu.RUnlock()
	return ok && c.self.Value() == nil
}
