// policy_bench_test.go: benchmarks of a decision (warm, trust_pool,
// identities, the worst case a client can arrange), of deriving a
// certificate's facts, and of the verifier.

package clientcertificate

import (
	"crypto/sha256"
	"crypto/x509"
	"runtime"
	"testing"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// Benchmarks of one policy decision on a warm connection: the certificate
// facts and (for trust_pool) the verification result are cached, so what
// is measured is the per-request work.

func BenchmarkDecisionVerifiedChain(b *testing.B) {
	s := pki(b)
	p := compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, nil)
	peer := presented(s.Good)
	verified := tlsVerified(s.Good, testpki.Pool(s.Root))
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now(), true) })
}

func BenchmarkDecisionTrustPool(b *testing.B) {
	s := pki(b)
	p := compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, testpki.Pool(s.Root))
	peer := presented(s.Good)
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, nil, p.now(), true) })
}

func BenchmarkDecisionIdentities(b *testing.B) {
	s := pki(b)
	p := compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{Issuer: []string{issuingCA}}, Identities: []Identity{
		{Name: "s7", Conditions: Conditions{Subject: []string{"CN=station-007,OU=Stations,O=Contoso Weather,C=US"}}},
		{Name: "spiffe", Conditions: Conditions{URI: []string{"spiffe://contoso-weather.example/stations/*"}}},
	}}, nil)
	peer := presented(s.Good)
	verified := tlsVerified(s.Good, testpki.Pool(s.Root))
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now(), true) })
}

func benchmarkDecision(b *testing.B, decide func() Decision) {
	if d := decide(); !d.Allowed {
		b.Fatalf("benchmark setup: denied (%s)", d.Reason)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		decide()
	}
}

// The worst case a client can arrange: the connection table as full as
// live connections make it, the shared facts at their bound, and a large
// (100 KB, 5,000 names) self-signed certificate that nothing verifies,
// under a thumbprint-only policy. Warm, as every request after the
// connection's first: compare with BenchmarkDecisionVerifiedChain.
func BenchmarkDecisionWorstCase(b *testing.B) {
	live := fillCaches(b)
	big := bigSelfSigned(b)
	p := compiled(b, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(big.Cert)}}}, nil)
	peer := presented(big)
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, nil, p.now(), true) })
	runtime.KeepAlive(live)
}

// What a connection's first request, or a verifier's handshake, pays when
// the certificate's facts are not shared yet.
func BenchmarkDeriveFacts(b *testing.B) {
	c := pki(b).Good.Cert
	b.ReportAllocs()
	for b.Loop() {
		deriveFacts(c, sha256.Sum256(c.Raw))
	}
}

// The verifier on a chain the TLS layer verified (client_auth
// require_and_verify), as in row 5 of BENCHMARKS.md, for a certificate no
// completed handshake has shared yet: the verifier keeps nothing between
// handshakes, so every call derives the facts.
func BenchmarkVerifierHandshake(b *testing.B) {
	v, raw, verified := benchVerifier(b)
	benchmarkVerifierHandshake(b, v, raw, verified)
}

// benchVerifier is the verifier of BenchmarkVerifierHandshake, with the
// handshake it is given: a new leaf with Good's subject, on a chain the
// TLS layer verified.
func benchVerifier(b *testing.B) (*Verifier, [][]byte, [][]*x509.Certificate) {
	s := pki(b)
	leaf, err := s.Intermediate.Issue(testpki.Options{Subject: s.Good.Cert.Subject})
	if err != nil {
		b.Fatal(err)
	}
	v := &Verifier{Policy: *compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(leaf.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, nil)}
	return v, rawChain(leaf), tlsVerified(leaf, testpki.Pool(s.Root))
}

func benchmarkVerifierHandshake(b *testing.B, v *Verifier, raw [][]byte, verified [][]*x509.Certificate) {
	b.ReportAllocs()
	for b.Loop() {
		if err := v.VerifyClientCertificate(raw, verified); err != nil {
			b.Fatal(err)
		}
	}
}
