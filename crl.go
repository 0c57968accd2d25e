// crl.go: certificate revocation lists: reading a CRL (DER or PEM) into a
// compact index of its revoked serial numbers, and checking which CA
// signed it.

package clientcertificate

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// The CRLs of large CAs list millions of certificates, and crypto/x509
// spends about 370 bytes of heap on each entry (a big.Int, a time.Time,
// slices and a copy for the deprecated field). So parseCRL reads the entries
// itself, straight from the DER into a serialSet (about 30 bytes an entry),
// and lets crypto/x509 parse only the rest: the header, the extensions and
// the signature, from a copy of the CRL without its entries. Signatures are
// checked by crypto/x509 alone, over the original bytes.

// crlList is a CRL read and indexed: it answers whether a serial is listed,
// and is trusted only through verifyIssuer.
type crlList struct {
	issuer         []byte   // DER of the CRL issuer's Name (as in a certificate's RawIssuer)
	authorityKeyID []byte   // nil when absent
	number         *big.Int // nil when absent
	thisUpdate     time.Time
	nextUpdate     time.Time // zero when absent
	unsupported    string    // "" for a complete CRL; else why it cannot vouch that a certificate is good
	// scope is set when the CRL's issuingDistributionPoint names its
	// partition: the CRL covers only certificates whose cRLDistributionPoints
	// name one of these URIs.
	scope []string
	// onlyUserCerts: issuingDistributionPoint onlyContainsUserCerts; the
	// CRL says nothing about CA certificates.
	onlyUserCerts bool
	entries       int // number of revoked entries
	size          int // DER length in bytes
	revoked       serialSet

	// mu guards the signature state. Until a signature verifies, unverified
	// holds the header crypto/x509 parsed, with RawTBSRevocationList set to
	// the CRL's original tbsCertList: the signed bytes, as large as the CRL.
	// After the first success it is nil, so that they can be collected, and
	// signerKey is the SHA-256 of the SubjectPublicKeyInfo that verified.
	mu         sync.Mutex
	unverified *x509.RevocationList
	signerKey  [sha256.Size]byte
}

// listed reports whether serial (a canonical DER INTEGER content, see
// serialBytes) is on the list. Non-minimal encodings are canonicalised
// first, so they are found too. It does not allocate.
func (l *crlList) listed(serial []byte) bool {
	return l.revoked.contains(canonicalSerial(serial))
}

// verifyIssuer checks that issuer signed the list: issuer's subject is the
// list's issuer name, the list's authority key identifier (if any) is
// issuer's subject key identifier (if any), issuer may sign CRLs, and the
// signature verifies with issuer's key. After the first success, the
// signature is not checked again (its bytes are gone): an issuer with the
// same name and key passes the other checks, any other key fails. Safe for
// concurrent use; once verified, it does not allocate unless it fails.
func (l *crlList) verifyIssuer(issuer *x509.Certificate) error {
	if issuer == nil {
		return errors.New("no issuer certificate to check the CRL's signature with")
	}
	if !bytes.Equal(issuer.RawSubject, l.issuer) {
		return fmt.Errorf("the CRL is issued by %q, not by %q", crlNameForHumans(l.issuer), crlNameForHumans(issuer.RawSubject))
	}
	if len(l.authorityKeyID) > 0 && len(issuer.SubjectKeyId) > 0 && !bytes.Equal(l.authorityKeyID, issuer.SubjectKeyId) {
		return fmt.Errorf("the CRL's authority key identifier %X is not the subject key identifier %X of %q (another key of the same CA?)",
			l.authorityKeyID, issuer.SubjectKeyId, crlNameForHumans(issuer.RawSubject))
	}
	if err := crlSignerAllowed(issuer); err != nil {
		return fmt.Errorf("%q cannot vouch for a CRL: %w", crlNameForHumans(issuer.RawSubject), err)
	}
	key := sha256.Sum256(issuer.RawSubjectPublicKeyInfo)

	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unverified == nil {
		if key != l.signerKey {
			return fmt.Errorf("the CRL is signed by another key than that of this %q certificate", crlNameForHumans(issuer.RawSubject))
		}
		return nil
	}
	if err := l.unverified.CheckSignatureFrom(issuer); err != nil {
		return fmt.Errorf("the CRL's signature does not verify with the key of %q: %w", crlNameForHumans(issuer.RawSubject), err)
	}
	l.unverified = nil
	l.signerKey = key
	return nil
}

// verified reports whether an issuer's signature on the list has been
// checked (verifyIssuer succeeded once).
func (l *crlList) verified() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.unverified == nil
}

