// dn.go: distinguished names in certificates: reading their DER into the
// structural keys that text DNs (dntext.go) are also read into, and
// formatting DER for humans.

package clientcertificate

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Distinguished names are compared structurally: both the operator's text
// and the certificate's DER are reduced to a dnKey, and matching is a plain
// string comparison. Comparing strings as printed by some tool would be
// fragile (every tool prints differently) and unsafe (escaping mistakes can
// make "CN=a\,O=b" look like "CN=a,O=b").

const (
	// maxDNTextLen and maxDNAttributes bound the work done on a single name.
	// Real names are a few hundred bytes with a handful of attributes.
	maxDNTextLen    = 64 << 10
	maxDNAttributes = 256
)

// dnKey is the canonical form of a distinguished name. Two names are
// structurally equal exactly when their keys are equal, so per-request
// comparison is a string compare.
//
// The key is binary and not meant to be shown to anyone; use formatRDNs
// for display. It encodes, with every component length-prefixed so that no value
// can be mistaken for structure:
//
//	uvarint(#RDNs), then per RDN in ASN.1 order (most significant first):
//	  uvarint(#attributes), then per attribute, sorted by encoding:
//	    uvarint(len(OID)) OID-in-dotted-form
//	    's' uvarint(len(v)) v   where v = foldDNValue(decoded string value), or
//	    'd' uvarint(len(v)) v   where v = the DER of a non-string value;
//	  keyTyped writes the string's family (dnKindASCII, …) in place of 's'
type dnKey string

// Attribute value kinds in a dnKey.
const (
	dnKindString byte = 's'
	dnKindDER    byte = 'd'
	// Kinds of keyTyped, the string families it tells apart: bytes all
	// ASCII (any type but BMPString and UniversalString), UTF-8 types
	// (UTF8String, PrintableString, IA5String, …), T61String, BMPString,
	// UniversalString.
	dnKindASCII     byte = 'a'
	dnKindUTF8      byte = 'u'
	dnKindT61       byte = 't'
	dnKindBMP       byte = 'b'
	dnKindUniversal byte = 'w'
)

// ASN.1 universal string tags not named by encoding/asn1.
const (
	dnTagVisibleString   = 26
	dnTagUniversalString = 28
	dnTagBMPString       = 30
)

// dnAttr is one attribute of a parsed name.
type dnAttr struct {
	oid      string // dotted decimal, canonical (as asn1.ObjectIdentifier.String prints)
	isString bool   // value is a decoded character string (not yet folded)
	value    string // decoded string if isString, else the value's DER
	der      []byte // value's DER when parsed from DER; used by formatRDNs
	// tag and content are the string's universal tag and its encoded
	// bytes, for the keys other than the standard one (see dnKeyKind).
	tag     int
	content []byte
	// family is the string family (dnKind*) value is compared in by
	// keyTyped: on a certificate's side, that of its tag and bytes; for a
	// slash-form value, the family it is read in.
	family byte
	// alts are other values a text form's value can stand for, where the
	// form cannot say which (see slashReadings, addDotnetReadings).
	alts []dnAlt
}

// dnAlt is one other reading of a text form's value: a string of a family,
// or (family 0, not a string) a DER value.
type dnAlt struct {
	value  string
	family byte
}

// dnKeyKind says how a key compares string values.
type dnKeyKind int

const (
	// keyStandard compares strings by their characters, folded
	// (foldDNValue), whatever their string type: X.520 matching.
	keyStandard dnKeyKind = iota
	// keyTyped compares strings by their characters, folded, within a
	// string family: what OpenSSL's slash form shows (the bytes of a
	// string), which reads differently in each family. Strings whose bytes
	// are all ASCII read the same in every family but BMPString and
	// UniversalString, and compare as keyStandard does.
	keyTyped
	// keyDotnet is keyStandard with every T61String whose bytes are
	// non-ASCII UTF-8 read as UTF-8, as .NET displays it (the plugin, like
	// OpenSSL and Go, reads T61String as Latin-1).
	keyDotnet
)

