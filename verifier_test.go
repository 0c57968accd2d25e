// verifier_test.go: the verifier's decisions and reasons, what it reads of
// a presented chain, and that a handshake it sees keeps nothing behind, not
// even when the client does not hold the certificate's key.

package clientcertificate

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// rawChain is what Caddy hands a verifier: the presented certificates' bytes.
func rawChain(l *testpki.Leaf) [][]byte {
	var out [][]byte
	for _, c := range presented(l) {
		out = append(out, c.Raw)
	}
	return out
}

func TestVerifier(t *testing.T) {
	s := pki(t)
	v := &Verifier{Policy: *compiled(t, Policy{Conditions: Conditions{Subject: []string{goodSubject}}}, testpki.Pool(s.Root)), logger: zap.NewNop()}
	if err := v.VerifyClientCertificate(nil, nil); err != nil {
		t.Errorf("no certificate: got %v, want nil (the client_auth mode decides)", err)
	}
	if err := v.VerifyClientCertificate(rawChain(s.Good), nil); err != nil {
		t.Errorf("good: %v", err)
	}
	if err := v.VerifyClientCertificate(rawChain(s.Good), tlsVerified(s.Good, testpki.Pool(s.Root))); err != nil {
		t.Errorf("good, verified by TLS too: %v", err)
	}
	for name, l := range map[string]*testpki.Leaf{"other": s.Other, "rogue": s.FromRogueCA, "self-signed": s.SelfSignedGood, "expired": s.Expired} {
		if err := v.VerifyClientCertificate(rawChain(l), nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := v.VerifyClientCertificate([][]byte{[]byte("not a certificate")}, nil); err == nil {
		t.Error("garbage accepted")
	}
}

func TestVerifierReasons(t *testing.T) {
	s := pki(t)
	v := &Verifier{Policy: *compiled(t, Policy{RequireUnexpired: true, Conditions: Conditions{Subject: []string{goodSubject}}}, testpki.Pool(s.Root))}
	garbage := []byte("not a certificate")
	for name, c := range map[string]struct {
		raw    [][]byte
		reason string
	}{
		"other":                  {rawChain(s.Other), "subject_mismatch"},
		"rogue":                  {rawChain(s.FromRogueCA), ReasonUntrusted},
		"self-signed":            {rawChain(s.SelfSignedGood), ReasonUntrusted},
		"expired":                {rawChain(s.Expired), ReasonExpired},
		"ca":                     {rawChain(s.CAAsClient), ReasonCACertificate},
		"unparsable leaf":        {[][]byte{garbage}, ReasonNoCertificate},
		"unparsable chain":       {[][]byte{s.Good.Cert.Raw, garbage}, ReasonUntrusted},
		"too many intermediates": {append([][]byte{s.Good.Cert.Raw}, slices.Repeat([][]byte{garbage}, maxPresentedIntermediates+1)...), ReasonUntrusted},
	} {
		var de DenyError
		if err := v.VerifyClientCertificate(c.raw, nil); !errors.As(err, &de) || de.Reason != c.reason {
			t.Errorf("%s: got %v, want reason %s", name, err, c.reason)
		}
	}
}

// Without a trust_pool the verifier reads only the leaf: the rest of what a
// client sends is not even parsed (garbage after the leaf passes).
func TestVerifierWithoutPoolReadsOnlyTheLeaf(t *testing.T) {
	s := pki(t)
	v := &Verifier{Policy: *compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil)}
	if err := v.VerifyClientCertificate([][]byte{s.Good.Cert.Raw, []byte("not a certificate")}, nil); err != nil {
		t.Fatalf("denied: %v", err)
	}
}

// crypto/tls parsed the presented certificates already: those in the
// verified chains are taken from there, not parsed again.
func TestVerifierTakesCertificatesFromTheVerifiedChains(t *testing.T) {
	s := pki(t)
	chains := tlsVerified(s.Good, testpki.Pool(s.Root))
	raw := rawChain(s.Good)
	raw[0] = append([]byte(nil), raw[0]...) // equal bytes, another slice
	v := &Verifier{Policy: *compiled(t, Policy{}, testpki.Pool(s.Root))}
	peer, reason := v.presentedChain(raw, chains)
	if reason != "" || len(peer) != 2 {
		t.Fatalf("presentedChain: %d certificates, reason %q", len(peer), reason)
	}
	if peer[0] != chains[0][0] || peer[1] != chains[0][1] {
		t.Error("the verifier parsed again a certificate the TLS layer had parsed and verified")
	}
	if c := findParsed([]byte("not in any chain"), chains); c != nil {
		t.Error("findParsed found a certificate for bytes no chain holds")
	}
}

// What the verifier computes stays with the handshake: no connection
// record, no shared facts, no verification result outlives the call.
func TestVerifierKeepsNothing(t *testing.T) {
	s := pki(t)
	leaf, err := s.Intermediate.Issue(testpki.Options{Subject: s.Good.Cert.Subject, URIs: []string{"spiffe://contoso-weather.example/stations/verifier-keeps-nothing"}})
	if err != nil {
		t.Fatal(err)
	}
	chains := tlsVerified(leaf, testpki.Pool(s.Root))
	v := &Verifier{Policy: *compiled(t, Policy{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, testpki.Pool(s.Root))}
	for range 3 {
		if err := v.VerifyClientCertificate(rawChain(leaf), chains); err != nil {
			t.Fatalf("denied: %v", err)
		}
	}
	if _, ok := connections.lookup(leaf.Cert); ok {
		t.Error("the verifier registered a connection record")
	}
	if _, ok := sharedFactsOf(digestPtr(leaf.Cert)); ok {
		t.Error("the verifier shared the certificate's facts")
	}
	if n := v.verifyCache.len(); n != 0 {
		t.Errorf("the verifier cached %d verification results", n)
	}
}

func digestPtr(c *x509.Certificate) *[32]byte {
	d := sha256.Sum256(c.Raw)
	return &d
}

// Caddy runs verifiers from tls.Config.VerifyConnection, which crypto/tls
// calls before it checks the client's CertificateVerify signature. A client
// that presents someone's certificate without its key gets that far: the
// handshake then fails, and it must leave no cache entry and no entry that
// says "allowed". The server here wires the verifier exactly as Caddy's
// ClientAuthentication.verifyConnection does.
func TestVerifierWrongKeyHandshake(t *testing.T) {
	s := pki(t)
	leaf, err := s.Intermediate.Issue(testpki.Options{Subject: s.Good.Cert.Subject, URIs: []string{"spiffe://contoso-weather.example/stations/wrong-key"}})
	if err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	v := &Verifier{Policy: *compiled(t, Policy{Conditions: Conditions{Subject: []string{goodSubject}, IssuerThumbprint: []string{sha1Hex(s.Intermediate.Cert)}}}, testpki.Pool(s.Root)), logger: zap.New(core)}

	wrongKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	stolen := leaf.TLSCertificate()
	stolen.PrivateKey = wrongKey

	var seen []*x509.Certificate // the leaves crypto/tls parsed, as the HTTP layer would see them
	for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		serverErr, clientErr := handshake(t, s, v, stolen, version, func(leaf *x509.Certificate) { seen = append(seen, leaf) })
		if serverErr == nil || !strings.Contains(serverErr.Error(), "signature") {
			t.Fatalf("TLS %x: the server accepted a certificate signed with the wrong key (server: %v, client: %v)", version, serverErr, clientErr)
		}
	}
	if len(seen) != 2 {
		t.Fatalf("the verifier saw %d handshakes, want 2", len(seen))
	}

	passes := 0
	for _, e := range logs.AllUntimed() {
		fields := e.ContextMap()
		if allowed, ok := fields["allowed"]; ok && allowed == true {
			t.Errorf("log entry %q says allowed: %v", e.Message, fields)
		}
		if e.Message == msgHandshakePass && fields["pending"] == pendingKeyCheck {
			passes++
		}
	}
	if passes != 2 {
		t.Errorf("%d entries say the certificate passes pending the key check, want one per handshake (2): %v", passes, logs.AllUntimed())
	}
	if _, ok := sharedFactsOf(digestPtr(leaf.Cert)); ok {
		t.Error("a handshake without the key shared the certificate's facts")
	}
	if n := v.verifyCache.len(); n != 0 {
		t.Errorf("a handshake without the key cached %d verification results", n)
	}
	for _, c := range seen {
		if _, ok := connections.lookup(c); ok {
			t.Error("a handshake without the key left a connection record")
		}
	}

	// The same handshake with the key completes: the test's server is sound.
	if serverErr, clientErr := handshake(t, s, v, leaf.TLSCertificate(), tls.VersionTLS13, nil); serverErr != nil || clientErr != nil {
		t.Fatalf("with the key: server %v, client %v", serverErr, clientErr)
	}
}

// handshake runs one TLS handshake over loopback between a server that
// requires and verifies client certificates against s.Root and calls v as
// Caddy does, and a client presenting cert. It returns both sides' errors.
// seen, if not nil, gets the leaf crypto/tls parsed.
func handshake(t *testing.T, s *testpki.Set, v *Verifier, cert tls.Certificate, version uint16, seen func(*x509.Certificate)) (serverErr, clientErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverCfg := &tls.Config{
		Certificates: []tls.Certificate{s.Server.TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    testpki.Pool(s.Root),
		MinVersion:   version,
		MaxVersion:   version,
		VerifyConnection: func(cs tls.ConnectionState) error {
			rawCerts := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				rawCerts[i] = c.Raw
			}
			if len(rawCerts) == 0 {
				return nil
			}
			if seen != nil {
				seen(cs.PeerCertificates[0])
			}
			return v.VerifyClientCertificate(rawCerts, cs.VerifiedChains)
		},
	}
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		conn := tls.Server(c, serverCfg)
		err = conn.Handshake()
		if err == nil {
			// TLS 1.3 clients finish first; read so the client sees the
			// outcome of its certificate.
			_, err = conn.Write([]byte("ok"))
		}
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{
		RootCAs:      testpki.Pool(s.Root),
		ServerName:   "localhost",
		Certificates: []tls.Certificate{cert},
		MinVersion:   version,
		MaxVersion:   version,
	})
	if err == nil {
		buf := make([]byte, 2)
		_, clientErr = c.Read(buf)
		c.Close()
	} else {
		clientErr = err
	}
	return <-done, clientErr
}
