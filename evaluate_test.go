// evaluate_test.go: the decisions of the engine, case by case (pins,
// names on verified and unverified chains, trust_pool, CA certificates,
// expiry, AND/OR of identities), and decisions at request time.

package clientcertificate

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

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
		tc{name: "too many intermediates", policy: Policy{}, pool: roots, leaf: &testpki.Leaf{Cert: s.Good.Cert, Chain: slices.Repeat([]*x509.Certificate{s.Intermediate.Cert}, maxPresentedIntermediates+1)}, reason: ReasonUntrusted},
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
					if got := p.verifyCache.len(); got != n {
						t.Errorf("an over-long chain was cached (%d entries, want %d)", got, n)
					}
				}(p.verifyCache.len())
			}
			// Before proof of possession (the verifier) nothing is
			// remembered; after it, the second run goes through the caches.
			// The decision is the same every time.
			for _, proven := range []bool{false, true, true} {
				d := p.evaluate(presented(c.leaf), verified, at(time.Now()), proven)
				if d.Allowed != c.allowed || d.Reason != c.reason || d.Identity != c.identity {
					t.Fatalf("proven=%v: got allowed=%v reason=%q identity=%q; want allowed=%v reason=%q identity=%q",
						proven, d.Allowed, d.Reason, d.Identity, c.allowed, c.reason, c.identity)
				}
			}
		})
	}
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
		if d := p.evaluate(peer, verified, at(time.Now()), true); !d.Allowed {
			t.Fatalf("pool=%v: denied while valid: %s", withPool, d.Reason)
		}
		later := s.Good.Cert.NotAfter.Add(time.Second)
		if d := p.evaluate(peer, verified, at(later), true); d.Allowed || d.Reason != ReasonExpired {
			t.Fatalf("pool=%v: after NotAfter got allowed=%v reason=%q, want expired", withPool, d.Allowed, d.Reason)
		}
	}
}
