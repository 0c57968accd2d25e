// forward.go: the handler's forwarding of the client certificate to the
// next handlers and upstreams as RFC 9440 header fields (Client-Cert,
// Client-Cert-Chain), and the removal of those fields from what clients
// send.

package clientcertificate

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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
// them: any case, and '_' or '.' for '-' (CGI, PHP, WSGI and Rack turn
// '-' into '_' and so read HTTP_CLIENT_CERT; php_fastcgi passes '.' on
// and PHP turns it into '_'). Only names of the two lengths are compared,
// so a request without them costs a walk over its header names.
func stripClientCertFields(h http.Header) {
	for name := range h {
		if (len(name) == len(clientCertField) && sameFieldName(name, clientCertField)) ||
			(len(name) == len(clientCertChainField) && sameFieldName(name, clientCertChainField)) {
			delete(h, name)
		}
	}
}

// sameFieldName compares two header field names of the same length
// ASCII-case-insensitively, with '_' and '.' standing for '-'.
func sameFieldName(a, b string) bool {
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x == '_' || x == '.' {
			x = '-'
		}
		if y == '_' || y == '.' {
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

// strippedVar is the key, in the request's vars, of the mark that the
// client's fields are gone: the first handler on a request removes them
// (headers now, trailers at the end of the body) and sets it, so a later
// handler in the same chain leaves alone what an earlier one forwarded
// instead of taking it for the client's.
const strippedVar = "client_certificate.fields_stripped"

// strippedMark is the value under strippedVar: a type of this package,
// so no vars directive of the configuration can set it.
type strippedMark struct{}

// stripClientFields removes the Client-Cert fields the client sent, from
// the header and from the trailers, once per request: it reports whether
// this call did (false when an earlier handler already had, on this
// request, and the fields now on it are that handler's).
func stripClientFields(r *http.Request) bool {
	if _, done := caddyhttp.GetVar(r.Context(), strippedVar).(strippedMark); done {
		return false
	}
	caddyhttp.SetVar(r.Context(), strippedVar, strippedMark{})
	stripClientCertFields(r.Header)
	stripTrailers(r)
	return true
}

// stripTrailers removes the Client-Cert fields from the request's
// trailers: those declared now and, since net/http and HTTP/2 fill the
// same r.Trailer map in when the body ends, those that arrive with the
// end of the body, before the caller of Read sees io.EOF (reverse_proxy
// copies r.Trailer to the upstream right after that EOF). Only a request
// that can carry trailers gets the wrapped body: one that declared some
// (r.Trailer non-nil) or has a body of unknown length (HTTP/1.1 chunked).
// Undeclared trailers of a request whose r.Trailer is nil land on the
// net/http server's own request, which no handler sees.
func stripTrailers(r *http.Request) {
	if r.Trailer != nil {
		stripClientCertFields(r.Trailer)
	}
	if r.Body == nil || r.Body == http.NoBody || (r.Trailer == nil && r.ContentLength >= 0) {
		return
	}
	r.Body = &trailerStripper{ReadCloser: r.Body, r: r, trailer: r.Trailer}
}

// trailerStripper is a request body that, when it ends, removes the
// Client-Cert fields from the request's trailers.
type trailerStripper struct {
	io.ReadCloser
	r       *http.Request
	trailer http.Header
}

func (b *trailerStripper) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		if b.trailer != nil {
			stripClientCertFields(b.trailer)
		}
		if b.r.Trailer != nil {
			stripClientCertFields(b.r.Trailer)
		}
	}
	return n, err
}

// forward sets the fields of an allowed decision on the request: the leaf
// the client presented (and proved it holds the key of), and with chain
// the CA certificates of the verified chain between it and the trust
// anchor.
//
//go:noinline
func (f *Forward) forward(h http.Header, leaf *x509.Certificate, d *Decision) {
	h[clientCertField] = []string{d.facts.clientCertValue(leaf.Raw)}
	// An earlier handler's chain is not this one's.
	delete(h, clientCertChainField)
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
