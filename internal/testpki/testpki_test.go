// testpki_test.go: the standard PKI has the subjects, chains and
// verification outcomes its documentation promises.

package testpki

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var standard = sync.OnceValues(Standard)

func mustStandard(t *testing.T) *Set {
	t.Helper()
	s, err := standard()
	if err != nil {
		t.Fatalf("Standard: %v", err)
	}
	return s
}

// verify checks l against roots, using l.Chain as intermediates.
func verify(l *Leaf, usage x509.ExtKeyUsage, roots ...*CA) ([][]*x509.Certificate, error) {
	inter := x509.NewCertPool()
	for _, c := range l.Chain {
		inter.AddCert(c)
	}
	return l.Cert.Verify(x509.VerifyOptions{
		Roots:         Pool(roots...),
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
}

func TestStandardSubjects(t *testing.T) {
	s := mustStandard(t)
	for _, tc := range []struct {
		name string
		cert *x509.Certificate
		want string
	}{
		{"root", s.Root.Cert, "CN=Contoso Weather Root CA,O=Contoso Weather,C=US"},
		{"intermediate", s.Intermediate.Cert, "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"},
		{"other root", s.OtherRoot.Cert, "CN=Fabrikam Root CA,O=Fabrikam,C=US"},
		{"rogue root", s.RogueRoot.Cert, "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"},
		{"good", s.Good.Cert, "CN=station-042,OU=Stations,O=Contoso Weather,C=US"},
		{"other", s.Other.Cert, "CN=station-007,OU=Stations,O=Contoso Weather,C=US"},
		{"expired", s.Expired.Cert, "CN=station-042,OU=Stations,O=Contoso Weather,C=US"},
		{"comma CN", s.CommaCN.Cert, `CN=Contoso Weather\, Inc,O=Contoso Weather,C=US`},
	} {
		if got := tc.cert.Subject.String(); got != tc.want {
			t.Errorf("%s subject = %q, want %q", tc.name, got, tc.want)
		}
	}

	g := s.Good.Cert
	if len(g.DNSNames) != 1 || g.DNSNames[0] != "station-042.stations.contoso-weather.example" {
		t.Errorf("Good DNSNames = %v", g.DNSNames)
	}
	if len(g.EmailAddresses) != 1 || g.EmailAddresses[0] != "station-042@contoso-weather.example" {
		t.Errorf("Good EmailAddresses = %v", g.EmailAddresses)
	}
	if len(g.URIs) != 1 || g.URIs[0].String() != "spiffe://contoso-weather.example/stations/042" {
		t.Errorf("Good URIs = %v", g.URIs)
	}
	if len(g.IPAddresses) != 1 || !g.IPAddresses[0].Equal(net.IPv4(10, 42, 0, 42)) {
		t.Errorf("Good IPAddresses = %v", g.IPAddresses)
	}
	if g.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("Good KeyUsage = %v", g.KeyUsage)
	}
	if len(g.ExtKeyUsage) != 1 || g.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
		t.Errorf("Good ExtKeyUsage = %v", g.ExtKeyUsage)
	}
	if g.IsCA {
		t.Error("Good IsCA = true")
	}
	if o := s.Other.Cert; len(o.URIs) != 1 || o.URIs[0].String() != "spiffe://contoso-weather.example/stations/007" {
		t.Errorf("Other URIs = %v", o.URIs)
	}
	if len(s.Intermediate.Cert.ExtKeyUsage) != 0 {
		t.Errorf("Intermediate ExtKeyUsage = %v, want none", s.Intermediate.Cert.ExtKeyUsage)
	}
	srv := s.Server.Cert
	if err := srv.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	for _, h := range []string{"127.0.0.1", "::1"} {
		if err := srv.VerifyHostname(h); err != nil {
			t.Error(err)
		}
	}
}

