// values.go: parsers of the values operators write in a policy
// (thumbprints, SPKI pins, serials, IPs, DNS and URI patterns, e-mail).
// Every parser returns an error that says what would have been accepted,
// because the caller prefixes it with the directive and the offending value.

package clientcertificate

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"unicode/utf8"
)

// digestSet holds decoded certificate thumbprints, SHA-1 and SHA-256 apart,
// so a lookup is a handful of fixed-size array compares.
type digestSet struct {
	sha1   [][20]byte
	sha256 [][32]byte
}

func newDigestSet(digests [][]byte) digestSet {
	var s digestSet
	for _, b := range digests {
		s.insert(b)
	}
	return s
}

func (s *digestSet) empty() bool { return len(s.sha1) == 0 && len(s.sha256) == 0 }

func (s *digestSet) insert(b []byte) {
	switch len(b) {
	case 20:
		s.sha1 = append(s.sha1, [20]byte(b))
	case 32:
		s.sha256 = append(s.sha256, [32]byte(b))
	}
}

// contains reports whether either digest of a certificate is in the set.
func (s *digestSet) contains(sha1 *[20]byte, sha256 *[32]byte) bool {
	for i := range s.sha1 {
		if s.sha1[i] == *sha1 {
			return true
		}
	}
	for i := range s.sha256 {
		if s.sha256[i] == *sha256 {
			return true
		}
	}
	return false
}

// cleanHex strips what people paste around hex digests: colons and spaces
// (openssl, Windows), and the invisible left-to-right mark that the Windows
// certificate dialog puts in front of a copied thumbprint.
func cleanHex(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ':', ' ', '\t', '\u200e', '\u200f', '\ufeff':
			return -1
		}
		return r
	}, s)
}

// parseThumbprint decodes a SHA-1 (40 hex digits, as Windows and Azure print
// it) or SHA-256 (64 hex digits) certificate thumbprint.
func parseThumbprint(value string) ([]byte, error) {
	s := cleanHex(value)
	if len(s) != 40 && len(s) != 64 {
		return nil, fmt.Errorf("want 40 hex digits (SHA-1, as Windows and Azure print it) or 64 (SHA-256); got %d (colons and spaces are ignored)", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not hexadecimal: want 40 (SHA-1) or 64 (SHA-256) hex digits")
	}
	return b, nil
}

// parseSPKI decodes a SHA-256 digest of a SubjectPublicKeyInfo, written in
// base64 (as Envoy's verify_certificate_spki and HPKP pins print it,
// optionally prefixed "sha256/") or as 64 hex digits.
func parseSPKI(value string) ([32]byte, error) {
	var out [32]byte
	s := strings.TrimSpace(value)
	// curl writes "sha256//<base64>", OkHttp "sha256/<base64>"; base64 may
	// itself start with '/', so try each reading.
	candidates := []string{s}
	if rest, ok := strings.CutPrefix(s, "sha256/"); ok {
		candidates = append(candidates, rest)
		if rest, ok := strings.CutPrefix(rest, "/"); ok {
			candidates = append(candidates, rest)
		}
	}
	for _, c := range candidates {
		if h := cleanHex(c); len(h) == 64 {
			if b, err := hex.DecodeString(h); err == nil {
				return [32]byte(b), nil
			}
		}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(c); err == nil && len(b) == 32 {
				return [32]byte(b), nil
			}
		}
	}
	return out, fmt.Errorf("want the SHA-256 of the SubjectPublicKeyInfo as 44 base64 characters (as Envoy prints it) or 64 hex digits")
}

// maxSerialHexDigits is generous: RFC 5280 allows 20 bytes, and some
// issuers exceed it.
const maxSerialHexDigits = 128

// asciiLower lower-cases ASCII letters only. strings.ToLower would turn
// look-alikes such as U+212A KELVIN SIGN into ASCII letters.
func asciiLower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= 'A' && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// parseSerial canonicalises a serial number written in hex as openssl
// prints it: case, colons, spaces and leading zeros do not matter. The result
// is upper-case hex without leading zeros ("0" for zero), the same form
// contentFacts keeps.
func parseSerial(value string) (string, error) {
	s := cleanHex(value)
	if s == "" {
		return "", fmt.Errorf("empty serial: want hex digits as openssl prints them, e.g. 0A:1B:2C")
	}
	for i := 0; i < len(s); i++ {
		if !isHexDigit(s[i]) {
			return "", fmt.Errorf("not hexadecimal: want hex digits as openssl prints them, e.g. 0A:1B:2C (decimal serials are not accepted)")
		}
	}
	s = strings.TrimLeft(strings.ToUpper(s), "0")
	if s == "" {
		s = "0"
	}
	if len(s) > maxSerialHexDigits {
		return "", fmt.Errorf("serial is %d hex digits long; certificates in use have at most 20 bytes (40 hex digits), and this accepts up to %d", len(s), maxSerialHexDigits)
	}
	return s, nil
}

// parseCommonName accepts any non-empty common name without control
// characters and folds it as DN values are folded.
func parseCommonName(value string) (string, error) {
	folded, ok := foldDNValue(value)
	switch {
	case !ok:
		return "", fmt.Errorf("holds a control character (such as tab, CR or LF): common names holding control characters never match; want the CN of the client certificate, e.g. station-042")
	case folded == "":
		return "", fmt.Errorf("empty common name: want the CN of the client certificate, e.g. station-042")
	}
	return folded, nil
}

