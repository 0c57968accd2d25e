package clientcertificate

import (
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
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now()) })
}

func BenchmarkDecisionTrustPool(b *testing.B) {
	s := pki(b)
	p := compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, testpki.Pool(s.Root))
	peer := presented(s.Good)
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, nil, p.now()) })
}

func BenchmarkDecisionIdentities(b *testing.B) {
	s := pki(b)
	p := compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{Issuer: []string{issuingCA}}, Identities: []Identity{
		{Name: "s7", Conditions: Conditions{Subject: []string{"CN=station-007,OU=Stations,O=Contoso Weather,C=US"}}},
		{Name: "spiffe", Conditions: Conditions{URI: []string{"spiffe://contoso-weather.example/stations/*"}}},
	}}, nil)
	peer := presented(s.Good)
	verified := tlsVerified(s.Good, testpki.Pool(s.Root))
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now()) })
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