// lineage names the sequence of CRLs the list belongs to: those of one
// issuer name and key (authority key identifier) for one scope. CRL
// numbers and thisUpdate times are compared within a lineage only: the
// partitions of a CA, or its CRLs under an old and a new key, each count
// on their own.
func (l *crlList) lineage() string {
	scope := strings.Join(l.scope, "\x00")
	if l.onlyUserCerts {
		scope += "\x00user"
	}
	return string(l.issuer) + "\x01" + string(l.authorityKeyID) + "\x01" + scope
}

// mayHaveSigned reports whether issuer could have signed the list: the
// same name, and the same key identifier when both give one.
func (l *crlList) mayHaveSigned(issuer *x509.Certificate) bool {
	return bytes.Equal(issuer.RawSubject, l.issuer) &&
		(len(l.authorityKeyID) == 0 || len(issuer.SubjectKeyId) == 0 || bytes.Equal(l.authorityKeyID, issuer.SubjectKeyId))
}

// crlSignerAllowed makes the checks that
// (*x509.RevocationList).CheckSignatureFrom makes on the issuer before the
// signature, with words for the operator; verifyIssuer repeats them once
// the signature is no longer there to be checked.
func crlSignerAllowed(issuer *x509.Certificate) error {
	if issuer.Version == 3 && !issuer.BasicConstraintsValid || issuer.BasicConstraintsValid && !issuer.IsCA {
		return errors.New("it is not a CA certificate (basicConstraints)")
	}
	if issuer.KeyUsage != 0 && issuer.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return errors.New("its key usage does not include cRLSign")
	}
	if issuer.PublicKeyAlgorithm == x509.UnknownPublicKeyAlgorithm {
		return errors.New("its public key algorithm is not supported")
	}
	return nil
}

// crlNameForHumans is a DER Name as an RFC 4514 string, for errors.
func crlNameForHumans(der []byte) string {
	rdns, err := parseDNDER(der)
	if err != nil {
		return "#" + hex.EncodeToString(der)
	}
	return formatRDNs(rdns)
}

// pemTypeCRL is the PEM block type of a CRL (RFC 7468).
const pemTypeCRL = "X509 CRL"

// parseCRL reads a CRL, DER or PEM, and indexes its revoked serials. It
// checks the structure, not the signature (see verifyIssuer). A CRL whose
// scope or extensions are not understood is read all the same, with the
// reason in unsupported: it still proves that the serials it lists are
// revoked.
func parseCRL(data []byte) (*crlList, error) { return parseCRLPaced(data, nil, false) }

// crlPaceEntries is how many entries are read between two calls of the
// pace function of parseCRLPaced.
const crlPaceEntries = 8192

// parseCRLPaced is parseCRL calling pace (when not nil) every
// crlPaceEntries entries, so that a background refresh can spread the
// work of a large CRL over time. owned says data is the caller's own and
// never changes: the signed bytes are then kept where they are, not
// copied (a copy is as large as the CRL).
func parseCRLPaced(data []byte, pace func(), owned bool) (*crlList, error) {
	der, ours, err := crlDER(data)
	if err != nil {
		return nil, err
	}

	input := cryptobyte.String(der)
	var certList cryptobyte.String
	if !input.ReadASN1(&certList, cbasn1.SEQUENCE) {
		announced, truncated := crlTruncated(der)
		switch {
		case len(der) > 1 && crlLooksLikeText(der): // such as "0A:1B:..."
			return nil, errors.New("not a CRL: text, neither DER nor PEM (-----BEGIN " + pemTypeCRL + "-----)")
		case truncated && announced > 0:
			return nil, fmt.Errorf("truncated: the CRL says it is %d bytes long, the data has %d (incomplete download?)", announced, len(der))
		case truncated:
			return nil, fmt.Errorf("truncated: the data is only %d byte(s), not even the CRL's first DER header (incomplete download?)", len(der))
		}
		return nil, errors.New("not a CRL: not a DER SEQUENCE")
	}
	if !input.Empty() {
		return nil, fmt.Errorf("trailing data: %d bytes after the CRL", len(input))
	}
	var tbs, signatureAlgorithm, signatureValue cryptobyte.String
	if !certList.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!certList.ReadASN1Element(&signatureAlgorithm, cbasn1.SEQUENCE) ||
		!certList.ReadASN1Element(&signatureValue, cbasn1.BIT_STRING) ||
		!certList.Empty() {
		return nil, errors.New("not a CRL: want a SEQUENCE of tbsCertList, signatureAlgorithm and signatureValue")
	}
	parts, err := splitTBSCertList(tbs)
	if err != nil {
		return nil, err
	}

	header, err := parseCRLHeader(parts, signatureAlgorithm, signatureValue)
	if err != nil {
		return nil, err
	}
	// The signature covers the original tbsCertList. Unless der is a copy of
	// our own (decoded PEM), it is copied, so that the bytes the signature
	// is checked over are the bytes indexed, whatever the caller does with
	// data afterwards.
	if ours || owned {
		header.RawTBSRevocationList = tbs
	} else {
		header.RawTBSRevocationList = bytes.Clone(tbs)
	}

	l := &crlList{
		// Cloned: they must not keep the header's buffer alive.
		issuer:         bytes.Clone(header.RawIssuer),
		authorityKeyID: bytes.Clone(header.AuthorityKeyId),
		number:         header.Number,
		thisUpdate:     header.ThisUpdate,
		nextUpdate:     header.NextUpdate,
		size:           len(der),
		unverified:     header,
	}
	if l.unsupported, err = l.readExtensions(header); err != nil {
		return nil, err
	}
	entriesUnsupported, err := l.indexEntries(parts.revoked, pace)
	if err != nil {
		return nil, err
	}
	if l.unsupported == "" {
		l.unsupported = entriesUnsupported
	}
	return l, nil
}

