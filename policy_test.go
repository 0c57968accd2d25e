package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // thumbprints, as operators write them
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

var standardPKI = sync.OnceValues(testpki.Standard)

func pki(t testing.TB) *testpki.Set {
	t.Helper()
	s, err := standardPKI()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sha1Hex(c *x509.Certificate) string {
	d := sha1.Sum(c.Raw) //nolint:gosec
	return strings.ToUpper(hex.EncodeToString(d[:]))
}

func sha256Hex(c *x509.Certificate) string {
	d := sha256.Sum256(c.Raw)
	return hex.EncodeToString(d[:])
}

func spkiBase64(c *x509.Certificate) string {
	d := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(d[:])
}

// presented is what a client sends: the leaf, then its chain.
func presented(l *testpki.Leaf) []*x509.Certificate {
	return append([]*x509.Certificate{l.Cert}, l.Chain...)
}

// tlsVerified returns the chains crypto/tls would have verified against
// roots (as client_auth verify_if_given / require_and_verify do), or nil.
func tlsVerified(l *testpki.Leaf, roots *x509.CertPool) [][]*x509.Certificate {
	inter := x509.NewCertPool()
	for _, c := range l.Chain {
		inter.AddCert(c)
	}
	chains, err := l.Cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	if err != nil {
		return nil
	}
	return chains
}

func compiled(t testing.TB, p Policy, pool *x509.CertPool) *Policy {
	t.Helper()
	p.pool = pool
	if err := p.compile(); err != nil {
		t.Fatalf("compile: %v", err)
	}
	return &p
}

const goodSubject = "CN=station-042,OU=Stations,O=Contoso Weather,C=US"
const issuingCA = "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"

func TestPolicyDecisions(t *testing.T) {
	s := pki(t)
	roots := testpki.Pool(s.Root)
	goodSHA1 := sha1Hex(s.Good.Cert)

	type tc struct {
		name     string
		policy   Policy
		pool     *x509.CertPool // the policy's trust_pool
		leaf     *testpki.Leaf
		tlsRoots *x509.CertPool // non-nil: the TLS layer verified against these
		allowed  bool
		reason   string
		identity string
	}
	cases := []tc{
		// pins need no verification
		{name: "thumbprint pin, unverified", policy: Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}}}, leaf: s.Good, allowed: true},
		{name: "thumbprint pin sha256 lower", policy: Policy{Conditions: Conditions{Thumbprint: []string{sha256Hex(s.Good.Cert)}}}, leaf: s.Good, allowed: true},
		{name: "thumbprint pin, other cert", policy: Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}}}, leaf: s.Other, reason: "thumbprint_mismatch"},
		{name: "thumbprint pin, self-signed copy of subject", policy: Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}}}, leaf: s.SelfSignedGood, reason: "thumbprint_mismatch"},
		{name: "spki pin", policy: Policy{Conditions: Conditions{SPKI: []string{spkiBase64(s.Good.Cert)}}}, leaf: s.Good, allowed: true},
		{name: "spki pin, other key", policy: Policy{Conditions: Conditions{SPKI: []string{spkiBase64(s.Good.Cert)}}}, leaf: s.Other, reason: "spki_mismatch"},

		// names need a verified chain
		{name: "subject, unverified", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, leaf: s.Good, reason: ReasonUnverified},
		{name: "subject, self-signed, unverified", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, leaf: s.SelfSignedGood, reason: ReasonUnverified},
		{name: "empty policy, unverified", policy: Policy{}, leaf: s.Good, reason: ReasonUnverified},
		{name: "empty policy, TLS verified", policy: Policy{}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "subject, TLS verified", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "subject .NET form, TLS verified", policy: Policy{Conditions: Conditions{Subject: []string{"CN=station-042, OU=Stations, O=Contoso Weather, C=US"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "subject slash form, TLS verified", policy: Policy{Conditions: Conditions{Subject: []string{"/C=US/O=Contoso Weather/OU=Stations/CN=station-042"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "subject of another station", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, leaf: s.Other, tlsRoots: roots, reason: "subject_mismatch"},
		{name: "subject, allow_unverified (unsafe) lets a self-signed copy in", policy: Policy{AllowUnverified: true, Conditions: Conditions{Subject: []string{goodSubject}}}, leaf: s.SelfSignedGood, allowed: true},
		{name: "issuer, TLS verified", policy: Policy{Conditions: Conditions{Issuer: []string{issuingCA}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "comma CN never matches separate attributes", policy: Policy{Conditions: Conditions{Subject: []string{"CN=Contoso Weather,CN=Inc,O=Contoso Weather,C=US"}}}, leaf: s.CommaCN, tlsRoots: roots, reason: "subject_mismatch"},
		{name: "comma CN escaped", policy: Policy{Conditions: Conditions{Subject: []string{`CN=Contoso Weather\, Inc,O=Contoso Weather,C=US`}}}, leaf: s.CommaCN, tlsRoots: roots, allowed: true},
		{name: "comma CN quoted .NET form", policy: Policy{Conditions: Conditions{Subject: []string{`CN="Contoso Weather, Inc", O=Contoso Weather, C=US`}}}, leaf: s.CommaCN, tlsRoots: roots, allowed: true},
		{name: "common name case-insensitive", policy: Policy{Conditions: Conditions{CommonName: []string{"STATION-042"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "dns wildcard one label", policy: Policy{Conditions: Conditions{DNSName: []string{"*.stations.contoso-weather.example"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "dns wildcard too high", policy: Policy{Conditions: Conditions{DNSName: []string{"*.contoso-weather.example"}}}, leaf: s.Good, tlsRoots: roots, reason: "dns_name_mismatch"},
		{name: "email", policy: Policy{Conditions: Conditions{Email: []string{"station-042@CONTOSO-weather.example"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "uri prefix", policy: Policy{Conditions: Conditions{URI: []string{"spiffe://contoso-weather.example/stations/*"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "uri exact other", policy: Policy{Conditions: Conditions{URI: []string{"spiffe://contoso-weather.example/stations/007"}}}, leaf: s.Good, tlsRoots: roots, reason: "uri_mismatch"},
		{name: "ip cidr", policy: Policy{Conditions: Conditions{IP: []string{"10.42.0.0/24"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "ip outside", policy: Policy{Conditions: Conditions{IP: []string{"10.43.0.0/16"}}}, leaf: s.Good, tlsRoots: roots, reason: "ip_mismatch"},
		{name: "serial with colons and leading zeros", policy: Policy{Conditions: Conditions{Serial: []string{"00:" + colonHex(s.Good.Cert.SerialNumber.Bytes())}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "serial of another cert", policy: Policy{Conditions: Conditions{Serial: []string{s.Other.Cert.SerialNumber.Text(16)}}}, leaf: s.Good, tlsRoots: roots, reason: "serial_mismatch"},
		{name: "issuer_thumbprint intermediate", policy: Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "issuer_thumbprint root sha256", policy: Policy{Conditions: Conditions{IssuerThumbprint: []string{sha256Hex(s.Root.Cert)}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "issuer_thumbprint of the leaf itself does not count", policy: Policy{Conditions: Conditions{IssuerThumbprint: []string{goodSHA1}}}, leaf: s.Good, tlsRoots: roots, reason: "issuer_thumbprint_mismatch"},
		{name: "issuer_thumbprint unverified", policy: Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, leaf: s.Good, reason: ReasonUnverified},

		// the policy's own trust_pool
		{name: "trust_pool verifies", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, pool: roots, leaf: s.Good, allowed: true},
		{name: "trust_pool, rogue CA copying the issuer DN", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}, Issuer: []string{issuingCA}}}, pool: roots, leaf: s.FromRogueCA, reason: ReasonUntrusted},
		{name: "trust_pool, rogue chain presenting the real intermediate", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, pool: roots, leaf: s.RogueChain, reason: ReasonUntrusted},
		{name: "trust_pool, other CA", policy: Policy{}, pool: roots, leaf: s.FromOtherCA, reason: ReasonUntrusted},
		{name: "trust_pool, self-signed", policy: Policy{}, pool: roots, leaf: s.SelfSignedGood, reason: ReasonUntrusted},
		{name: "trust_pool, serverAuth-only EKU", policy: Policy{}, pool: roots, leaf: s.ServerAuthOnly, reason: ReasonUntrusted},
		{name: "trust_pool, expired", policy: Policy{}, pool: roots, leaf: s.Expired, reason: ReasonExpired},
		{name: "trust_pool, not yet valid", policy: Policy{}, pool: roots, leaf: s.NotYetValid, reason: ReasonNotYetValid},
		{name: "trust_pool narrower than TLS pool", policy: Policy{}, pool: testpki.Pool(s.OtherRoot), leaf: s.Good, tlsRoots: roots, reason: ReasonUntrusted},
		{name: "CA certificate as client", policy: Policy{}, pool: roots, leaf: s.CAAsClient, reason: ReasonCACertificate},
		{name: "CA certificate as client, TLS verified", policy: Policy{Conditions: Conditions{Subject: []string{issuingCA}}}, leaf: s.CAAsClient, tlsRoots: roots, reason: ReasonCACertificate},
		{name: "CA certificate pinned", policy: Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.CAAsClient.Cert)}}}, leaf: s.CAAsClient, tlsRoots: roots, allowed: true},

		// expiry at request time
		{name: "require_unexpired, expired pin", policy: Policy{RequireUnexpired: true, Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Expired.Cert)}}}, leaf: s.Expired, reason: ReasonExpired},
		{name: "require_unexpired, not yet valid pin", policy: Policy{RequireUnexpired: true, Conditions: Conditions{Thumbprint: []string{sha1Hex(s.NotYetValid.Cert)}}}, leaf: s.NotYetValid, reason: ReasonNotYetValid},
		{name: "expired pin without require_unexpired", policy: Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Expired.Cert)}}}, leaf: s.Expired, allowed: true},

		// AND / OR
		{name: "AND: all top-level conditions hold", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}, Issuer: []string{issuingCA}, CommonName: []string{"station-042"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "AND: one fails", policy: Policy{Conditions: Conditions{Subject: []string{goodSubject}, CommonName: []string{"station-007"}}}, leaf: s.Good, tlsRoots: roots, reason: "common_name_mismatch"},
		{name: "OR within a condition", policy: Policy{Conditions: Conditions{CommonName: []string{"station-007", "station-042"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		{name: "identities: second holds", policy: Policy{Identities: []Identity{
			{Name: "s7", Conditions: Conditions{CommonName: []string{"station-007"}}},
			{Name: "s42", Conditions: Conditions{CommonName: []string{"station-042"}, Issuer: []string{issuingCA}}},
		}}, leaf: s.Good, tlsRoots: roots, allowed: true, identity: "s42"},
		{name: "identities: none holds", policy: Policy{Identities: []Identity{
			{Name: "s7", Conditions: Conditions{CommonName: []string{"station-007"}}},
		}}, leaf: s.Good, tlsRoots: roots, reason: ReasonNoIdentity},
		{name: "identities: top-level AND identity", policy: Policy{Conditions: Conditions{Issuer: []string{"CN=Fabrikam Root CA,O=Fabrikam,C=US"}}, Identities: []Identity{
			{Name: "s42", Conditions: Conditions{CommonName: []string{"station-042"}}},
		}}, leaf: s.Good, tlsRoots: roots, reason: "issuer_mismatch"},
		{name: "identities unverified: only the pinned one counts", policy: Policy{Identities: []Identity{
			{Name: "by-name", Conditions: Conditions{CommonName: []string{"station-042"}}},
			{Name: "by-pin", Conditions: Conditions{Thumbprint: []string{goodSHA1}}},
		}}, leaf: s.Good, allowed: true, identity: "by-pin"},
		{name: "identities unverified: names skipped", policy: Policy{Identities: []Identity{
			{Name: "by-name", Conditions: Conditions{CommonName: []string{"station-042"}}},
			{Name: "by-pin", Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Other.Cert)}}},
		}}, leaf: s.Good, reason: ReasonUnverified},
		{name: "top-level pin makes identity names trustworthy", policy: Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}}, Identities: []Identity{
			{Name: "s42", Conditions: Conditions{CommonName: []string{"station-042"}}},
		}}, leaf: s.Good, allowed: true, identity: "s42"},
	}
	// Whoever holds a pinned key can mint a certificate with any names.
	mintedAdmin, err := testpki.SelfSigned(testpki.Options{Key: s.Good.Key, Subject: pkix.Name{CommonName: "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	goodSPKI := spkiBase64(s.Good.Cert)
	cases = append(cases,
		tc{name: "spki pin alone, key holder's own certificate", policy: Policy{Conditions: Conditions{SPKI: []string{goodSPKI}}}, leaf: mintedAdmin, allowed: true},
		tc{name: "spki pin does not vouch for names", policy: Policy{Conditions: Conditions{SPKI: []string{goodSPKI}, CommonName: []string{"admin"}}}, leaf: mintedAdmin, reason: ReasonUnverified},
		tc{name: "spki pin does not vouch for a copied issuer", policy: Policy{Conditions: Conditions{SPKI: []string{goodSPKI}, Issuer: []string{"CN=admin"}}}, leaf: mintedAdmin, reason: ReasonUnverified},
		tc{name: "spki identities: names next to a key pin are skipped", policy: Policy{Conditions: Conditions{SPKI: []string{goodSPKI}}, Identities: []Identity{
			{Name: "admin", Conditions: Conditions{CommonName: []string{"admin"}}},
		}}, leaf: mintedAdmin, reason: ReasonUnverified},
		tc{name: "spki pin with names on a verified chain", policy: Policy{Conditions: Conditions{SPKI: []string{goodSPKI}, CommonName: []string{"station-042"}}}, leaf: s.Good, tlsRoots: roots, allowed: true},
		tc{name: "thumbprint pin vouches for names", policy: Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}, CommonName: []string{"station-042"}}}, leaf: s.Good, allowed: true},
		tc{name: "issuer_thumbprint never holds on a presented, unverified chain", policy: Policy{AllowUnverified: true, Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, leaf: s.Good, reason: "issuer_thumbprint_mismatch"},
		tc{name: "too many intermediates", policy: Policy{}, pool: roots, leaf: &testpki.Leaf{Cert: s.Good.Cert, Chain: repeatCert(s.Intermediate.Cert, maxPresentedIntermediates+1)}, reason: ReasonUntrusted},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := compiled(t, c.policy, c.pool)
			var verified [][]*x509.Certificate
			if c.tlsRoots != nil {
				verified = tlsVerified(c.leaf, c.tlsRoots)
				if verified == nil {
					t.Fatal("test setup: the TLS layer would not have verified this chain")
				}
			}
			if c.name == "too many intermediates" {
				defer func(n int) {
					if got := len(p.verifyCache.m); got != n {
						t.Errorf("an over-long chain was cached (%d entries, want %d)", got, n)
					}
				}(len(p.verifyCache.m))
			}
			for range 2 { // the second run goes through the caches
				d := p.evaluate(presented(c.leaf), verified, time.Now())
				if d.Allowed != c.allowed || d.Reason != c.reason || d.Identity != c.identity {
					t.Fatalf("got allowed=%v reason=%q identity=%q; want allowed=%v reason=%q identity=%q",
						d.Allowed, d.Reason, d.Identity, c.allowed, c.reason, c.identity)
				}
			}
		})
	}
}

func repeatCert(c *x509.Certificate, n int) []*x509.Certificate {
	out := make([]*x509.Certificate, n)
	for i := range out {
		out[i] = c
	}
	return out
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = strings.ToUpper(hex.EncodeToString([]byte{x}))
	}
	return strings.Join(parts, ":")
}

func TestEvaluateConnectionState(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil)
	for _, c := range []struct {
		name   string
		cs     *tls.ConnectionState
		reason string
	}{
		{"plain HTTP", nil, ReasonNoTLS},
		{"0-RTT early data", &tls.ConnectionState{HandshakeComplete: false, PeerCertificates: presented(s.Good)}, ReasonEarlyData},
		{"no client certificate", &tls.ConnectionState{HandshakeComplete: true}, ReasonNoCertificate},
		{"good", &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: presented(s.Good)}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := p.Evaluate(c.cs)
			if d.Reason != c.reason || d.Allowed != (c.reason == "") {
				t.Fatalf("got allowed=%v reason=%q, want reason %q", d.Allowed, d.Reason, c.reason)
			}
		})
	}
}

// A certificate valid at the handshake must be denied once it expires, on
// the same connection (same *x509.Certificate, warm caches).
func TestExpiryDuringConnection(t *testing.T) {
	s := pki(t)
	for _, withPool := range []bool{false, true} {
		pol := Policy{RequireUnexpired: true, Conditions: Conditions{Subject: []string{goodSubject}}}
		var pool *x509.CertPool
		var verified [][]*x509.Certificate
		if withPool {
			pool = testpki.Pool(s.Root)
		} else {
			verified = tlsVerified(s.Good, testpki.Pool(s.Root))
		}
		p := compiled(t, pol, pool)
		peer := presented(s.Good)
		if d := p.evaluate(peer, verified, time.Now()); !d.Allowed {
			t.Fatalf("pool=%v: denied while valid: %s", withPool, d.Reason)
		}
		later := s.Good.Cert.NotAfter.Add(time.Second)
		if d := p.evaluate(peer, verified, later); d.Allowed || d.Reason != ReasonExpired {
			t.Fatalf("pool=%v: after NotAfter got allowed=%v reason=%q, want expired", withPool, d.Allowed, d.Reason)
		}
	}
}

// Without require_unexpired, a trust_pool verification result still never
// outlives the chain: the cached entry expires with the certificate.
func TestVerifyCacheEntriesDoNotOutliveCertificates(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{}, testpki.Pool(s.Root))
	peer := presented(s.Good)
	if d := p.evaluate(peer, nil, time.Now()); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	if d := p.evaluate(peer, nil, s.Good.Cert.NotAfter.Add(time.Minute)); d.Allowed || d.Reason != ReasonExpired {
		t.Fatalf("after expiry got allowed=%v reason=%q, want expired", d.Allowed, d.Reason)
	}
}

func TestVerifyCacheIsBounded(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{VerifyCacheSize: 8}, testpki.Pool(s.Root))
	for i := 0; i < 40; i++ {
		leaf, err := s.Intermediate.Issue(testpki.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := p.evaluate(presented(leaf), nil, time.Now()); !d.Allowed {
			t.Fatalf("leaf %d denied: %s", i, d.Reason)
		}
		if n := p.verifyCache.len(); n > 8 {
			t.Fatalf("verification cache holds %d entries, bound is 8", n)
		}
	}
}

// The per-connection memo must not carry a result to a different chain
// presented with the same leaf.
func TestVerifyMemoKeyedByChain(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{}, testpki.Pool(s.Root))
	if d := p.evaluate(presented(s.Good), nil, time.Now()); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	// Same leaf object, no intermediate: the chain no longer reaches the root.
	if d := p.evaluate([]*x509.Certificate{s.Good.Cert}, nil, time.Now()); d.Allowed || d.Reason != ReasonUntrusted {
		t.Fatalf("leaf without its intermediate got allowed=%v reason=%q, want untrusted", d.Allowed, d.Reason)
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	for _, c := range []struct {
		policy Policy
		want   string
	}{
		{Policy{Conditions: Conditions{Thumbprint: []string{"abc"}}}, `thumbprint[0] "abc": want 40 hex digits`},
		{Policy{Conditions: Conditions{Subject: []string{"CN=a", "garbage"}}}, `subject[1] "garbage"`},
		{Policy{Identities: []Identity{{Name: "a", Conditions: Conditions{CommonName: []string{"x"}}}, {Name: "b", Conditions: Conditions{IP: []string{"10.0.0.0/99"}}}}}, `identities[1].ip[0] "10.0.0.0/99"`},
		{Policy{Identities: []Identity{{Name: "a", Conditions: Conditions{CommonName: []string{"x"}}}, {Name: "a", Conditions: Conditions{CommonName: []string{"y"}}}}}, `identities[1].name: duplicate identity name "a"`},
		{Policy{Identities: []Identity{{Name: "empty"}}}, `identity "empty" has no conditions`},
		{Policy{VerifyCacheSize: -1}, `verify_cache_size`},
	} {
		err := c.policy.compile()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("compile error %v, want it to contain %q", err, c.want)
		}
	}
}

// Facts leave the cache with their certificate: a closed connection's
// certificate is collected and its entry goes, so the cache holds what live
// connections hold.
func TestFactsCacheForgetsCollectedCertificates(t *testing.T) {
	s := pki(t)
	// Other tests' certificates come and go concurrently, so look only at
	// the entries of the certificates made here, by address.
	addrs := make([]uintptr, 100)
	func() {
		live := make([]*x509.Certificate, len(addrs))
		for i := range live {
			c := *s.Good.Cert
			live[i] = &c
			factsFor(&c)
			addrs[i] = uintptr(unsafe.Pointer(&c))
		}
		for i, a := range addrs {
			if f, ok := factsCache.get(a); !ok || f.self.Value() != live[i] {
				t.Errorf("certificate %d is not cached", i)
			}
		}
		runtime.KeepAlive(live)
	}()
	stale := func() int {
		n := 0
		for _, a := range addrs {
			if f, ok := factsCache.get(a); ok && f.self.Value() == nil {
				n++
			}
		}
		return n
	}
	deadline := time.Now().Add(10 * time.Second)
	for stale() > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := stale(); n > 0 {
		t.Fatalf("%d entries remain after their certificates were collected", n)
	}
}

func TestFactsCacheIsBounded(t *testing.T) {
	s := pki(t)
	live := make([]*x509.Certificate, 0, factsCacheSize+10) // keep them alive: only the cap may evict
	for i := 0; i < factsCacheSize+10; i++ {
		c := *s.Good.Cert // a distinct pointer, as on a new connection
		live = append(live, &c)
		factsFor(&c)
	}
	runtime.KeepAlive(live)
	if n := factsCache.len(); n > factsCacheSize {
		t.Fatalf("facts cache holds %d entries, bound is %d", n, factsCacheSize)
	}
}

// A new connection parses the client's certificate anew: once the chain is
// verified, what its bytes yield is found by content instead of derived
// again (a different certificate never gets it), while the verification
// memo stays with each certificate object, that is with each connection.
func TestFactsAreSharedByContent(t *testing.T) {
	s := pki(t)
	a, b := *s.Good.Cert, *s.Good.Cert // two parses of the same bytes
	fa := factsFor(&a)
	fa.shareContent()
	fb := factsFor(&b)
	if fa.contentFacts != fb.contentFacts {
		t.Error("the same certificate bytes got facts derived twice")
	}
	if fa == fb || &fa.memo == &fb.memo {
		t.Error("two connections share one verification memo")
	}
	if fo := factsFor(s.Other.Cert); fo.contentFacts == fa.contentFacts || fo.sha256 == fa.sha256 {
		t.Error("another certificate got the facts of station-042")
	}
	if fa.sha256 != sha256.Sum256(s.Good.Cert.Raw) || fa.thumbprintHex != sha1Hex(s.Good.Cert) {
		t.Errorf("facts describe %x, not station-042", fa.sha256)
	}
	runtime.KeepAlive(&a)
	runtime.KeepAlive(&b)
}

// Only a certificate whose chain was verified (by TLS or by the policy's
// trust_pool) is kept by content: the cache outlives connections, and an
// unauthenticated client must not fill it.
func TestContentCacheKeepsOnlyVerifiedCertificates(t *testing.T) {
	s := pki(t)
	issue := func(cn string) *testpki.Leaf {
		l, err := s.Intermediate.Issue(testpki.Options{Subject: pkix.Name{CommonName: cn}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	cached := func(l *testpki.Leaf) bool {
		_, ok := contentCache.get(sha256.Sum256(l.Cert.Raw))
		return ok
	}
	pool := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"nobody"}}}, testpki.Pool(s.Root))
	pinOnly := compiled(t, Policy{AllowUnverified: true, Conditions: Conditions{Thumbprint: []string{sha1Hex(s.SelfSignedGood.Cert)}}}, nil)

	untrusted := pool.evaluate(presented(s.SelfSignedGood), nil, time.Now())
	pinned := pinOnly.evaluate(presented(s.SelfSignedGood), nil, time.Now())
	if untrusted.Allowed || !pinned.Allowed || cached(s.SelfSignedGood) {
		t.Errorf("self-signed: allowed by trust_pool %v, by pin %v; kept by content %v (want false, true, false)",
			untrusted.Allowed, pinned.Allowed, cached(s.SelfSignedGood))
	}
	byPool := issue("content-cache-pool")
	if d := pool.evaluate(presented(byPool), nil, time.Now()); !d.Verified || !cached(byPool) {
		t.Errorf("verified by trust_pool (%v): kept by content %v", d.Verified, cached(byPool))
	}
	byTLS := issue("content-cache-tls")
	cs := state(byTLS, true, s.Root)
	if d := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"nobody"}}}, nil).Evaluate(cs); !d.Verified || !cached(byTLS) {
		t.Errorf("verified by TLS (%v): kept by content %v", d.Verified, cached(byTLS))
	}
	unverified := issue("content-cache-unverified")
	compiled(t, Policy{Conditions: Conditions{CommonName: []string{"nobody"}}}, nil).Evaluate(state(unverified, false, nil))
	if cached(unverified) {
		t.Error("a chain nobody verified was kept by content")
	}
}

