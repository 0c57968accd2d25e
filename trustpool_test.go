// trustpool_test.go: the policy's own path validation: results never
// outlive the chain, failures never outlive the moment a certificate
// becomes valid, memos are per chain and per policy, the cache is bounded.

package clientcertificate

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"runtime"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// Without require_unexpired, a trust_pool verification result still never
// outlives the chain: the cached entry expires with the certificate.
func TestVerifyCacheEntriesDoNotOutliveCertificates(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{}, testpki.Pool(s.Root))
	peer := presented(s.Good)
	if d := p.evaluate(peer, nil, at(time.Now()), true); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	if d := p.evaluate(peer, nil, at(s.Good.Cert.NotAfter.Add(time.Minute)), true); d.Allowed || d.Reason != ReasonExpired {
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
		if d := p.evaluate(presented(leaf), nil, at(time.Now()), true); !d.Allowed {
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
	if d := p.evaluate(presented(s.Good), nil, at(time.Now()), true); !d.Allowed {
		t.Fatalf("denied: %s", d.Reason)
	}
	// Same leaf object, no intermediate: the chain no longer reaches the root.
	if d := p.evaluate([]*x509.Certificate{s.Good.Cert}, nil, at(time.Now()), true); d.Allowed || d.Reason != ReasonUntrusted {
		t.Fatalf("leaf without its intermediate got allowed=%v reason=%q, want untrusted", d.Allowed, d.Reason)
	}
}

// The memo on a connection belongs to the policy that made it: another
// policy with a narrower pool does not inherit its verdict.
func TestVerifyMemoIsPerPolicy(t *testing.T) {
	s := pki(t)
	leaf := *s.Good.Cert
	peer := append([]*x509.Certificate{&leaf}, s.Good.Chain...)
	wide := compiled(t, Policy{}, testpki.Pool(s.Root))
	narrow := compiled(t, Policy{}, testpki.Pool(s.OtherRoot))
	if d := wide.evaluate(peer, nil, at(time.Now()), true); !d.Allowed {
		t.Fatalf("wide pool denied: %s", d.Reason)
	}
	if d := narrow.evaluate(peer, nil, at(time.Now()), true); d.Allowed || d.Reason != ReasonUntrusted {
		t.Fatalf("narrow pool after the wide one: allowed=%v reason=%q, want untrusted", d.Allowed, d.Reason)
	}
	runtime.KeepAlive(&leaf)
}

// A certificate that is not yet valid is refused, but the refusal is not
// remembered past its NotBefore, even with a coarse clock that lags: the
// first request after NotBefore is allowed.
func TestVerifyFailureEndsAtNotBefore(t *testing.T) {
	s := pki(t)
	notBefore := time.Now().Add(20 * time.Second).Truncate(time.Second)
	leaf, err := s.Intermediate.Issue(testpki.Options{NotBefore: notBefore})
	if err != nil {
		t.Fatal(err)
	}
	p := compiled(t, Policy{}, testpki.Pool(s.Root)) // path validation finds it not yet valid
	peer := presented(leaf)
	if d := p.evaluate(peer, nil, at(notBefore.Add(-10*time.Second)), true); d.Allowed || d.Reason != ReasonNotYetValid {
		t.Fatalf("before NotBefore: allowed=%v reason=%q, want not_yet_valid", d.Allowed, d.Reason)
	}
	// The coarse reading still says "before"; the real time is just after.
	lagging := moment{coarse: unixNanos(notBefore.Add(-50 * time.Millisecond)), exact: func() time.Time { return notBefore.Add(50 * time.Millisecond) }}
	if d := p.evaluate(peer, nil, lagging, true); !d.Allowed {
		t.Fatalf("just after NotBefore, with a lagging coarse clock: denied %s", d.Reason)
	}
}

// Any failure is remembered for at most negativeVerifyTTL, and within that
// time the cache spares path validation.
func TestVerifyFailureIsRememberedBriefly(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{}, testpki.Pool(s.Root))
	now := time.Now()
	res := p.verify(connectionOf(s.FromRogueCA.Cert, true), presented(s.FromRogueCA), at(now), true)
	if res.reason != ReasonUntrusted || res.window.until > unixNanos(now.Add(negativeVerifyTTL)) {
		t.Fatalf("rogue chain: reason %q, remembered until %v (now %v)", res.reason, time.Unix(0, res.window.until), now)
	}
	again := p.verify(connectionOf(s.FromRogueCA.Cert, true), presented(s.FromRogueCA), at(now.Add(time.Second)), true)
	if again != res {
		t.Error("a second request within the minute validated the path again")
	}
}

// A chain presented with a cross-signed intermediate verifies twice, to
// two roots. When the shorter-lived chain expires, a remembered result must
// not go on naming its root for issuer_thumbprint: the result holds only
// while every chain does.
func TestVerifyResultEndsWithItsFirstChain(t *testing.T) {
	r1, err := testpki.NewRoot(pkix.Name{CommonName: "Cross Root 1"})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := testpki.NewRoot(pkix.Name{CommonName: "Cross Root 2"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := r1.NewIntermediate(pkix.Name{CommonName: "Cross Intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	expiry := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	cross, err := r2.NewIntermediateWithOptions(testpki.Options{Subject: pkix.Name{CommonName: "Cross Intermediate"}, Key: inter.Key, NotAfter: expiry})
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter.Issue(testpki.Options{Subject: pkix.Name{CommonName: "cross-signed client"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, order := range [][]*x509.Certificate{{inter.Cert, cross.Cert}, {cross.Cert, inter.Cert}} {
		p := compiled(t, Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(r2.Cert)}}}, testpki.Pool(r1, r2))
		lc := *leaf.Cert
		peer := append([]*x509.Certificate{&lc}, order...)
		if d := p.evaluate(peer, nil, at(time.Now()), true); !d.Allowed {
			t.Fatalf("while both chains are valid: denied %s", d.Reason)
		}
		if d := p.evaluate(peer, nil, at(expiry.Add(time.Minute)), true); d.Allowed || d.Reason != "issuer_thumbprint_mismatch" {
			t.Errorf("after Cross Root 2's chain expired: allowed=%v reason=%q, want issuer_thumbprint_mismatch", d.Allowed, d.Reason)
		}
		runtime.KeepAlive(&lc)
	}
}

// Two policies that verify on the same connection (a matcher and a
// handler, say) keep a memo each, instead of evicting each other's on
// every request.
func TestVerifyMemosPerPolicyOnOneConnection(t *testing.T) {
	s := pki(t)
	leaf := *s.Good.Cert
	peer := append([]*x509.Certificate{&leaf}, s.Good.Chain...)
	a := compiled(t, Policy{}, testpki.Pool(s.Root))
	b := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, testpki.Pool(s.Root))
	for range 2 {
		for _, p := range []*Policy{a, b} {
			if d := p.evaluate(peer, nil, at(time.Now()), true); !d.Allowed {
				t.Fatalf("denied: %s", d.Reason)
			}
		}
	}
	conn, _ := connections.lookup(&leaf)
	memos := conn.verification.Load()
	if memos == nil || len(*memos) != 2 || (*memos)[0].policy != b.id || (*memos)[1].policy != a.id {
		t.Fatalf("memos %+v, want one for each policy, the latest first", memos)
	}
	runtime.KeepAlive(&leaf)
}