// parseIPPrefix accepts an IP address or a CIDR range.
func parseIPPrefix(value string) (netip.Prefix, error) {
	if strings.Contains(value, "/") {
		p, err := netip.ParsePrefix(value) // rejects zones
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("want an IP address or a CIDR range such as 10.42.0.0/16 or 2001:db8::/32")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			// Certificates carry IPv4 SANs as 4 bytes; compare like with like.
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(value)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("want an IP address or a CIDR range such as 10.42.0.0/16 or 2001:db8::/32")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// dnsPattern is a SAN DNS name condition: an exact name, or "*.suffix",
// which matches exactly one label of letters, digits and hyphens in front of
// suffix.
type dnsPattern struct {
	name     string // exact, lower-case, no trailing dot
	wildcard bool   // name is then ".suffix"
}

func parseDNSPattern(value string) (dnsPattern, error) {
	s := strings.TrimSuffix(asciiLower(strings.TrimSpace(value)), ".")
	wildcard := strings.HasPrefix(s, "*.")
	host := s
	if wildcard {
		host = s[2:]
	}
	if host == "" || len(s) > 253 {
		return dnsPattern{}, fmt.Errorf("want a DNS name such as station-042.example.com, or *.example.com to match one label")
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || len(label) > 63 {
			return dnsPattern{}, fmt.Errorf("empty or over-long label: want a DNS name such as station-042.example.com, or *.example.com to match one label")
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return dnsPattern{}, fmt.Errorf("character %q not allowed: want ASCII letters, digits, '-', '_' and '.', with an optional leading '*.' (write internationalised names in punycode, xn--...)", r)
			}
		}
	}
	if wildcard {
		return dnsPattern{name: s[1:], wildcard: true}, nil
	}
	return dnsPattern{name: s}, nil
}

// match compares against a certificate SAN already lower-cased and without
// a trailing dot.
func (p dnsPattern) match(san string) bool {
	if !p.wildcard {
		return san == p.name
	}
	if san == "*"+p.name {
		return true
	}
	label, rest, ok := strings.Cut(san, ".")
	return ok && isHostLabel(label) && "."+rest == p.name
}

// isHostLabel reports whether s is one DNS label of letters, digits and
// hyphens (the SAN is already lower-cased): what a leading "*." may stand
// for. Anything else (a NUL, a space, an underscore, "*") is not a host
// name a wildcard should cover.
func isHostLabel(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// normalizeDNSName puts a certificate SAN in the form dnsPattern compares.
func normalizeDNSName(s string) string {
	return strings.TrimSuffix(asciiLower(s), ".")
}

// parseEmail accepts user@domain. The domain is compared case-insensitively,
// the local part exactly (RFC 5321).
func parseEmail(value string) (string, error) {
	local, domain, ok := strings.Cut(value, "@")
	if !ok || local == "" || domain == "" || strings.Contains(domain, "@") || strings.ContainsAny(value, " \t") || !isASCII(value) {
		return "", fmt.Errorf("want an e-mail address such as station-042@example.com (ASCII)")
	}
	return normalizeEmail(value), nil
}

func normalizeEmail(s string) string {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return s
	}
	return s[:i+1] + asciiLower(s[i+1:])
}

func isASCII[T string | []byte](s T) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// uriPattern is a SAN URI condition: an exact URI, or one ending in "/*",
// which matches any path of plain segments below it (SPIFFE IDs of a whole
// namespace; see match).
type uriPattern struct {
	uri    string
	prefix bool // uri then ends in "/"
}

func parseURIPattern(value string) (uriPattern, error) {
	s := value
	prefix := strings.HasSuffix(s, "/*")
	if prefix {
		s = strings.TrimSuffix(s, "*")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || strings.ContainsAny(s, " \t") {
		return uriPattern{}, fmt.Errorf("want an absolute URI such as spiffe://example.org/ns/prod/sa/api, optionally ending in /* to match any path below")
	}
	// Compare in the form contentFacts keeps: crypto/x509 parses URI SANs with
	// url.Parse, and String() lower-cases the scheme.
	norm := u.String()
	if prefix && !strings.HasSuffix(norm, "/") {
		// e.g. "a://*": String() drops the empty authority and the slashes.
		return uriPattern{}, fmt.Errorf("a pattern ending in /* needs a host, e.g. spiffe://example.org/*")
	}
	return uriPattern{uri: norm, prefix: prefix}, nil
}

// match compares against a certificate URI SAN as crypto/x509 parsed it
// and url.URL.String prints it. A prefix pattern matches only what follows
// SPIFFE's rules for the rest of the path: one or more non-empty segments
// of unreserved characters (RFC 3986: letters, digits, "-", ".", "_", "~"),
// none of them "." or "..". Percent-encoding, a query or a fragment never
// match a prefix, so "ns/prod/*" can be stretched neither by
// "ns/prod/..%2fadmin" nor by "ns/prod/x?y".
func (p uriPattern) match(san string) bool {
	if !p.prefix {
		return san == p.uri
	}
	rest, ok := strings.CutPrefix(san, p.uri)
	return ok && isSegmentPath(rest)
}

// isSegmentPath reports whether s is one or more "/"-separated non-empty
// segments of unreserved characters, none of them "." or "..".
func isSegmentPath(s string) bool {
	for {
		seg, rest, more := strings.Cut(s, "/")
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
		for i := 0; i < len(seg); i++ {
			if !isUnreserved(seg[i]) {
				return false
			}
		}
		if !more {
			return true
		}
		s = rest
	}
}

// isUnreserved reports whether c is an unreserved character of RFC 3986.
func isUnreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