// crlDER returns the DER of a DER or PEM CRL, and whether it is a new copy
// (decoded from PEM) rather than part of data.
func crlDER(data []byte) (der []byte, ours bool, err error) {
	if len(data) > 0 && data[0] == 0x30 { // a DER SEQUENCE
		return data, false, nil
	}
	if bytes.Contains(data, []byte("-----BEGIN ")) {
		block, rest := pem.Decode(data)
		if block == nil {
			return nil, false, errors.New("malformed PEM: no complete block (bad base64, or no END line?)")
		}
		if block.Type != pemTypeCRL {
			return nil, false, fmt.Errorf("PEM block is %s, want %s", block.Type, pemTypeCRL)
		}
		if bytes.Contains(rest, []byte("-----BEGIN ")) {
			return nil, false, errors.New("more than one PEM block: want a single " + pemTypeCRL)
		}
		return block.Bytes, true, nil
	}
	text := bytes.TrimLeft(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(data) == 0:
		return nil, false, errors.New("not a CRL: empty")
	case len(text) == 0:
		return nil, false, errors.New("not a CRL: only white space")
	case bytes.HasPrefix(text, []byte("<?xml")):
		return nil, false, errors.New("not a CRL: XML document (is the CRL URL right?)")
	case text[0] == '<':
		return nil, false, errors.New("not a CRL: HTML page (is the CRL URL right?)")
	case crlLooksLikeText(text):
		return nil, false, errors.New("not a CRL: text, neither DER nor PEM (-----BEGIN " + pemTypeCRL + "-----)")
	}
	return nil, false, fmt.Errorf("not a CRL: neither DER (whose first byte is 0x30) nor PEM; the first byte is 0x%02x", data[0])
}

