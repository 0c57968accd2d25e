// facts.go: what a policy compares about a certificate (contentFacts),
// derived once from its bytes, and the per-connection record that keeps
// those facts with the connection (connection).

package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an identifier format (Windows, Azure), not a security primitive here
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
	"weak"
)

// connection is what the plugin keeps about one TLS connection: the facts
// of its leaf certificate and what later requests of the connection can
// reuse. It is found by the certificate object crypto/tls parsed for the
// connection (see connections in state.go), and must not refer to that
// object, or the table could never drop it.
type connection struct {
	facts *contentFacts

	self weak.Pointer[x509.Certificate] // the leaf this record describes

	// verification remembers the trust_pool verifications on this
	// connection, one per policy (see withMemo), so requests after the
	// first skip even the chain digest.
	verification atomic.Pointer[[]verifyMemo]
	// tlsIssuerMemo remembers the digests of the CA certificates of the chains
	// the TLS layer verified, for issuer_thumbprint.
	tlsIssuerMemo atomic.Pointer[issuerMemo]
	// revocation remembers the revocation verdicts on this connection, one
	// per policy, each until it must be looked up again.
	revocation atomic.Pointer[[]revocationMemo]
}

// connectionOf returns the record of the connection whose leaf is leaf.
// After a completed handshake (proven) the record is found in, or added
// to, the connection table, so its facts are derived once per connection
// whatever the state of the shared caches. Before (the verifier), it is a
// record for this call only.
func connectionOf(leaf *x509.Certificate, proven bool) *connection {
	if proven {
		if c, ok := connections.lookup(leaf); ok {
			return c
		}
	}
	c := &connection{facts: factsOf(leaf)}
	if proven {
		c = connections.register(leaf, c)
	}
	return c
}

// factsOf returns what cert's bytes yield: shared by an earlier connection
// of the same certificate, or derived.
func factsOf(cert *x509.Certificate) *contentFacts {
	digest := sha256.Sum256(cert.Raw)
	if len(cert.Raw) > 0 {
		if f, ok := sharedFactsOf(&digest); ok {
			return f
		}
	}
	return deriveFacts(cert, digest)
}

// contentFacts is everything a policy compares about a certificate, derived
// from its bytes once.
type contentFacts struct {
	sha1   [20]byte
	sha256 [32]byte
	spki   [32]byte // SHA-256 of SubjectPublicKeyInfo

	// subject and issuer are the names' standard keys ("" when the name
	// never matches); subjectOther and issuerOther their other keys
	// (nameFacts.keys).
	subject, issuer             dnKey
	subjectOther, issuerOther   []dnKey
	subjectString, issuerString string // RFC 4514, "" when the name does not parse
	commonNames                 []string
	dnsNames                    []string
	emails                      []string
	uris                        []string
	ips                         []netip.Addr
	serial                      string // upper-case hex, no leading zeros
	isCA                        bool
	notAfter                    time.Time
	validity                    window // notBefore..notAfter

	// Pre-rendered placeholder values, boxed once so that setting them on a
	// request does not allocate.
	thumbprintHex, thumbprintSHA256Hex any
	subjectText, issuerText            any
	commonNameText, serialText         any
	notAfterText                       any

	shareable bool        // small enough (and with bytes) to be kept by content
	shared    atomic.Bool // put in sharedFacts once

	// clientCert is the certificate as an RFC 9440 Client-Cert value,
	// rendered on first use (forward rfc9440 in a handler).
	clientCert atomic.Pointer[string]
}

// clientCertValue returns the certificate, whose DER is raw, as an RFC 9440
// Client-Cert value, rendered once.
func (f *contentFacts) clientCertValue(raw []byte) string {
	if v := f.clientCert.Load(); v != nil {
		return *v
	}
	v := byteSequence(raw)
	f.clientCert.Store(&v)
	return v
}

// splitKeys splits a name's keys into its standard key and the others.
func splitKeys(keys []dnKey) (dnKey, []dnKey) {
	if len(keys) == 0 {
		return "", nil
	}
	return keys[0], keys[1:]
}

// deriveFacts derives the facts of cert, whose SHA-256 is digest.
func deriveFacts(cert *x509.Certificate, digest [32]byte) *contentFacts {
	f := &contentFacts{
		shareable: len(cert.Raw) > 0 && len(cert.Raw) <= sharedFactsMaxCertBytes,
		sha1:      sha1.Sum(cert.Raw), //nolint:gosec // identifier, see import
		sha256:    digest,
		spki:      sha256.Sum256(cert.RawSubjectPublicKeyInfo),
		notAfter:  cert.NotAfter,
		validity:  windowOf(cert.NotBefore, cert.NotAfter),
		isCA:      cert.BasicConstraintsValid && cert.IsCA,
	}
	subject := nameFactsOf(cert.RawSubject)
	f.subject, f.subjectOther = splitKeys(subject.keys)
	f.subjectString, f.commonNames = subject.text, subject.commonNames
	issuer := nameFactsOf(cert.RawIssuer)
	f.issuer, f.issuerOther = splitKeys(issuer.keys)
	f.issuerString = issuer.text
	for _, n := range cert.DNSNames {
		f.dnsNames = append(f.dnsNames, normalizeDNSName(n))
	}
	for _, e := range cert.EmailAddresses {
		f.emails = append(f.emails, normalizeEmail(e))
	}
	for _, u := range cert.URIs {
		f.uris = append(f.uris, u.String())
	}
	for _, ip := range cert.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			f.ips = append(f.ips, a.Unmap())
		}
	}
	if cert.SerialNumber != nil && cert.SerialNumber.Sign() >= 0 {
		f.serial = strings.ToUpper(cert.SerialNumber.Text(16))
	}
	f.thumbprintHex = strings.ToUpper(hex.EncodeToString(f.sha1[:]))
	f.thumbprintSHA256Hex = hex.EncodeToString(f.sha256[:])
	f.subjectText = f.subjectString
	f.issuerText = f.issuerString
	f.commonNameText = subject.lastCN
	f.serialText = f.serial
	f.notAfterText = cert.NotAfter.UTC().Format(time.RFC3339)
	return f
}
