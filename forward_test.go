// forward_test.go: the RFC 9440 fields on requests as Caddy hands them to
// the handler: what is forwarded on allow (the leaf; the verified chain's
// CA certificates, never the leaf, the trust anchor or merely presented
// certificates), and that whatever a client sent under those names is
// gone on every request, whatever the decision.

package clientcertificate

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// spoofed sets, on h, the fields a client would use to pass itself off as
// someone: Client-Cert and Client-Cert-Chain in their canonical form, in
// lower case, with underscores (which CGI-style frameworks read as the
// same field) and with dots (which PHP reads so behind php_fastcgi).
func spoofed(h http.Header, l *testpki.Leaf) {
	v := byteSequence(l.Cert.Raw)
	h["Client-Cert"] = []string{v}
	h["Client-Cert-Chain"] = []string{v}
	h["client-cert"] = []string{v}
	h["Client_Cert"] = []string{v}
	h["CLIENT_CERT_CHAIN"] = []string{v}
	h["Client.Cert"] = []string{v}
}

// clientCertFields returns the names of the header fields of h that read
// as Client-Cert or Client-Cert-Chain in any spelling stripClientCertFields
// removes, sorted.
func clientCertFields(h http.Header) []string {
	var out []string
	for name := range h {
		n := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
		if n == "client-cert" || n == "client-cert-chain" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// parseByteSequences reads an RFC 8941 list of byte sequences (one member
// for Client-Cert) as certificates.
func parseByteSequences(t *testing.T, v string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, member := range strings.Split(v, ", ") {
		if len(member) < 2 || member[0] != ':' || member[len(member)-1] != ':' {
			t.Fatalf("%q is not a byte sequence", member)
		}
		der, err := base64.StdEncoding.Strict().DecodeString(member[1 : len(member)-1])
		if err != nil {
			t.Fatalf("byte sequence %q: %v", member, err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("byte sequence: %v", err)
		}
		out = append(out, c)
	}
	return out
}

func TestStripClientCertFields(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"Client-Cert", "client-cert", "CLIENT-CERT", "Client_Cert", "client_cert",
		"Client-Cert-Chain", "client_cert_chain", "Client-Cert_Chain", "Client.Cert", "client.cert.chain", "Client-Cert.Chain"} {
		h[name] = []string{"x"}
	}
	kept := []string{"Client-Certs", "Client.Certs", "X-Client-Cert", "Client-Cert-Chains", "Client-Cerq", "Client-Cert-Chaim", "Ssl-Client-Cert", "Accept"}
	for _, name := range kept {
		h[name] = []string{"x"}
	}
	stripClientCertFields(h)
	var left []string
	for name := range h {
		left = append(left, name)
	}
	slices.Sort(left)
	slices.Sort(kept)
	if !slices.Equal(left, kept) {
		t.Errorf("left %q, want %q", left, kept)
	}
}

func TestHandlerForwardRFC9440(t *testing.T) {
	s := pki(t)
	direct, err := s.Root.Issue(testpki.Options{Subject: s.Good.Cert.Subject})
	if err != nil {
		t.Fatal(err)
	}
	chain := &Forward{Format: forwardRFC9440, Chain: true}
	names := Policy{Conditions: Conditions{Subject: []string{goodSubject}}}
	byTLS := compiled(t, names, nil)
	poolPolicy := names
	poolPolicy.keepChain = true
	byPool := compiled(t, poolPolicy, testpki.Pool(s.Root))
	pin := compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil)
	// extra is what a client presents besides its chain: a certificate
	// that is in no verified chain.
	withExtra := func(l *testpki.Leaf) []*x509.Certificate { return append(presented(l), s.OtherRoot.Cert) }

	for _, c := range []struct {
		name      string
		p         *Policy
		forward   *Forward
		cs        *tls.ConnectionState
		leaf      *x509.Certificate   // nil: denied
		wantChain []*x509.Certificate // nil: no Client-Cert-Chain
	}{
		{"TLS-verified chain", byTLS, chain, state(s.Good, true, s.Root), s.Good.Cert, []*x509.Certificate{s.Intermediate.Cert}},
		{"TLS-verified chain, a certificate presented besides it", byTLS, chain,
			&tls.ConnectionState{HandshakeComplete: true, PeerCertificates: withExtra(s.Good), VerifiedChains: tlsVerified(s.Good, testpki.Pool(s.Root))},
			s.Good.Cert, []*x509.Certificate{s.Intermediate.Cert}},
		{"trust_pool chain, a certificate presented besides it", byPool, chain,
			&tls.ConnectionState{HandshakeComplete: true, PeerCertificates: withExtra(s.Good)}, s.Good.Cert, []*x509.Certificate{s.Intermediate.Cert}},
		{"issued by the trust anchor: no CA certificate to send", byPool, chain, state(direct, false, nil), direct.Cert, nil},
		{"without chain", byTLS, &Forward{Format: forwardRFC9440}, state(s.Good, true, s.Root), s.Good.Cert, nil},
		{"a pin on an unverified chain: the leaf, and no chain", pin, chain, state(s.Good, false, nil), s.Good.Cert, nil},
		{"denied", byTLS, chain, state(s.Other, true, s.Root), nil, nil},
		{"plain HTTP", byTLS, chain, nil, nil, nil},
		{"no certificate", byTLS, chain, &tls.ConnectionState{HandshakeComplete: true}, nil, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := &Handler{Policy: *c.p, Forward: c.forward}
			r, _ := newRequest(c.cs)
			spoofed(r.Header, s.Other)
			next := &nextRecorder{}
			err := h.ServeHTTP(httptest.NewRecorder(), r, next)
			if (err == nil) != (c.leaf != nil) {
				t.Fatalf("error %v, want allowed=%v", err, c.leaf != nil)
			}
			fields := clientCertFields(r.Header)
			if c.leaf == nil {
				if len(fields) != 0 {
					t.Fatalf("a denied request keeps %v", fields)
				}
				return
			}
			got := r.Header.Values(clientCertField)
			if len(got) != 1 {
				t.Fatalf("Client-Cert: %q, want one value", got)
			}
			if certs := parseByteSequences(t, got[0]); len(certs) != 1 || !certs[0].Equal(c.leaf) {
				t.Errorf("Client-Cert is not the presented leaf")
			}
			chainValues := r.Header.Values(clientCertChainField)
			if c.wantChain == nil {
				if len(chainValues) != 0 {
					t.Errorf("Client-Cert-Chain %q, want none", chainValues)
				}
			} else {
				if len(chainValues) != 1 {
					t.Fatalf("Client-Cert-Chain: %q, want one field", chainValues)
				}
				certs := parseByteSequences(t, chainValues[0])
				if !slices.EqualFunc(certs, c.wantChain, (*x509.Certificate).Equal) {
					t.Errorf("Client-Cert-Chain has %d certificates, not the verified chain's CA certificates below the trust anchor", len(certs))
				}
			}
			if len(fields) != len(got)+min(1, len(chainValues)) {
				t.Errorf("fields %v: a spoofed spelling survived", fields)
			}
		})
	}
}

// chainValue renders every CA certificate strictly between the leaf and
// the trust anchor, in order, as an RFC 8941 list.
func TestChainValue(t *testing.T) {
	a, b, c, d := &x509.Certificate{Raw: []byte{1}}, &x509.Certificate{Raw: []byte{2, 3}}, &x509.Certificate{Raw: []byte{4}}, &x509.Certificate{Raw: []byte{5}}
	for _, tc := range []struct {
		chain []*x509.Certificate
		want  string
	}{
		{nil, ""},
		{[]*x509.Certificate{a}, ""},
		{[]*x509.Certificate{a, b}, ""},
		{[]*x509.Certificate{a, b, c}, ":AgM=:"},
		{[]*x509.Certificate{a, b, c, d}, ":AgM=:, :BA==:"},
	} {
		if got := chainValue(tc.chain); got != tc.want {
			t.Errorf("chainValue(%d certificates) = %q, want %q", len(tc.chain), got, tc.want)
		}
	}
}