// dnAttrTypes maps upper-cased attribute short names, as printed by OpenSSL,
// Go, .NET/Windows and RFC 4514/4519, to OIDs.
var dnAttrTypes = map[string]string{
	"CN":                              "2.5.4.3",
	"COMMONNAME":                      "2.5.4.3",
	"SN":                              "2.5.4.4", // surname, as in OpenSSL and .NET (not serialNumber)
	"SURNAME":                         "2.5.4.4",
	"SERIALNUMBER":                    "2.5.4.5",
	"C":                               "2.5.4.6",
	"COUNTRYNAME":                     "2.5.4.6",
	"L":                               "2.5.4.7",
	"LOCALITYNAME":                    "2.5.4.7",
	"ST":                              "2.5.4.8",
	"S":                               "2.5.4.8", // .NET
	"STATEORPROVINCENAME":             "2.5.4.8",
	"STREET":                          "2.5.4.9",
	"STREETADDRESS":                   "2.5.4.9",
	"O":                               "2.5.4.10",
	"ORGANIZATIONNAME":                "2.5.4.10",
	"OU":                              "2.5.4.11",
	"ORGANIZATIONALUNITNAME":          "2.5.4.11",
	"T":                               "2.5.4.12", // .NET
	"TITLE":                           "2.5.4.12",
	"DESCRIPTION":                     "2.5.4.13",
	"BUSINESSCATEGORY":                "2.5.4.15",
	"POSTALCODE":                      "2.5.4.17",
	"NAME":                            "2.5.4.41",
	"GN":                              "2.5.4.42",
	"G":                               "2.5.4.42", // .NET
	"GIVENNAME":                       "2.5.4.42",
	"INITIALS":                        "2.5.4.43",
	"GENERATIONQUALIFIER":             "2.5.4.44",
	"DNQUALIFIER":                     "2.5.4.46",
	"PSEUDONYM":                       "2.5.4.65",
	"ORGANIZATIONIDENTIFIER":          "2.5.4.97",
	"DC":                              "0.9.2342.19200300.100.1.25",
	"DOMAINCOMPONENT":                 "0.9.2342.19200300.100.1.25",
	"UID":                             "0.9.2342.19200300.100.1.1",
	"USERID":                          "0.9.2342.19200300.100.1.1",
	"EMAILADDRESS":                    "1.2.840.113549.1.9.1",
	"EMAIL":                           "1.2.840.113549.1.9.1",
	"E":                               "1.2.840.113549.1.9.1", // .NET
	"JURISDICTIONL":                   "1.3.6.1.4.1.311.60.2.1.1",
	"JURISDICTIONLOCALITYNAME":        "1.3.6.1.4.1.311.60.2.1.1",
	"JURISDICTIONST":                  "1.3.6.1.4.1.311.60.2.1.2",
	"JURISDICTIONSTATEORPROVINCENAME": "1.3.6.1.4.1.311.60.2.1.2",
	"JURISDICTIONC":                   "1.3.6.1.4.1.311.60.2.1.3",
	"JURISDICTIONCOUNTRYNAME":         "1.3.6.1.4.1.311.60.2.1.3",
}

