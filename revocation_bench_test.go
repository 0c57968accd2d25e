// revocation_bench_test.go: benchmarks of revocation checking: a decision
// on a warm connection with a CRL (the per-request cost), and the lookups
// a connection's first request or a verifier's handshake pays.

package clientcertificate

import (
	"math/big"
	"testing"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// The decision of BenchmarkDecisionVerifiedChain with revocation from a
// CRL: on a warm connection the verdict is the connection's memo.
func BenchmarkDecisionVerifiedChainRevocation(b *testing.B) {
	s := pki(b)
	file := writeTemp(b, "ca.crl", signedCRL(b, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	p, _ := revocationPolicy(b, Policy{RequireUnexpired: true, Revocation: &Revocation{CRL: []string{file}}, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, nil, nil)
	peer := presented(s.Good)
	verified := tlsVerified(s.Good, testpki.Pool(s.Root))
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now(), true) })
}

// The same with the policy's own trust_pool.
func BenchmarkDecisionTrustPoolRevocation(b *testing.B) {
	s := pki(b)
	file := writeTemp(b, "ca.crl", signedCRL(b, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	p, _ := revocationPolicy(b, Policy{RequireUnexpired: true, Revocation: &Revocation{CRL: []string{file}}, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, testpki.Pool(s.Root), nil)
	peer := presented(s.Good)
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, nil, p.now(), true) })
}

// A revocation lookup without a memo, as a connection's first request or
// the verifier pays: the CRL index and the signature check already done.
func BenchmarkRevocationLookupCRL(b *testing.B) {
	s := pki(b)
	file := writeTemp(b, "ca.crl", signedCRL(b, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	p, _ := revocationPolicy(b, Policy{Revocation: &Revocation{CRL: []string{file}}}, nil, nil)
	chain := tlsVerified(s.Good, testpki.Pool(s.Root))[0]
	if v := p.revocation.check(chain, true); v.status != revocationGood {
		b.Fatalf("setup: %v %s", v.status, v.cause)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.revocation.check(chain, true)
	}
}