// crlLooksLikeText reports whether the start of data is printable ASCII.
func crlLooksLikeText(data []byte) bool {
	for _, c := range data[:min(len(data), 512)] {
		if (c < ' ' || c > '~') && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// crlTruncated reports whether der ends before the DER element it starts
// with, and the length, header included, that the element announces (0 if
// der ends inside the header). It only words the error for an incomplete
// download; cryptobyte has read, and refused, the element already.
func crlTruncated(der []byte) (announced uint64, truncated bool) {
	s := cryptobyte.String(der)
	var tag, first uint8
	if !s.ReadUint8(&tag) || !s.ReadUint8(&first) {
		return 0, true
	}
	if first < 0x80 {
		announced = 2 + uint64(first)
		return announced, announced > uint64(len(der))
	}
	n := int(first & 0x7f)
	if n == 0 || n > 4 {
		return 0, false
	}
	var length []byte
	if !s.ReadBytes(&length, n) {
		return 0, true
	}
	announced = 2 + uint64(n)
	content := uint64(0)
	for _, b := range length {
		content = content<<8 | uint64(b)
	}
	announced += content
	return announced, announced > uint64(len(der))
}

// crlTBSParts is a tbsCertList cut around its revokedCertificates.
type crlTBSParts struct {
	beforeRevoked cryptobyte.String // version, signature, issuer, thisUpdate, nextUpdate
	revoked       cryptobyte.String // the content of revokedCertificates (empty when absent)
	afterRevoked  cryptobyte.String // [0] crlExtensions, if present
}

// splitTBSCertList walks
//
//	TBSCertList ::= SEQUENCE {
//	    version             Version OPTIONAL, -- v2(1) if present
//	    signature           AlgorithmIdentifier,
//	    issuer              Name,
//	    thisUpdate          Time,
//	    nextUpdate          Time OPTIONAL,
//	    revokedCertificates SEQUENCE OF SEQUENCE {...} OPTIONAL,
//	    crlExtensions       [0] EXPLICIT Extensions OPTIONAL }
//
// far enough to cut it around revokedCertificates. crypto/x509 checks the
// header's fields in detail later.
func splitTBSCertList(tbs cryptobyte.String) (crlTBSParts, error) {
	var parts crlTBSParts
	var s cryptobyte.String
	if !tbs.ReadASN1(&s, cbasn1.SEQUENCE) {
		return parts, errors.New("malformed CRL: tbsCertList is not a SEQUENCE")
	}
	content := s
	if s.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return parts, errors.New("not a CRL: this is a certificate")
	}
	if !s.PeekASN1Tag(cbasn1.INTEGER) {
		return parts, errors.New("unsupported CRL version 1 (it has no version field): want version 2")
	}
	var version int64
	if !s.ReadASN1Integer(&version) {
		return parts, errors.New("malformed CRL: bad version")
	}
	if version != 1 {
		return parts, fmt.Errorf("unsupported CRL version: the version field is %d, want 1 (version 2)", version)
	}
	if !s.SkipASN1(cbasn1.SEQUENCE) {
		return parts, errors.New("malformed CRL: no signature algorithm in tbsCertList")
	}
	if !s.SkipASN1(cbasn1.SEQUENCE) {
		return parts, errors.New("malformed CRL: no issuer name")
	}
	if !crlSkipTime(&s) {
		return parts, errors.New("malformed CRL: thisUpdate is not a time")
	}
	if (s.PeekASN1Tag(cbasn1.UTCTime) || s.PeekASN1Tag(cbasn1.GeneralizedTime)) && !crlSkipTime(&s) {
		return parts, errors.New("malformed CRL: bad nextUpdate")
	}
	parts.beforeRevoked = content[:len(content)-len(s)]
	if s.PeekASN1Tag(cbasn1.SEQUENCE) && !s.ReadASN1(&parts.revoked, cbasn1.SEQUENCE) {
		return parts, errors.New("malformed CRL: bad revokedCertificates")
	}
	parts.afterRevoked = s
	if !s.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || !s.Empty() {
		return parts, errors.New("malformed CRL: unexpected data after the revoked certificates")
	}
	return parts, nil
}

// crlSkipTime skips a Time (UTCTime or GeneralizedTime).
func crlSkipTime(s *cryptobyte.String) bool {
	var t cryptobyte.String
	return crlReadTimeElement(s, &t)
}

// crlReadTimeElement reads a Time (UTCTime or GeneralizedTime), tag and
// length included. The tag is peeked first: a cryptobyte read of the wrong
// tag still consumes the element.
func crlReadTimeElement(s *cryptobyte.String, out *cryptobyte.String) bool {
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		return s.ReadASN1Element(out, cbasn1.UTCTime)
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		return s.ReadASN1Element(out, cbasn1.GeneralizedTime)
	}
	return false
}

// crlValidTime reports whether element is a well-formed Time, as
// crypto/x509 requires.
func crlValidTime(element cryptobyte.String) bool {
	var t time.Time
	if element.PeekASN1Tag(cbasn1.UTCTime) {
		return element.ReadASN1UTCTime(&t) && element.Empty()
	}
	return element.ReadASN1GeneralizedTime(&t) && element.Empty()
}

// parseCRLHeader has crypto/x509 parse the CRL without its entries: the
// CRL re-encoded with an empty revokedCertificates (the field left out).
// The signature does not cover this copy; the caller sets
// RawTBSRevocationList to the bytes it does cover.
func parseCRLHeader(parts crlTBSParts, signatureAlgorithm, signatureValue []byte) (*x509.RevocationList, error) {
	b := cryptobyte.NewBuilder(make([]byte, 0, len(parts.beforeRevoked)+len(parts.afterRevoked)+len(signatureAlgorithm)+len(signatureValue)+16))
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddBytes(parts.beforeRevoked)
			b.AddBytes(parts.afterRevoked)
		})
		b.AddBytes(signatureAlgorithm)
		b.AddBytes(signatureValue)
	})
	withoutEntries, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("malformed CRL: %w", err)
	}
	header, err := x509.ParseRevocationList(withoutEntries)
	if err != nil {
		return nil, fmt.Errorf("malformed CRL header: %w", err)
	}
	return header, nil
}