func TestStandardChains(t *testing.T) {
	s := mustStandard(t)
	if !s.Root.IsRoot() || !s.OtherRoot.IsRoot() || !s.RogueRoot.IsRoot() || s.Intermediate.IsRoot() {
		t.Error("IsRoot wrong for standard CAs")
	}
	if len(s.Root.Chain) != 0 || len(s.Intermediate.Chain) != 0 {
		t.Errorf("CA chains: root %d, intermediate %d; want 0, 0", len(s.Root.Chain), len(s.Intermediate.Chain))
	}
	if len(s.Good.Chain) != 1 || !s.Good.Chain[0].Equal(s.Intermediate.Cert) {
		t.Errorf("Good.Chain is not [Intermediate]")
	}
	if len(s.Server.Chain) != 0 || len(s.FromRogueCA.Chain) != 0 || len(s.FromOtherCA.Chain) != 0 ||
		len(s.SelfSignedGood.Chain) != 0 || len(s.CAAsClient.Chain) != 0 {
		t.Error("leaves signed by roots (or self-signed) must have an empty Chain")
	}
	if len(s.RogueChain.Chain) != 1 || !s.RogueChain.Chain[0].Equal(s.Intermediate.Cert) {
		t.Error("RogueChain.Chain is not [real Intermediate]")
	}
	if !bytes.Equal(s.RogueRoot.Cert.RawSubject, s.Intermediate.Cert.RawSubject) {
		t.Error("RogueRoot RawSubject differs from Intermediate RawSubject")
	}
	for name, l := range map[string]*Leaf{"FromRogueCA": s.FromRogueCA, "RogueChain": s.RogueChain} {
		if !bytes.Equal(l.Cert.RawIssuer, s.Good.Cert.RawIssuer) {
			t.Errorf("%s issuer DN differs from Good's", name)
		}
		if !bytes.Equal(l.Cert.RawSubject, s.Good.Cert.RawSubject) {
			t.Errorf("%s subject DN differs from Good's", name)
		}
	}
	if !bytes.Equal(s.Good.Cert.AuthorityKeyId, s.Intermediate.Cert.SubjectKeyId) || len(s.Good.Cert.AuthorityKeyId) == 0 {
		t.Error("Good AuthorityKeyId does not match Intermediate SubjectKeyId")
	}
	if bytes.Equal(s.RogueRoot.Cert.SubjectKeyId, s.Intermediate.Cert.SubjectKeyId) {
		t.Error("RogueRoot shares Intermediate's SubjectKeyId")
	}
	if !s.CAAsClient.Cert.IsCA || !s.CAAsClient.Cert.Equal(s.Intermediate.Cert) {
		t.Error("CAAsClient is not the Intermediate CA certificate")
	}
}