// dotnetAttrTypes are the other names .NET prints for OIDs it knows
// (upper-cased here; OidLookup.cs, s_oidToFriendlyName, in dotnet/runtime),
// so that any name .NET prints parses: the TPM attributes of endorsement key
// certificates, I (initials), Phone, POBox, X21Address, and names of
// algorithm OIDs, which no real name uses as an attribute type. Names .NET
// also gives to another, legacy OID (DH, DSA, md2RSA, md4RSA, md5RSA,
// sha1DSA, sha1RSA) are left out: they cannot say which OID they stand for.
var dotnetAttrTypes = map[string]string{
	"3DES":                "1.2.840.113549.3.7",
	"AES128":              "2.16.840.1.101.3.4.1.2",
	"AES128WRAP":          "2.16.840.1.101.3.4.1.5",
	"AES192":              "2.16.840.1.101.3.4.1.22",
	"AES192WRAP":          "2.16.840.1.101.3.4.1.25",
	"AES256":              "2.16.840.1.101.3.4.1.42",
	"AES256WRAP":          "2.16.840.1.101.3.4.1.45",
	"BRAINPOOLP160R1":     "1.3.36.3.3.2.8.1.1.1",
	"BRAINPOOLP160T1":     "1.3.36.3.3.2.8.1.1.2",
	"BRAINPOOLP192R1":     "1.3.36.3.3.2.8.1.1.3",
	"BRAINPOOLP192T1":     "1.3.36.3.3.2.8.1.1.4",
	"BRAINPOOLP224R1":     "1.3.36.3.3.2.8.1.1.5",
	"BRAINPOOLP224T1":     "1.3.36.3.3.2.8.1.1.6",
	"BRAINPOOLP256R1":     "1.3.36.3.3.2.8.1.1.7",
	"BRAINPOOLP256T1":     "1.3.36.3.3.2.8.1.1.8",
	"BRAINPOOLP320R1":     "1.3.36.3.3.2.8.1.1.9",
	"BRAINPOOLP320T1":     "1.3.36.3.3.2.8.1.1.10",
	"BRAINPOOLP384R1":     "1.3.36.3.3.2.8.1.1.11",
	"BRAINPOOLP384T1":     "1.3.36.3.3.2.8.1.1.12",
	"BRAINPOOLP512R1":     "1.3.36.3.3.2.8.1.1.13",
	"BRAINPOOLP512T1":     "1.3.36.3.3.2.8.1.1.14",
	"CMS3DESWRAP":         "1.2.840.113549.1.9.16.3.6",
	"CMSRC2WRAP":          "1.2.840.113549.1.9.16.3.7",
	"CPS":                 "1.3.6.1.5.5.7.2.1",
	"DES":                 "1.3.14.3.2.7",
	"DSASHA1":             "1.3.14.3.2.27",
	"EC192WAPI":           "1.2.156.11235.1.1.2.1",
	"ECC":                 "1.2.840.10045.2.1",
	"ECDH_P256":           "1.2.840.10045.3.1.7",
	"ECDH_P384":           "1.3.132.0.34",
	"ECDH_P521":           "1.3.132.0.35",
	"ECDH_STD_SHA1_KDF":   "1.3.133.16.840.63.0.2",
	"ECDH_STD_SHA256_KDF": "1.3.132.1.11.1",
	"ECDH_STD_SHA384_KDF": "1.3.132.1.11.2",
	"ECDSA_P256":          "1.2.840.10045.3.1.7",
	"ECDSA_P384":          "1.3.132.0.34",
	"ECDSA_P521":          "1.3.132.0.35",
	"ESDH":                "1.2.840.113549.1.9.16.3.5",
	"I":                   "2.5.4.43",
	"MD2":                 "1.2.840.113549.2.2",
	"MD4":                 "1.2.840.113549.2.4",
	"MD5":                 "1.2.840.113549.2.5",
	"MGF1":                "1.2.840.113549.1.1.8",
	"MOSAICKMANDUPDSIG":   "2.16.840.1.101.2.1.1.20",
	"MOSAICUPDATEDSIG":    "2.16.840.1.101.2.1.1.19",
	"NISTP192":            "1.2.840.10045.3.1.1",
	"NISTP224":            "1.3.132.0.33",
	"NISTP256":            "1.2.840.10045.3.1.7",
	"NISTP384":            "1.3.132.0.34",
	"NISTP521":            "1.3.132.0.35",
	"NO_SIGN":             "1.3.6.1.5.5.7.6.2",
	"PHONE":               "2.5.4.20",
	"POBOX":               "2.5.4.18",
	"RC2":                 "1.2.840.113549.3.2",
	"RC4":                 "1.2.840.113549.3.4",
	"RSA":                 "1.2.840.113549.1.1.1",
	"RSAES_OAEP":          "1.2.840.113549.1.1.7",
	"RSASSA-PSS":          "1.2.840.113549.1.1.10",
	"SECP160K1":           "1.3.132.0.9",
	"SECP160R1":           "1.3.132.0.8",
	"SECP160R2":           "1.3.132.0.30",
	"SECP192K1":           "1.3.132.0.31",
	"SECP224K1":           "1.3.132.0.32",
	"SECP256K1":           "1.3.132.0.10",
	"SECP256R1":           "1.2.840.10045.3.1.7",
	"SECP384R1":           "1.3.132.0.34",
	"SECP521R1":           "1.3.132.0.35",
	"SHA1":                "1.3.14.3.2.26",
	"SHA1ECDSA":           "1.2.840.10045.4.1",
	"SHA256":              "2.16.840.1.101.3.4.2.1",
	"SHA256ECDSA":         "1.2.840.10045.4.3.2",
	"SHA256RSA":           "1.2.840.113549.1.1.11",
	"SHA384":              "2.16.840.1.101.3.4.2.2",
	"SHA384ECDSA":         "1.2.840.10045.4.3.3",
	"SHA384RSA":           "1.2.840.113549.1.1.12",
	"SHA512":              "2.16.840.1.101.3.4.2.3",
	"SHA512ECDSA":         "1.2.840.10045.4.3.4",
	"SHA512RSA":           "1.2.840.113549.1.1.13",
	"SPECIFIEDECDSA":      "1.2.840.10045.4.3",
	"TPMMANUFACTURER":     "2.23.133.2.1",
	"TPMMODEL":            "2.23.133.2.2",
	"TPMVERSION":          "2.23.133.2.3",
	"WTLS9":               "2.23.43.1.4.9",
	"X21ADDRESS":          "2.5.4.24",
	"X962P192V2":          "1.2.840.10045.3.1.2",
	"X962P192V3":          "1.2.840.10045.3.1.3",
	"X962P239V1":          "1.2.840.10045.3.1.4",
	"X962P239V2":          "1.2.840.10045.3.1.5",
	"X962P239V3":          "1.2.840.10045.3.1.6",
	"X962P256V1":          "1.2.840.10045.3.1.7",
}

