// decision_fuzz_test.go: FuzzDecision, the safety properties of decisions
// on random certificates.

package clientcertificate

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// FuzzDecision evaluates policies against random certificates (mutations
// of real ones): no input may panic, a decision must be the same every time
// (before and after proof of possession, caches included), and the safety properties must hold whatever the
// certificate says:
//   - name conditions never allow an unverified certificate;
//   - a thumbprint pin allows only the pinned certificate;
//   - a trust_pool allows only what path validation accepts.
func FuzzDecision(f *testing.F) {
	s, err := standardPKI()
	if err != nil {
		f.Fatal(err)
	}
	for _, l := range []*testpki.Leaf{s.Good, s.Other, s.CommaCN, s.Expired, s.FromRogueCA, s.SelfSignedGood, s.CAAsClient, s.ServerAuthOnly} {
		f.Add(l.Cert.Raw)
	}
	f.Add(s.Intermediate.Cert.Raw)

	roots := testpki.Pool(s.Root)
	goodSHA1 := sha1Hex(s.Good.Cert)
	names := compiled(f, Policy{RequireUnexpired: true, Conditions: Conditions{
		Subject: []string{goodSubject}, Issuer: []string{issuingCA}, CommonName: []string{"station-042"},
		DNSName: []string{"*.stations.contoso-weather.example"}, URI: []string{"spiffe://contoso-weather.example/stations/*"},
		IP: []string{"10.42.0.0/16"}, Email: []string{"station-042@contoso-weather.example"},
	}}, nil)
	pinned := compiled(f, Policy{Conditions: Conditions{Thumbprint: []string{goodSHA1}}, Identities: []Identity{
		{Name: "a", Conditions: Conditions{CommonName: []string{"station-042"}}},
		{Name: "b", Conditions: Conditions{SPKI: []string{spkiBase64(s.Good.Cert)}}},
	}}, nil)
	pooled := compiled(f, Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, roots)
	intermediates := s.Good.Chain

	f.Fuzz(func(t *testing.T, der []byte) {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return
		}
		now := time.Now()
		peer := append([]*x509.Certificate{cert}, intermediates...)
		for _, p := range []*Policy{names, pinned, pooled} {
			// Before proof of possession (as the verifier decides), then
			// twice after it (the second through the caches).
			d0 := p.evaluate(peer, nil, at(now), false)
			d1 := p.evaluate(peer, nil, at(now), true)
			d2 := p.evaluate(peer, nil, at(now), true)
			for _, d := range []Decision{d1, d2} {
				if d0.Allowed != d.Allowed || d0.Reason != d.Reason || d0.Identity != d.Identity {
					t.Fatalf("decision changed between evaluations: %+v, then %+v", d0, d)
				}
			}
		}
		if d := names.evaluate(peer, nil, at(now), true); d.Allowed {
			t.Fatal("name conditions allowed an unverified certificate")
		}
		if d := pinned.evaluate(peer, nil, at(now), true); d.Allowed && sha1Hex(cert) != goodSHA1 {
			t.Fatalf("thumbprint pin allowed another certificate (identity %q)", d.Identity)
		}
		if d := pooled.evaluate(peer, nil, at(now), true); d.Allowed {
			inter := x509.NewCertPool()
			for _, c := range intermediates {
				inter.AddCert(c)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
				KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
				t.Fatalf("trust_pool allowed a certificate that path validation rejects: %v", err)
			}
		}
	})
}
