// forward.go: the handler's forwarding of the client certificate to the
// next handlers and upstreams as RFC 9440 header fields (Client-Cert,
// Client-Cert-Chain), and the removal of those fields from what clients
// send.

package clientcertificate

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
)

// Forward passes the certificate of an allowed request on to the next
// handlers (and through reverse_proxy to upstreams) in request header
// fields. Whatever this says, the handler removes the fields from every
// request it sees first, so a client can never set them.
type Forward struct {
	// Format of the fields: "rfc9440" (the only one, required): the leaf in
	// Client-Cert as an RFC 8941 byte sequence (":<base64 DER>:").
	Format string `json:"format,omitempty"`

	// Also send Client-Cert-Chain: the CA certificates of the verified
	// chain (by the TLS layer or the policy's trust_pool) above the leaf,
	// from the leaf's issuer up, without the trust anchor, as an RFC 8941
	// list of byte sequences. Never the leaf, never certificates the
	// client merely presented; not sent when nothing verified the chain
	// (a pin on an unverified chain) or when the leaf's issuer is the
	// trust anchor. Default: off.
	Chain bool `json:"chain,omitempty"`
}

// The forwarding formats Forward.Format accepts.
const forwardRFC9440 = "rfc9440"

// The RFC 9440 header fields, in Go's canonical form.
const (
	clientCertField      = "Client-Cert"
	clientCertChainField = "Client-Cert-Chain"
)

// validate checks the forward settings.
func (f *Forward) validate() error {
	if f.Format != forwardRFC9440 {
		return fmt.Errorf("forward: format %q: want %q", f.Format, forwardRFC9440)
	}
	return nil
}

// stripClientCertFields removes Client-Cert and Client-Cert-Chain from h,
// under any spelling a server or framework behind the proxy could read as
// them: any case, and '_' for '-' (CGI, PHP, WSGI and Rack turn both into
// HTTP_CLIENT_CERT). Only names of the two lengths are compared, so a
// request without them costs a walk over its header names.
func stripClientCertFields(h http.Header) {
	for name := range h {
		if (len(name) == len(clientCertField) && sameFieldName(name, clientCertField)) ||
			(len(name) == len(clientCertChainField) && sameFieldName(name, clientCertChainField)) {
			delete(h, name)
		}
	}
}

// sameFieldName compares two header field names of the same length
// ASCII-case-insensitively, with '_' standing for '-'.
func sameFieldName(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if y == '_' {
			y = '-'
		}
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// forward sets the fields of an allowed decision on the request: the leaf
// the client presented (and proved it holds the key of), and with chain
// the CA certificates of the verified chain between it and the trust
// anchor.
//
//go:noinline
func (f *Forward) forward(h http.Header, leaf *x509.Certificate, d *Decision) {
	h[clientCertField] = []string{d.facts.clientCertValue(leaf.Raw)}
	if !f.Chain || !d.Verified {
		return
	}
	if v := chainValue(d.chain); v != "" {
		h[clientCertChainField] = []string{v}
	}
}

// chainValue renders the CA certificates of a verified chain (leaf first,
// trust anchor last) between the leaf and the trust anchor as an RFC 8941
// list of byte sequences, the leaf's issuer first; "" when there are none.
// The trust anchor is left out, as RFC 9440 section 2.3 allows: the
// upstream validates against its own trust store, which must hold it
// anyway, and Keycloak's rfc9440 lookup refuses a chain longer than its
// certificate-chain-length (default 1).
func chainValue(chain []*x509.Certificate) string {
	if len(chain) < 3 {
		return ""
	}
	cas := chain[1 : len(chain)-1]
	n := 0
	for _, c := range cas {
		n += base64.StdEncoding.EncodedLen(len(c.Raw)) + 4
	}
	b := make([]byte, 0, n)
	for i, c := range cas {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendByteSequence(b, c.Raw)
	}
	return string(b)
}

// byteSequence renders der as an RFC 8941 byte sequence: ':', its base64
// (standard alphabet, padded), ':'.
func byteSequence(der []byte) string {
	return string(appendByteSequence(make([]byte, 0, base64.StdEncoding.EncodedLen(len(der))+2), der))
}

func appendByteSequence(b, der []byte) []byte {
	b = append(b, ':')
	b = base64.StdEncoding.AppendEncode(b, der)
	return append(b, ':')
}