// dnAttrDisplayNames are the names formatRDNs prints: Go's for the attributes
// Go knows (so logs look like pkix.Name.String), OpenSSL's for the rest.
// Every one of them is accepted by parseDNKeys.
var dnAttrDisplayNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "title",
	"2.5.4.13":                   "description",
	"2.5.4.15":                   "businessCategory",
	"2.5.4.17":                   "POSTALCODE",
	"2.5.4.41":                   "name",
	"2.5.4.42":                   "GN",
	"2.5.4.43":                   "initials",
	"2.5.4.44":                   "generationQualifier",
	"2.5.4.46":                   "dnQualifier",
	"2.5.4.65":                   "pseudonym",
	"2.5.4.97":                   "organizationIdentifier",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
	"1.2.840.113549.1.9.1":       "emailAddress",
	"1.3.6.1.4.1.311.60.2.1.1":   "jurisdictionL",
	"1.3.6.1.4.1.311.60.2.1.2":   "jurisdictionST",
	"1.3.6.1.4.1.311.60.2.1.3":   "jurisdictionC",
}

// stringFamily is the string family, for keyTyped, of a certificate's
// string of this tag and content.
func stringFamily(tag int, content []byte) byte {
	switch tag {
	case asn1.TagBMPString:
		return dnKindBMP
	case dnTagUniversalString:
		return dnKindUniversal
	}
	if isASCII(content) {
		return dnKindASCII
	}
	if tag == asn1.TagT61String {
		return dnKindT61
	}
	return dnKindUTF8
}