// CRL extensions parseCRL knows.
var (
	oidCRLNumber                 = asn1.ObjectIdentifier{2, 5, 29, 20}
	oidCRLDeltaIndicator         = asn1.ObjectIdentifier{2, 5, 29, 27}
	oidCRLIssuingDistributionPt  = asn1.ObjectIdentifier{2, 5, 29, 28}
	oidCRLAuthorityKeyIdentifier = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCRLFreshestCRL            = asn1.ObjectIdentifier{2, 5, 29, 46}
)

// readExtensions returns why the CRL's extensions keep it from vouching
// that a certificate is good ("" if they do not), or an error if one is
// malformed, and records the scope an issuingDistributionPoint gives it.
func (l *crlList) readExtensions(header *x509.RevocationList) (string, error) {
	unsupported := ""
	note := func(why string) {
		if unsupported == "" {
			unsupported = why
		}
	}
	for i, ext := range header.Extensions {
		// RFC 5280 allows each extension once; two could disagree.
		for _, earlier := range header.Extensions[:i] {
			if earlier.Id.Equal(ext.Id) {
				return "", fmt.Errorf("malformed CRL: extension %s appears twice", ext.Id)
			}
		}
		switch {
		case ext.Id.Equal(oidCRLNumber), ext.Id.Equal(oidCRLAuthorityKeyIdentifier), ext.Id.Equal(oidCRLFreshestCRL):
			// Parsed by crypto/x509, or (freshestCRL) only a pointer to delta CRLs.
		case ext.Id.Equal(oidCRLDeltaIndicator):
			note("delta CRL (deltaCRLIndicator): it lists only the changes since a base CRL")
		case ext.Id.Equal(oidCRLIssuingDistributionPt):
			why, err := l.readIssuingDistributionPoint(ext.Value)
			if err != nil {
				return "", err
			}
			if why != "" {
				note(why)
			}
		case ext.Critical:
			note("unknown critical extension " + ext.Id.String())
		}
	}
	return unsupported, nil
}

// crlIssuingDistributionPointUnsupported reads
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	    distributionPoint          [0] DistributionPointName OPTIONAL,
//	    onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
//	    onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
//	    onlySomeReasons            [3] ReasonFlags OPTIONAL,
//	    indirectCRL                [4] BOOLEAN DEFAULT FALSE,
//	    onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
//
// A distribution point names the partition this CRL is: l.scope, when it
// is given as URIs (any other name is unsupported). onlyContainsUserCerts
// keeps CA certificates out of its scope (l.onlyUserCerts). Every other
// field narrows the CRL's scope in a way a yes/no answer per serial cannot
// honour.
func (l *crlList) readIssuingDistributionPoint(value []byte) (string, error) {
	malformed := errors.New("malformed CRL: bad issuingDistributionPoint extension")
	input := cryptobyte.String(value)
	var idp, dpName cryptobyte.String
	hasDP := false
	if !input.ReadASN1(&idp, cbasn1.SEQUENCE) || !input.Empty() ||
		!idp.ReadOptionalASN1(&dpName, &hasDP, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return "", malformed
	}
	why := ""
	if hasDP {
		uris, ok, err := crlDistributionPointURIs(dpName)
		if err != nil {
			return "", malformed
		}
		if !ok {
			why = "issuingDistributionPoint names its partition other than by URIs"
		}
		l.scope = uris
	}
	for _, field := range []struct {
		tag         cbasn1.Tag
		name        string
		unsupported bool
		boolean     bool
	}{
		{1, "onlyContainsUserCerts", false, true},
		{2, "onlyContainsCACerts", true, true},
		{3, "onlySomeReasons", true, false},
		{4, "indirectCRL", true, true},
		{5, "onlyContainsAttributeCerts", true, true},
	} {
		// The fields are IMPLICIT: a boolean is tagged [n] instead of
		// BOOLEAN, so its content is read here.
		var content cryptobyte.String
		present := false
		if !idp.ReadOptionalASN1(&content, &present, field.tag.ContextSpecific()) {
			return "", malformed
		}
		set := present
		if present && field.boolean {
			if len(content) != 1 || content[0] != 0 && content[0] != 0xff {
				return "", malformed
			}
			set = content[0] == 0xff // FALSE is the default, wrongly spelt out
		}
		if set && field.unsupported && why == "" {
			why = "issuingDistributionPoint has " + field.name
		}
		if set && field.tag == 1 {
			l.onlyUserCerts = true
		}
	}
	if !idp.Empty() {
		return "", malformed
	}
	return why, nil
}

