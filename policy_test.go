// policy_test.go: helpers shared by the package's tests (the standard PKI,
// presented and TLS-verified chains, compiled policies) and compile errors.

package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // thumbprints, as operators write them
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

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

// A policy without conditions allows any TLS-verified certificate, and
// Provision says so unless a trust_pool makes the intent plain.
func TestEmptyPolicy(t *testing.T) {
	s := pki(t)
	empty := compiled(t, Policy{}, nil)
	if w := empty.emptyPolicyWarning(); !strings.Contains(w, "without conditions") || !strings.Contains(w, "any certificate whose chain the TLS layer verified") {
		t.Errorf("warning %q", w)
	}
	for _, p := range []*Policy{
		compiled(t, Policy{}, testpki.Pool(s.Root)),
		compiled(t, Policy{Conditions: Conditions{CommonName: []string{"x"}}}, nil),
		compiled(t, Policy{Identities: []Identity{{Conditions: Conditions{CommonName: []string{"x"}}}}}, nil),
	} {
		if w := p.emptyPolicyWarning(); w != "" {
			t.Errorf("warning for a policy that says what it allows: %q", w)
		}
	}
	// Provision says it, at WARN, in the log of the module holding it.
	core, logs := observer.New(zapcore.InfoLevel)
	if err := (&Policy{}).provision(caddy.Context{}, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	if warnings := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessageSnippet("without conditions").Len(); warnings != 1 {
		t.Errorf("Provision logged %d warnings about the empty policy, want 1: %v", warnings, logs.All())
	}
	if d := empty.Evaluate(state(s.Good, true, s.Root)); !d.Allowed {
		t.Errorf("TLS-verified certificate denied: %s", d.Reason)
	}
	if d := empty.Evaluate(state(s.Good, false, nil)); d.Allowed || d.Reason != ReasonUnverified {
		t.Errorf("unverified certificate: allowed=%v reason=%q, want unverified", d.Allowed, d.Reason)
	}
}