// dotnetReadsUTF8 reports whether .NET displays a differently from its
// decoded value: a T61String whose non-ASCII bytes are UTF-8 (keyDotnet).
func (a *dnAttr) dotnetReadsUTF8() bool {
	return a.tag == asn1.TagT61String && a.family == dnKindT61 && utf8.Valid(a.content)
}

// nameFacts is what a certificate's subject or issuer yields.
type nameFacts struct {
	// keys are the name's keys: standard, typed and, when it differs,
	// as .NET displays it (see dnKeyKind); none when the name does not
	// parse or holds a control character: it never matches.
	keys []dnKey
	text string // RFC 4514 (see formatRDNs), "" when the name does not parse
	// commonNames are the folded CN values, "" for one that holds a control
	// character (it matches no policy value); lastCN is the last CN value
	// escaped for display by writeDNDisplayValue (as crypto/x509 keeps the
	// last).
	commonNames []string
	lastCN      string
}

// nameFactsOf parses a DER-encoded Name once and derives its nameFacts, so
// that the subject condition, common_name and the placeholders all read the
// same decoded values.
func nameFactsOf(der []byte) nameFacts {
	rdns, err := parseDNDER(der)
	if err != nil {
		return nameFacts{}
	}
	var n nameFacts
	if key, ok := encodeDNKey(rdns, keyStandard); ok {
		n.keys = append(n.keys, key)
		// The other keys differ from the standard one only for names with
		// non-ASCII bytes, BMPStrings or UniversalStrings (typed), or
		// T61Strings holding non-ASCII UTF-8 (.NET's view); most names have
		// none, and derive one key.
		typed, dotnet := false, false
		for _, rdn := range rdns {
			for _, a := range rdn {
				if a.isString {
					typed = typed || a.family != dnKindASCII
					dotnet = dotnet || a.dotnetReadsUTF8()
				}
			}
		}
		if typed {
			if k, ok := encodeDNKey(rdns, keyTyped); ok {
				n.keys = append(n.keys, k)
			}
		}
		if dotnet {
			if k, ok := encodeDNKey(rdns, keyDotnet); ok {
				n.keys = append(n.keys, k)
			}
		}
	}
	n.text = formatRDNs(rdns)
	var lastCN string
	for _, rdn := range rdns {
		for _, a := range rdn {
			if a.oid != oidCommonNameDotted || !a.isString {
				continue
			}
			folded, _ := foldDNValue(a.value)
			n.commonNames = append(n.commonNames, folded)
			lastCN = a.value
		}
	}
	if lastCN != "" {
		var b strings.Builder
		writeDNDisplayValue(&b, lastCN)
		n.lastCN = b.String()
	}
	return n
}

// oidCommonNameDotted is commonName (2.5.4.3), as dnAttr keeps OIDs.
const oidCommonNameDotted = "2.5.4.3"

// parseDNDER walks Name ::= SEQUENCE OF SET OF SEQUENCE { type OID, value ANY }
// element by element with cryptobyte, as crypto/x509 parses names, so that
// trailing bytes anywhere are rejected rather than ignored.
func parseDNDER(der []byte) ([][]dnAttr, error) {
	input := cryptobyte.String(der)
	var seq cryptobyte.String
	if !input.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, errors.New("parsing distinguished name: Name is not a DER SEQUENCE")
	}
	if !input.Empty() {
		return nil, errors.New("parsing distinguished name: trailing data after Name")
	}
	var rdns [][]dnAttr
	n := 0
	for !seq.Empty() {
		var set cryptobyte.String
		if !seq.ReadASN1(&set, cbasn1.SET) {
			return nil, errors.New("parsing distinguished name: RDN is not a DER SET")
		}
		if set.Empty() {
			return nil, errors.New("parsing distinguished name: empty RDN")
		}
		var rdn []dnAttr
		for !set.Empty() {
			if n++; n > maxDNAttributes {
				return nil, fmt.Errorf("parsing distinguished name: too many attributes (limit %d)", maxDNAttributes)
			}
			var atv, oidDER cryptobyte.String
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) {
				return nil, errors.New("parsing distinguished name: attribute is not a DER SEQUENCE")
			}
			if !atv.ReadASN1Element(&oidDER, cbasn1.OBJECT_IDENTIFIER) {
				return nil, errors.New("parsing distinguished name: attribute type is not an OBJECT IDENTIFIER")
			}
			oid, err := dnOIDFromDER(oidDER)
			if err != nil {
				return nil, err
			}
			value, ok := readDERValue(&atv)
			if !ok {
				return nil, errors.New("parsing distinguished name: attribute value is not a DER value")
			}
			if !atv.Empty() {
				return nil, errors.New("parsing distinguished name: trailing data in attribute")
			}
			rdn = append(rdn, dnAttrFromDER(oid, value))
		}
		rdns = append(rdns, rdn)
	}
	return rdns, nil
}