func TestContentCacheIsBounded(t *testing.T) {
	s := pki(t)
	for i := 0; i < contentCacheSize+10; i++ {
		c := *s.Good.Cert
		c.Raw = append(append([]byte(nil), c.Raw...), byte(i), byte(i>>8)) // distinct bytes, distinct digest
		factsFor(&c).shareContent()
	}
	if n := contentCache.len(); n != contentCacheSize {
		t.Fatalf("content cache holds %d entries, want its bound %d", n, contentCacheSize)
	}
}

// A large certificate, which any client can send, does not outlive its
// connection in the content cache.
func TestContentCacheSkipsLargeCertificates(t *testing.T) {
	leaf := largeCertificate(t)
	factsFor(leaf.Cert).shareContent()
	if _, ok := contentCache.get(sha256.Sum256(leaf.Cert.Raw)); ok {
		t.Fatal("the facts of a large certificate were kept by content")
	}
}

// Intermediates are hashed, not derived: a client that sends many cannot
// fill the facts cache (and push the live connections' leaves out of it).
func TestIntermediatesDoNotEnterTheFactsCache(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, testpki.Pool(s.Root))
	chain := presented(s.Good)
	if len(chain) < 2 {
		t.Fatal("the good chain has no intermediate")
	}
	inter := *chain[1] // a fresh parse, as on a new connection
	if d := p.evaluate([]*x509.Certificate{chain[0], &inter}, nil, time.Now()); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	if _, ok := factsCache.get(uintptr(unsafe.Pointer(&inter))); ok {
		t.Fatal("verifying the chain cached the intermediate's facts")
	}
	runtime.KeepAlive(&inter)
}
