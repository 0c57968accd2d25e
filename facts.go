package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an identifier format (Windows, Azure), not a security primitive here
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"
)

// certFacts is everything a policy compares, derived once from a
// certificate. The TLS stack hands every request on a connection the same
// *x509.Certificate, so facts are cached by that pointer: per request, a
// decision is a map lookup and a few byte compares.
type certFacts struct {
	cert *x509.Certificate

	sha1   [20]byte
	sha256 [32]byte
	spki   [32]byte // SHA-256 of SubjectPublicKeyInfo

	subject, issuer     dnKey // "" when the name does not parse: never matches
	commonNames         []string
	dnsNames            []string
	emails              []string
	uris                []string
	ips                 []netip.Addr
	serial              string // upper-case hex, no leading zeros
	isCA                bool
	notBefore, notAfter time.Time

	// Pre-rendered placeholder values, boxed once so that setting them on a
	// request does not allocate.
	thumbprintHex, thumbprintSHA256Hex any
	subjectText, issuerText            any
	commonNameText, serialText         any
	notAfterText                       any

	// memo remembers the last trust_pool verification of this certificate
	// (on the connection that presented it), so requests after the first
	// skip even the chain digest.
	memo atomic.Pointer[verifyMemo]
}

// factsCacheSize bounds the facts cache. Entries are per connection (the
// key is the parsed certificate), so this is roughly the number of distinct
// client connections whose facts stay warm.
const factsCacheSize = 8192

var factsCache = newBoundedCache[*x509.Certificate, *certFacts](factsCacheSize)

// factsFor returns the cached facts of cert, deriving them on first sight.
func factsFor(cert *x509.Certificate) *certFacts {
	if f, ok := factsCache.get(cert); ok {
		return f
	}
	f := deriveFacts(cert)
	factsCache.put(cert, f)
	return f
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func deriveFacts(cert *x509.Certificate) *certFacts {
	f := &certFacts{
		cert:      cert,
		sha1:      sha1.Sum(cert.Raw), //nolint:gosec // identifier, see import
		sha256:    sha256.Sum256(cert.Raw),
		spki:      sha256.Sum256(cert.RawSubjectPublicKeyInfo),
		notBefore: cert.NotBefore,
		notAfter:  cert.NotAfter,
		isCA:      cert.BasicConstraintsValid && cert.IsCA,
	}
	if k, err := dnKeyFromDER(cert.RawSubject); err == nil {
		f.subject = k
	}
	if k, err := dnKeyFromDER(cert.RawIssuer); err == nil {
		f.issuer = k
	}
	for _, atv := range cert.Subject.Names {
		if v, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
			f.commonNames = append(f.commonNames, foldDNValue(v))
		}
	}
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
	f.subjectText = formatDN(cert.RawSubject)
	f.issuerText = formatDN(cert.RawIssuer)
	f.commonNameText = cert.Subject.CommonName
	f.serialText = f.serial
	f.notAfterText = cert.NotAfter.UTC().Format(time.RFC3339)
	return f
}