// crlDistributionPointURIs reads a DistributionPointName:
//
//	DistributionPointName ::= CHOICE {
//	    fullName                [0] GeneralNames,
//	    nameRelativeToCRLIssuer [1] RelativeDistinguishedName }
//
// and returns its URIs; ok is false when it names anything but URIs.
func crlDistributionPointURIs(name cryptobyte.String) (uris []string, ok bool, err error) {
	var full cryptobyte.String
	if !name.ReadASN1(&full, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, false, nil // nameRelativeToCRLIssuer
	}
	if !name.Empty() {
		return nil, false, errors.New("trailing data")
	}
	ok = true
	for !full.Empty() {
		var gn cryptobyte.String
		var tag cbasn1.Tag
		if !full.ReadAnyASN1(&gn, &tag) {
			return nil, false, errors.New("bad GeneralName")
		}
		if tag != cbasn1.Tag(6).ContextSpecific() { // uniformResourceIdentifier
			ok = false
			continue
		}
		uris = append(uris, string(gn))
	}
	return uris, ok && len(uris) > 0, nil
}

// covers reports whether cert is in the CRL's scope: a CRL that names its
// partition covers only certificates that name it, and one for user
// certificates no CA certificate.
func (l *crlList) covers(cert *x509.Certificate) bool {
	if l.onlyUserCerts && cert.IsCA {
		return false
	}
	if len(l.scope) == 0 {
		return true
	}
	for _, u := range cert.CRLDistributionPoints {
		if slices.Contains(l.scope, u) {
			return true
		}
	}
	return false
}

// maxCRLEntries bounds the hash table (two slots an entry). DER lengths
// (at most 4 GiB) keep real input far below it, and the serials' total
// within the uint32 offsets of a serialSet.
const maxCRLEntries = 1 << 30

// indexEntries reads the content of revokedCertificates into l.revoked and
// l.entries, and returns why an entry's extensions keep the CRL from
// vouching that a certificate is good ("" if none do). It reads the entries
// twice, to check them and measure the index, then to fill it: so the index
// is allocated once, at its final size, and nothing else per entry is.
func (l *crlList) indexEntries(revoked cryptobyte.String, pace func()) (string, error) {
	unsupported := ""
	count, serialsSize := 0, 0
	for rest := revoked; !rest.Empty(); {
		var e crlEntry
		n := count + 1
		if !readCRLEntry(&rest, &e) {
			return "", fmt.Errorf("malformed CRL: revoked certificate %d is not SEQUENCE { serial INTEGER, revocationDate Time, extensions OPTIONAL }", n)
		}
		if len(e.serial) == 0 {
			return "", fmt.Errorf("malformed CRL: revoked certificate %d has an empty serial number", n)
		}
		if !crlValidTime(e.revocationDate) {
			return "", fmt.Errorf("malformed CRL: revoked certificate %d has a malformed revocation date", n)
		}
		if e.hasExtensions {
			why, err := crlEntryExtensionsUnsupported(e.extensions)
			if err != nil {
				return "", fmt.Errorf("malformed CRL: revoked certificate %d: %w", n, err)
			}
			if unsupported == "" {
				unsupported = why
			}
		}
		count++
		if pace != nil && count%crlPaceEntries == 0 {
			pace()
		}
		serial := canonicalSerial(e.serial)
		serialsSize += crlUvarintSize(len(serial)) + len(serial)
		if count > maxCRLEntries || uint64(serialsSize) > math.MaxUint32 {
			return "", fmt.Errorf("CRL too large: over %d entries, or 4 GiB of serial numbers", maxCRLEntries)
		}
	}

	set := newSerialSet(count, serialsSize)
	for i := 1; !revoked.Empty(); i++ {
		var e crlEntry
		readCRLEntry(&revoked, &e) // checked above
		set.add(canonicalSerial(e.serial))
		if pace != nil && i%crlPaceEntries == 0 {
			pace()
		}
	}
	l.revoked = set
	l.entries = count
	return unsupported, nil
}

// crlUvarintSize is the size of n as a uvarint.
func crlUvarintSize(n int) int {
	var buf [binary.MaxVarintLen64]byte
	return len(binary.AppendUvarint(buf[:0], uint64(n)))
}