// dnKnownOIDs maps the DER of the attribute types in dnAttrTypes to their
// dotted form, so that the common names are resolved without decoding.
var dnKnownOIDs = func() map[string]string {
	m := make(map[string]string)
	for _, dotted := range dnAttrTypes {
		var oid asn1.ObjectIdentifier
		for _, arc := range strings.Split(dotted, ".") {
			v, _ := strconv.Atoi(arc)
			oid = append(oid, v)
		}
		der, err := asn1.Marshal(oid)
		if err != nil {
			panic(err)
		}
		m[string(der)] = dotted
	}
	return m
}()

// dnOIDFromDER returns the dotted form of a DER OBJECT IDENTIFIER element
// as asn1.ObjectIdentifier.String prints it; OIDs that encoding/asn1 cannot
// decode are errors, as parseDNKeys refuses them too.
func dnOIDFromDER(der []byte) (string, error) {
	if dotted, ok := dnKnownOIDs[string(der)]; ok {
		return dotted, nil
	}
	var oid asn1.ObjectIdentifier
	if rest, err := asn1.Unmarshal(der, &oid); err != nil || len(rest) != 0 {
		return "", fmt.Errorf("parsing distinguished name: attribute type: %v", err)
	}
	return oid.String(), nil
}

// derValue is one DER element: its tag and its contents, and the whole
// encoding.
type derValue struct {
	tag      cbasn1.Tag // class, constructed bit and tag number (< 31)
	contents []byte
	full     []byte
}

// readDERValue reads one element of any tag from s.
func readDERValue(s *cryptobyte.String) (derValue, bool) {
	var full cryptobyte.String
	var tag cbasn1.Tag
	if !s.ReadAnyASN1Element(&full, &tag) {
		return derValue{}, false
	}
	var contents cryptobyte.String
	elem := full
	if !elem.ReadAnyASN1(&contents, &tag) {
		return derValue{}, false
	}
	return derValue{tag: tag, contents: contents, full: full}, true
}

// dnAttrFromDER classifies a DER attribute value. Text-side "#hex" values go
// through here too, so both sides agree on what counts as a string.
func dnAttrFromDER(oid string, v derValue) dnAttr {
	a := dnAttr{oid: oid, der: v.full}
	const classAndConstructed = 0xe0    // the bits of a tag byte above the number
	if v.tag&classAndConstructed == 0 { // universal and primitive
		if s, ok := dnDecodeString(int(v.tag), v.contents); ok {
			a.isString, a.value, a.tag, a.content = true, s, int(v.tag), v.contents
			a.family = stringFamily(a.tag, a.content)
			return a
		}
	}
	a.value = string(v.full)
	return a
}

