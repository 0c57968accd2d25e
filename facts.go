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
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
	"weak"
)

// certFacts is everything a policy compares, derived once from a
// certificate. The TLS stack hands every request on a connection the same
// *x509.Certificate, so facts are cached by that pointer: per request, a
// decision is a map lookup and a few byte compares. Facts must not refer
// to the certificate itself, or the weak cache below could never drop it.
type certFacts struct {
	self weak.Pointer[x509.Certificate] // the certificate these facts describe

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

// factsCacheSize caps the facts cache. Entries leave with their
// certificate (when its connection is gone), so the cap matters only with
// more live client connections than this.
const factsCacheSize = 16384

// factsCache maps a certificate's address to its facts. An address is just
// a number, so the cache keeps no certificate alive; each entry's weak
// pointer tells whether the certificate at that address is still the one
// the facts were derived from, and a cleanup removes the entry once the
// certificate is collected. A hit costs a map lookup and a pointer compare.
var factsCache = struct {
	sync.RWMutex
	m map[uintptr]*certFacts
}{m: make(map[uintptr]*certFacts)}

// factsFor returns the cached facts of cert, deriving them on first sight.
func factsFor(cert *x509.Certificate) *certFacts {
	addr := uintptr(unsafe.Pointer(cert))
	factsCache.RLock()
	f := factsCache.m[addr]
	factsCache.RUnlock()
	if f != nil && f.self.Value() == cert {
		return f
	}
	f = deriveFacts(cert)
	f.self = weak.Make(cert)
	factsCache.Lock()
	if _, exists := factsCache.m[addr]; !exists && len(factsCache.m) >= factsCacheSize {
		for victim := range factsCache.m { // Go randomises the order
			delete(factsCache.m, victim)
			break
		}
	}
	factsCache.m[addr] = f
	factsCache.Unlock()
	runtime.AddCleanup(cert, forgetFacts, addr)
	return f
}

// forgetFacts drops the entry of a collected certificate, unless a new
// certificate at the same address has taken its place.
func forgetFacts(addr uintptr) {
	factsCache.Lock()
	if f := factsCache.m[addr]; f != nil && f.self.Value() == nil {
		delete(factsCache.m, addr)
	}
	factsCache.Unlock()
}

func factsCacheLen() int {
	factsCache.RLock()
	defer factsCache.RUnlock()
	return len(factsCache.m)
}

var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

func deriveFacts(cert *x509.Certificate) *certFacts {
	f := &certFacts{
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
	f.commonNameText = cert.Subject.CommonName // the last CN, if several, as crypto/x509 keeps it
	f.serialText = f.serial
	f.notAfterText = cert.NotAfter.UTC().Format(time.RFC3339)
	return f
}