func TestStandardVerify(t *testing.T) {
	s := mustStandard(t)

	chains, err := verify(s.Good, x509.ExtKeyUsageClientAuth, s.Root)
	if err != nil {
		t.Fatalf("Good: %v", err)
	}
	if len(chains) != 1 || len(chains[0]) != 3 || !chains[0][2].Equal(s.Root.Cert) {
		t.Errorf("Good chains = %v", chains)
	}
	if _, err := verify(s.Server, x509.ExtKeyUsageServerAuth, s.Root); err != nil {
		t.Errorf("Server: %v", err)
	}

	for _, tc := range []struct {
		name string
		leaf *Leaf
		ok   bool
	}{
		{"Other", s.Other, true},
		{"CommaCN", s.CommaCN, true},
		{"CAAsClient", s.CAAsClient, true}, // valid for crypto/x509; the plugin must reject it
		{"Expired", s.Expired, false},
		{"NotYetValid", s.NotYetValid, false},
		{"ServerAuthOnly", s.ServerAuthOnly, false},
		{"FromOtherCA", s.FromOtherCA, false},
		{"FromRogueCA", s.FromRogueCA, false},
		{"RogueChain", s.RogueChain, false},
		{"SelfSignedGood", s.SelfSignedGood, false},
	} {
		_, err := verify(tc.leaf, x509.ExtKeyUsageClientAuth, s.Root)
		if tc.ok && err != nil {
			t.Errorf("%s: unexpected error %v", tc.name, err)
		}
		if !tc.ok && err == nil {
			t.Errorf("%s: verified against Root, want error", tc.name)
		}
	}

	for name, l := range map[string]*Leaf{"Expired": s.Expired, "NotYetValid": s.NotYetValid} {
		_, err := verify(l, x509.ExtKeyUsageClientAuth, s.Root)
		var invalid x509.CertificateInvalidError
		if !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
			t.Errorf("%s: error %v (%T), want CertificateInvalidError{Reason: Expired}", name, err, err)
		}
	}

	// The leaves that fail only because of their issuer do verify against
	// that issuer, proving they are otherwise well-formed.
	if _, err := verify(s.FromOtherCA, x509.ExtKeyUsageClientAuth, s.OtherRoot); err != nil {
		t.Errorf("FromOtherCA against OtherRoot: %v", err)
	}
	if _, err := verify(s.FromRogueCA, x509.ExtKeyUsageClientAuth, s.RogueRoot); err != nil {
		t.Errorf("FromRogueCA against RogueRoot: %v", err)
	}
	if _, err := verify(s.ServerAuthOnly, x509.ExtKeyUsageServerAuth, s.Root); err != nil {
		t.Errorf("ServerAuthOnly for ServerAuth: %v", err)
	}
	// Even trusting both the real root and the rogue root, RogueChain must
	// not chain through the real Intermediate.
	chains, err = verify(s.RogueChain, x509.ExtKeyUsageClientAuth, s.Root, s.RogueRoot)
	if err != nil {
		t.Fatalf("RogueChain against Root+RogueRoot: %v", err)
	}
	for _, c := range chains {
		if len(c) != 2 || !c[1].Equal(s.RogueRoot.Cert) {
			t.Errorf("RogueChain built unexpected chain of length %d", len(c))
		}
	}
}

// handshake runs a TLS handshake on loopback between a server using
// s.Server that requires a client certificate issued under s.Root and a
// client presenting client (none if nil), and returns the server's view of
// it. The client presents its certificate unconditionally, as an attacker
// would.
func handshake(t *testing.T, s *Set, client *Leaf) (tls.ConnectionState, error) {
	return handshakeMode(t, s, client, false)
}

// handshakeWithCertificates is handshake with the client certificate in
// tls.Config.Certificates, so that crypto/tls sends it only if its issuers
// match the acceptable CAs the server advertised.
func handshakeWithCertificates(t *testing.T, s *Set, client *Leaf) (tls.ConnectionState, error) {
	return handshakeMode(t, s, client, true)
}

func handshakeMode(t *testing.T, s *Set, client *Leaf, viaCertificates bool) (tls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type result struct {
		state tls.ConnectionState
		err   error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		srv := tls.Server(c, &tls.Config{
			Certificates: []tls.Certificate{s.Server.TLSCertificate()},
			ClientAuth:   tls.RequireAndVerifyClientCert,
			ClientCAs:    Pool(s.Root),
			MinVersion:   tls.VersionTLS12,
		})
		if err := srv.Handshake(); err != nil {
			done <- result{err: err}
			return
		}
		// Echo one message so that the client sees any failure and the
		// connection closes cleanly.
		buf := make([]byte, 4)
		if _, err := io.ReadFull(srv, buf); err != nil {
			done <- result{err: err}
			return
		}
		if _, err := srv.Write(buf); err != nil {
			done <- result{err: err}
			return
		}
		done <- result{state: srv.ConnectionState()}
	}()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	cfg := &tls.Config{
		RootCAs:    Pool(s.Root),
		ServerName: "localhost",
	}
	switch {
	case client == nil:
	case viaCertificates:
		cfg.Certificates = []tls.Certificate{client.TLSCertificate()}
	default:
		cert := client.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}
	}
	cli := tls.Client(conn, cfg)
	var clientErr error
	if err := cli.Handshake(); err != nil {
		clientErr = err
	} else if _, err := cli.Write([]byte("ping")); err != nil {
		clientErr = err
	} else if _, err := io.ReadFull(cli, make([]byte, 4)); err != nil {
		clientErr = err
	}
	cli.Close()
	r := <-done
	if (r.err == nil) != (clientErr == nil) {
		t.Errorf("server error %v, but client error %v", r.err, clientErr)
	}
	return r.state, r.err
}