// dnDecodeString decodes the contents of a character string type to
// UTF-8. It fails, rather than substituting U+FFFD, on anything it cannot
// decode exactly, so that two different encodings never decode to the same
// string; such values are then compared as DER.
//
// The ASCII-only types are checked for ASCII, not their exact alphabets
// (crypto/x509 already enforces them). T61String is read as ISO-8859-1 and
// BMPString as UCS-2, as crypto/x509 does; unlike crypto/x509 a trailing NUL
// in a BMPString is kept, as it is a different value.
func dnDecodeString(tag int, b []byte) (string, bool) {
	switch tag {
	case asn1.TagUTF8String:
		if !utf8.Valid(b) {
			return "", false
		}
		return string(b), true
	case asn1.TagPrintableString, asn1.TagIA5String, asn1.TagNumericString, dnTagVisibleString:
		if !isASCII(b) {
			return "", false
		}
		return string(b), true
	case asn1.TagT61String:
		return latin1(b), true
	case asn1.TagBMPString: // UCS-2 big-endian; surrogates are not characters
		if len(b)%2 != 0 {
			return "", false
		}
		var sb strings.Builder
		sb.Grow(len(b))
		for i := 0; i < len(b); i += 2 {
			r := rune(b[i])<<8 | rune(b[i+1])
			if r >= 0xd800 && r <= 0xdfff {
				return "", false
			}
			sb.WriteRune(r)
		}
		return sb.String(), true
	case dnTagUniversalString: // UTF-32BE
		if len(b)%4 != 0 {
			return "", false
		}
		var sb strings.Builder
		sb.Grow(len(b))
		for i := 0; i < len(b); i += 4 {
			v := binary.BigEndian.Uint32(b[i:])
			if v > unicode.MaxRune || !utf8.ValidRune(rune(v)) {
				return "", false
			}
			sb.WriteRune(rune(v))
		}
		return sb.String(), true
	}
	return "", false
}

// encodeDNKey builds the key described at dnKey, comparing strings as kind
// says. It reports false when a value holds a control character: such a
// name never matches (see foldDNValue).
func encodeDNKey(rdns [][]dnAttr, kind dnKeyKind) (dnKey, bool) {
	b := make([]byte, 0, 128)
	b = binary.AppendUvarint(b, uint64(len(rdns)))
	var encs [][]byte
	for _, rdn := range rdns {
		b = binary.AppendUvarint(b, uint64(len(rdn)))
		if len(rdn) == 1 {
			var ok bool
			if b, ok = appendDNAttrKey(b, rdn[0], kind); !ok {
				return "", false
			}
			continue
		}
		// A multi-valued RDN is a SET: sort so "+" order does not matter.
		encs = encs[:0]
		for _, a := range rdn {
			e, ok := appendDNAttrKey(nil, a, kind)
			if !ok {
				return "", false
			}
			encs = append(encs, e)
		}
		slices.SortFunc(encs, bytes.Compare)
		for _, e := range encs {
			b = append(b, e...)
		}
	}
	return dnKey(b), true
}

func appendDNAttrKey(b []byte, a dnAttr, kind dnKeyKind) ([]byte, bool) {
	b = binary.AppendUvarint(b, uint64(len(a.oid)))
	b = append(b, a.oid...)
	if !a.isString {
		b = append(b, dnKindDER)
		b = binary.AppendUvarint(b, uint64(len(a.value)))
		return append(b, a.value...), true
	}
	// A value holding a control character never matches: no key.
	v, ok := foldDNValue(a.value)
	if !ok {
		return nil, false
	}
	kindByte := dnKindString
	switch {
	case kind == keyTyped && a.family != dnKindASCII:
		kindByte = a.family
	case kind == keyDotnet && a.dotnetReadsUTF8():
		v, _ = foldDNValue(string(a.content))
	}
	b = append(b, kindByte)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...), true
}

