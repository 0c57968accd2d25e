package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an identifier format (Windows, Azure), not a security primitive here
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"
)

// certFacts is everything a policy compares about one certificate object.
// The TLS stack hands every request on a connection the same
// *x509.Certificate, so facts are found by that pointer: per request, a
// decision is a map lookup and a few byte compares. What is derived from
// the certificate's bytes is shared by every parse of the same bytes: a new
// connection parses the client's certificate anew, and finding its facts
// by SHA-256 costs far less than deriving them again. Facts must not refer
// to the certificate itself, or the weak cache below could never drop it.
type certFacts struct {
	*contentFacts

	self weak.Pointer[x509.Certificate] // the certificate object these facts describe

	// memo remembers the last trust_pool verification of this certificate
	// object, that is on the connection that presented it, so requests
	// after the first skip even the chain digest.
	memo atomic.Pointer[verifyMemo]
}

// contentFacts is what is derived from a certificate's bytes.
type contentFacts struct {
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

	shareable bool        // small enough (and with bytes) to be kept by content
	shared    atomic.Bool // put in contentCache once
}

// factsCacheSize caps the cache by address. Entries leave with their
// certificate (when its connection is gone), so the cap matters only with
// more live client connections than this; beyond it, certificates are not
// cached by address (their facts are then found by content on each
// request). Evicting a live entry instead would register one more cleanup
// on its certificate every time it was looked up again.
const factsCacheSize = 16384

// contentCacheSize caps the cache by content: the distinct client
// certificates whose derived facts outlive their connections.
const contentCacheSize = 4096

var (
	// factsCache maps a certificate's address to its facts. An address is
	// just a number, so the cache keeps no certificate alive; each entry's
	// weak pointer tells whether the certificate at that address is still
	// the one the facts were made for, and a cleanup removes the entry once
	// the certificate is collected.
	factsCache = newBoundedCache[uintptr, *certFacts](factsCacheSize)
	// contentCache maps a certificate's SHA-256 to what its bytes yield,
	// for certificates whose chain was verified (see shareContent).
	contentCache = newBoundedCache[[32]byte, *contentFacts](contentCacheSize)
)

// factsFor returns the facts of cert: by its address (a map lookup and a
// pointer compare), else from the facts of the same bytes, else derived.
func factsFor(cert *x509.Certificate) *certFacts {
	addr := uintptr(unsafe.Pointer(cert))
	if f, ok := factsCache.get(addr); ok && f.self.Value() == cert {
		return f
	}
	var content *contentFacts
	digest := sha256.Sum256(cert.Raw)
	if len(cert.Raw) > 0 {
		content, _ = contentCache.get(digest)
	}
	if content == nil {
		content = deriveFacts(cert, digest)
	}
	f := &certFacts{contentFacts: content, self: weak.Make(cert)}
	if factsCache.add(addr, f) {
		runtime.AddCleanup(cert, forgetFacts, addr)
	}
	return f
}

// shareContent makes what the certificate's bytes yield available to later
// parses of the same bytes, i.e. to the client's next connections. It is
// called only once the chain is verified: the cache outlives connections,
// so what it holds must not be chosen by an unauthenticated client (a small
// certificate full of names yields many times its size in facts). Large
// certificates are never kept, as with interning.
func (f *certFacts) shareContent() {
	c := f.contentFacts
	if !c.shareable || c.shared.Load() || !c.shared.CompareAndSwap(false, true) {
		return
	}
	contentCache.put(c.sha256, c)
}

// forgetFacts drops the entry of a collected certificate, unless a new
// certificate at the same address has taken its place.
func forgetFacts(addr uintptr) {
	factsCache.deleteIf(addr, func(f *certFacts) bool { return f.self.Value() == nil })
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// deriveFacts derives the facts of cert, whose SHA-256 is digest.
func deriveFacts(cert *x509.Certificate, digest [32]byte) *contentFacts {
	f := &contentFacts{
		shareable: len(cert.Raw) > 0 && len(cert.Raw) <= internMaxCertBytes,
		sha1:      sha1.Sum(cert.Raw), //nolint:gosec // identifier, see import
		sha256:    digest,
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
	f.commonNameText = cert.Subject.CommonName // the last CN, if several, as crypto/x509 keeps it
	f.serialText = f.serial
	f.notAfterText = cert.NotAfter.UTC().Format(time.RFC3339)
	return f
}