func TestTLSHandshake(t *testing.T) {
	s := mustStandard(t)

	state, err := handshake(t, s, s.Good)
	if err != nil {
		t.Fatalf("Good: %v", err)
	}
	if len(state.PeerCertificates) != 2 || !state.PeerCertificates[0].Equal(s.Good.Cert) {
		t.Errorf("server saw %d peer certificates", len(state.PeerCertificates))
	}
	if len(state.VerifiedChains) != 1 || len(state.VerifiedChains[0]) != 3 {
		t.Errorf("server verified chains = %v", state.VerifiedChains)
	}

	// The same through tls.Config.Certificates, where crypto/tls picks the
	// certificate by the acceptable CAs the server advertised.
	state, err = handshakeWithCertificates(t, s, s.Good)
	if err != nil {
		t.Fatalf("Good via Config.Certificates: %v", err)
	}
	if len(state.PeerCertificates) == 0 || !state.PeerCertificates[0].Equal(s.Good.Cert) {
		t.Error("Good via Config.Certificates: server did not see Good")
	}

	for _, tc := range []struct {
		name string
		leaf *Leaf
		ok   bool
	}{
		{"Other", s.Other, true},
		{"CommaCN", s.CommaCN, true},
		{"CAAsClient", s.CAAsClient, true}, // crypto/tls accepts it; the plugin must not
		{"NoCertificate", nil, false},
		{"Expired", s.Expired, false},
		{"NotYetValid", s.NotYetValid, false},
		{"ServerAuthOnly", s.ServerAuthOnly, false},
		{"FromOtherCA", s.FromOtherCA, false},
		{"FromRogueCA", s.FromRogueCA, false},
		{"RogueChain", s.RogueChain, false},
		{"SelfSignedGood", s.SelfSignedGood, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := handshake(t, s, tc.leaf)
			if tc.ok && err != nil {
				t.Errorf("unexpected error %v", err)
			}
			if !tc.ok {
				if err == nil {
					t.Error("handshake succeeded, want error")
				} else {
					t.Logf("rejected as expected: %v", err)
				}
			}
		})
	}
}

func TestPEM(t *testing.T) {
	s := mustStandard(t)

	certPEM := s.Good.CertPEM()
	var blocks []*pem.Block
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		blocks = append(blocks, b)
	}
	if len(blocks) != 2 || blocks[0].Type != "CERTIFICATE" ||
		!bytes.Equal(blocks[0].Bytes, s.Good.Cert.Raw) || !bytes.Equal(blocks[1].Bytes, s.Intermediate.Cert.Raw) {
		t.Errorf("Good.CertPEM is not leaf then intermediate")
	}

	keyPEM := s.Good.KeyPEM()
	if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
		t.Errorf("KeyPEM block type wrong")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("X509KeyPair: %v", err)
	}
	if len(pair.Certificate) != 2 {
		t.Errorf("key pair has %d certificates", len(pair.Certificate))
	}

	if b, rest := pem.Decode(s.Root.CertPEM()); b == nil || !bytes.Equal(b.Bytes, s.Root.Cert.Raw) || len(rest) != 0 {
		t.Error("Root.CertPEM is not exactly the root certificate")
	}
}

func TestWriteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, []byte("old contents that are longer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "new" {
		t.Errorf("contents = %q, %v", got, err)
	}
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o600 {
			t.Errorf("mode = %o, want 600", perm)
		}
	}
}