// foldDNValue folds an attribute value for comparison: it trims leading and
// trailing spaces (U+0020), collapses internal runs of them to one and
// lower-cases. Nothing else is folded: no-break and ideographic spaces are
// data, so "station-042\u00a0" is not "station-042" (a CA that checks names
// for uniqueness on their raw strings could issue both). There is
// deliberately no Unicode normalisation either, so look-alike characters
// (Cyrillic "С" and Latin "C") stay different.
//
// A value holding a control character (Unicode category Cc: NUL, tab, CR,
// LF, NEL, …) reports false: such a name never matches anything, in any
// condition, however the policy writes it.
//
// Lower-casing is strings.ToLower restricted to true case pairs: a rune is
// lowered only if upper-casing the result gives it back. This keeps the
// handful of compatibility characters that ToLower would merge into other
// letters (KELVIN SIGN into "k", OHM SIGN into "ω", "İ" into "i") distinct.
// Invalid UTF-8 bytes are kept as they are.
func foldDNValue(s string) (string, bool) {
	if dnFolded(s) {
		return s, true
	}
	var b strings.Builder
	b.Grow(len(s))
	pendingSpace := false
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			if pendingSpace {
				b.WriteByte(' ')
				pendingSpace = false
			}
			b.WriteByte(s[i])
			i++
			continue
		}
		i += size
		switch {
		case unicode.IsControl(r):
			return "", false
		case r == ' ':
			pendingSpace = b.Len() > 0
			continue
		}
		if pendingSpace {
			b.WriteByte(' ')
			pendingSpace = false
		}
		b.WriteRune(foldDNRune(r))
	}
	return b.String(), true
}

// dnFolded reports whether s is ASCII without controls and already folded,
// the common case, so that foldDNValue need not allocate.
func dnFolded(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= utf8.RuneSelf, 'A' <= c && c <= 'Z', c < ' ', c == 0x7f:
			return false
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i+1] == ' ' {
				return false
			}
		}
	}
	return true
}

func foldDNRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	if l := unicode.ToLower(r); l != r && unicode.ToUpper(l) == r {
		return l
	}
	return r
}

// formatRDNs returns the RFC 4514 string of a parsed name (for logs and
// placeholders). Known attributes are printed by name with their string
// value; other attributes, and values that are not character strings, are
// printed as "#" and the hex of their DER. Non-printable characters are
// \XX-escaped so the result is safe to log. parseDNKeys accepts the result
// and yields the name's standard key.
func formatRDNs(rdns [][]dnAttr) string {
	var b strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if i != len(rdns)-1 {
			b.WriteByte(',')
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteByte('+')
			}
			name, known := dnAttrDisplayNames[a.oid]
			if !known {
				name = a.oid
			}
			b.WriteString(name)
			b.WriteByte('=')
			if known && a.isString {
				writeDNValue(&b, a.value)
			} else {
				b.WriteByte('#')
				b.WriteString(hex.EncodeToString(a.der))
			}
		}
	}
	return b.String()
}

// writeDNDisplayValue writes v for a placeholder or a log line: \XX
// escapes (of its UTF-8 bytes) for the characters that are not printable,
// and \\ for a backslash, so that it cannot break a header or a line, and
// two values never look the same.
func writeDNDisplayValue(b *strings.Builder, v string) {
	for _, r := range v {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			writeDNHexEscape(b, r)
		}
	}
}

// writeDNHexEscape writes r as \XX escapes of its UTF-8 bytes.
func writeDNHexEscape(b *strings.Builder, r rune) {
	const hexDigits = "0123456789ABCDEF"
	var enc [utf8.UTFMax]byte
	for _, c := range enc[:utf8.EncodeRune(enc[:], r)] {
		b.WriteByte('\\')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
	}
}

// writeDNValue writes v escaped as RFC 4514 requires, plus \XX escapes for
// non-printable characters.
func writeDNValue(b *strings.Builder, v string) {
	for i, r := range v {
		switch {
		case r == ',', r == '+', r == '"', r == '\\', r == '<', r == '>', r == ';',
			r == ' ' && (i == 0 || i == len(v)-1),
			r == '#' && i == 0:
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == ' ' || unicode.IsPrint(r):
			b.WriteRune(r)
		default:
			writeDNHexEscape(b, r)
		}
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