// crlEntry is one revoked certificate, still in DER.
type crlEntry struct {
	serial         cryptobyte.String // the content of the INTEGER
	revocationDate cryptobyte.String // the Time, tag and length included
	extensions     cryptobyte.String // the content of crlEntryExtensions
	hasExtensions  bool
}

// readCRLEntry reads
//
//	SEQUENCE {
//	    userCertificate    CertificateSerialNumber, -- INTEGER
//	    revocationDate     Time,
//	    crlEntryExtensions Extensions OPTIONAL }
func readCRLEntry(revoked *cryptobyte.String, e *crlEntry) bool {
	var entry cryptobyte.String
	return revoked.ReadASN1(&entry, cbasn1.SEQUENCE) &&
		entry.ReadASN1(&e.serial, cbasn1.INTEGER) &&
		crlReadTimeElement(&entry, &e.revocationDate) &&
		entry.ReadOptionalASN1(&e.extensions, &e.hasExtensions, cbasn1.SEQUENCE) &&
		entry.Empty()
}

// Entry extensions, as the content of their OBJECT IDENTIFIER: compared
// without decoding, since nearly every entry of some CRLs has one.
var (
	oidEntryReasonCode          = []byte{0x55, 0x1d, 0x15} // 2.5.29.21
	oidEntryHoldInstructionCode = []byte{0x55, 0x1d, 0x17} // 2.5.29.23
	oidEntryInvalidityDate      = []byte{0x55, 0x1d, 0x18} // 2.5.29.24
	oidEntryCertificateIssuer   = []byte{0x55, 0x1d, 0x1d} // 2.5.29.29
)

// crlEntryExtensionsUnsupported reads an entry's
//
//	Extensions ::= SEQUENCE OF SEQUENCE {
//	    extnID    OBJECT IDENTIFIER,
//	    critical  BOOLEAN DEFAULT FALSE,
//	    extnValue OCTET STRING }
//
// Every listed serial counts as revoked, whatever its reason (even
// certificateHold), so the values are not read. A critical extension may
// change what the entry means, and certificateIssuer (critical or not)
// says that this and the following entries are another CA's certificates
// (an indirect CRL): either makes the CRL unsupported.
func crlEntryExtensionsUnsupported(extensions cryptobyte.String) (string, error) {
	why := ""
	for !extensions.Empty() {
		var ext, oidElement, oid cryptobyte.String
		critical := false
		if !extensions.ReadASN1(&ext, cbasn1.SEQUENCE) ||
			!ext.ReadASN1Element(&oidElement, cbasn1.OBJECT_IDENTIFIER) ||
			ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.ReadASN1Boolean(&critical) ||
			!ext.SkipASN1(cbasn1.OCTET_STRING) ||
			!ext.Empty() {
			return "", errors.New("malformed extension")
		}
		content := oidElement
		content.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) // read above
		known := bytes.Equal(oid, oidEntryReasonCode) || bytes.Equal(oid, oidEntryHoldInstructionCode) ||
			bytes.Equal(oid, oidEntryInvalidityDate) || bytes.Equal(oid, oidEntryCertificateIssuer)
		name := ""
		if !known {
			// Decoded only here: unknown extensions are rare.
			var id asn1.ObjectIdentifier
			if !oidElement.ReadASN1ObjectIdentifier(&id) {
				return "", errors.New("malformed extension identifier")
			}
			name = id.String()
		}
		switch {
		case why != "":
		case bytes.Equal(oid, oidEntryCertificateIssuer):
			why = "indirect CRL: an entry has a certificateIssuer extension (entries of another CA)"
		case critical && known:
			why = "critical entry extension " + crlEntryExtensionName(oid)
		case critical:
			why = "unknown critical entry extension " + name
		}
	}
	return why, nil
}

// crlEntryExtensionName names a known entry extension.
func crlEntryExtensionName(oid []byte) string {
	switch {
	case bytes.Equal(oid, oidEntryReasonCode):
		return "reasonCode (2.5.29.21)"
	case bytes.Equal(oid, oidEntryHoldInstructionCode):
		return "holdInstructionCode (2.5.29.23)"
	case bytes.Equal(oid, oidEntryInvalidityDate):
		return "invalidityDate (2.5.29.24)"
	}
	return "certificateIssuer (2.5.29.29)"
}