func TestOptions(t *testing.T) {
	root, err := NewRoot(pkix.Name{CommonName: "Test Root"})
	if err != nil {
		t.Fatal(err)
	}
	inter, err := root.NewIntermediate(pkix.Name{CommonName: "Test Intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	sub, err := inter.NewIntermediate(pkix.Name{CommonName: "Test Sub-Intermediate"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Chain) != 1 || !sub.Chain[0].Equal(inter.Cert) {
		t.Errorf("sub.Chain is not [inter]")
	}

	// A multi-valued RDN (CN+UID) can only be expressed through RawSubject.
	rdn := pkix.RDNSequence{
		{{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: "US"}},
		{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "multi"},
			{Type: asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}, Value: "u42"},
		},
	}
	raw, err := asn1.Marshal(rdn)
	if err != nil {
		t.Fatal(err)
	}
	serial := big.NewInt(4242)
	l, err := sub.Issue(Options{
		Subject:    pkix.Name{CommonName: "ignored"},
		RawSubject: raw,
		URIs:       []string{"urn:example:42"},
		Serial:     serial,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(l.Cert.RawSubject, raw) {
		t.Error("RawSubject not used verbatim")
	}
	if l.Cert.SerialNumber.Cmp(serial) != 0 {
		t.Errorf("serial = %v", l.Cert.SerialNumber)
	}
	if len(l.Chain) != 2 || !l.Chain[0].Equal(sub.Cert) || !l.Chain[1].Equal(inter.Cert) {
		t.Error("leaf Chain is not [sub, inter]")
	}
	if _, err := verify(l, x509.ExtKeyUsageClientAuth, root); err != nil {
		t.Errorf("three-level chain: %v", err)
	}
	if got := len(l.TLSCertificate().Certificate); got != 3 {
		t.Errorf("TLSCertificate has %d certificates, want 3", got)
	}

	// Reusing a key, an explicit empty EKU, and random serials.
	a, err := root.Issue(Options{Key: l.Key, ExtKeyUsage: []x509.ExtKeyUsage{}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := root.Issue(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !a.Cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(l.Cert.PublicKey) {
		t.Error("Options.Key not used")
	}
	if len(a.Cert.ExtKeyUsage) != 0 {
		t.Errorf("explicit empty ExtKeyUsage gave %v", a.Cert.ExtKeyUsage)
	}
	if a.Cert.SerialNumber.Sign() <= 0 || a.Cert.SerialNumber.Cmp(b.Cert.SerialNumber) == 0 {
		t.Errorf("serials %v, %v: want distinct positive", a.Cert.SerialNumber, b.Cert.SerialNumber)
	}
	if time.Until(b.Cert.NotAfter) < 23*time.Hour || time.Since(b.Cert.NotBefore) < 59*time.Minute {
		t.Errorf("default validity %v..%v", b.Cert.NotBefore, b.Cert.NotAfter)
	}

	if _, err := root.Issue(Options{URIs: []string{"%zz"}}); err == nil {
		t.Error("bad URI accepted")
	}

	ss, err := SelfSigned(Options{Subject: pkix.Name{CommonName: "self"}, IsCA: true})
	if err != nil {
		t.Fatal(err)
	}
	if !ss.Cert.IsCA || ss.Cert.KeyUsage&x509.KeyUsageCertSign == 0 || len(ss.Chain) != 0 {
		t.Error("self-signed IsCA leaf wrong")
	}
	if err := ss.Cert.CheckSignatureFrom(ss.Cert); err != nil {
		t.Errorf("self-signed signature: %v", err)
	}
}

func TestStandardWithValidity(t *testing.T) {
	if _, err := StandardWithValidity(0); err == nil {
		t.Error("zero validity accepted")
	}
	s, err := StandardWithValidity(30 * 24 * time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Until(s.Good.Cert.NotAfter); d < 29*24*time.Hour || d > 30*24*time.Hour {
		t.Errorf("Good valid for %v more", d)
	}
	for _, l := range []*Leaf{s.Expired, s.NotYetValid, s.Good} {
		if l.Cert.NotBefore.Before(s.Intermediate.Cert.NotBefore) || l.Cert.NotAfter.After(s.Intermediate.Cert.NotAfter) {
			t.Errorf("%s validity not inside the issuing CA's", l.Cert.Subject)
		}
	}
}