// serialSet is a set of serial numbers (canonical DER INTEGER contents):
// an open-addressing hash table with linear probing over the serials packed
// back to back, each after its length (a uvarint). A slot holds the
// serial's offset + 1 in its low bits (0 is a free slot) and, in the bits
// the offsets do not need, a tag: more bits of the serial's hash. A lookup
// reads one slot's cache line and, only when a tag matches, the serial,
// whose bytes it compares exactly: a set of a million serials is far larger
// than the CPU's caches, and each dependent read costs a trip to memory.
// The hash is seeded at random per set, so that whoever writes a CRL cannot
// pick serials that collide.
type serialSet struct {
	seed       maphash.Seed
	serials    []byte   // uvarint(len(serial)) serial, for each distinct serial
	slots      []uint32 // a power of two, at most half full
	offsetBits uint8    // low bits of a slot that hold offset + 1
}

// newSerialSet returns an empty set sized for count serials taking size
// bytes of serials in all, length prefixes included.
func newSerialSet(count, size int) serialSet {
	s := serialSet{
		seed:       maphash.MakeSeed(),
		serials:    make([]byte, 0, size),
		offsetBits: uint8(bits.Len32(uint32(size))), // offset + 1 <= size
	}
	if count > 0 {
		slots := 1
		for slots < 2*count {
			slots <<= 1
		}
		s.slots = make([]uint32, slots)
	}
	return s
}

// probe returns where serial's probe sequence starts in the slots, and the
// tag bits a slot holding serial has.
func (s *serialSet) probe(serial []byte) (start uint64, tag uint32) {
	h := maphash.Bytes(s.seed, serial)
	// The index uses the low bits of h; the tag, its high bits (none when
	// the offsets take all 32: shifting by 64 gives 0).
	return h, uint32(h>>(32+s.offsetBits)) << s.offsetBits
}

// at returns the serial stored at offset.
func (s *serialSet) at(offset uint32) []byte {
	rest := s.serials[offset:]
	n, width := binary.Uvarint(rest)
	return rest[width : width+int(n)]
}

// find returns the slot holding serial, or the empty slot that ends its
// probe sequence, its tag, and whether serial is there. The set must have
// at least one empty slot (newSerialSet sizes it so).
func (s *serialSet) find(serial []byte) (slot uint64, tag uint32, found bool) {
	mask := uint64(len(s.slots) - 1)
	offsetMask := uint32(1)<<s.offsetBits - 1
	start, tag := s.probe(serial)
	for i := start & mask; ; i = (i + 1) & mask {
		e := s.slots[i]
		if e == 0 {
			return i, tag, false
		}
		if e&^offsetMask == tag && bytes.Equal(s.at(e&offsetMask-1), serial) {
			return i, tag, true
		}
	}
}

// add adds serial, unless already present: a CRL that repeats a serial
// would otherwise make a probe sequence as long as its repeats. The set
// must have been sized for it by newSerialSet.
func (s *serialSet) add(serial []byte) {
	slot, tag, found := s.find(serial)
	if found {
		return
	}
	offset := len(s.serials)
	s.serials = binary.AppendUvarint(s.serials, uint64(len(serial)))
	s.serials = append(s.serials, serial...)
	s.slots[slot] = tag | uint32(offset+1)
}

// contains reports whether serial is in the set. It does not allocate.
func (s *serialSet) contains(serial []byte) bool {
	if len(s.slots) == 0 {
		return false
	}
	_, _, found := s.find(serial)
	return found
}

// canonicalSerial strips the redundant leading bytes of a two's complement
// INTEGER content (0x00 before a byte below 0x80, 0xFF before one from
// 0x80), which DER forbids but some CAs have written. It returns a
// sub-slice of content.
func canonicalSerial(content []byte) []byte {
	for len(content) > 1 && (content[0] == 0x00 && content[1] < 0x80 || content[0] == 0xff && content[1] >= 0x80) {
		content = content[1:]
	}
	return content
}

// serialBytes is the canonical DER INTEGER content of n: what a
// certificate's serial is looked up as. Negative serials, which RFC 5280
// forbids but CAs have issued, are in two's complement.
func serialBytes(n *big.Int) []byte {
	if n.Sign() >= 0 {
		b := n.Bytes()
		if len(b) == 0 || b[0] >= 0x80 {
			return append([]byte{0}, b...)
		}
		return b
	}
	// -n - 1 in one's complement is n in two's complement.
	b := new(big.Int).Not(n).Bytes()
	for i := range b {
		b[i] = ^b[i]
	}
	if len(b) == 0 || b[0] < 0x80 {
		return append([]byte{0xff}, b...)
	}
	return b
}
