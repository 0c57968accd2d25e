// dn_test.go: DN parsing and matching against certificates, errors,
// limits, formatting, and the DN fuzz targets.

package clientcertificate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
)

var (
	dnOIDCN           = asn1.ObjectIdentifier{2, 5, 4, 3}
	dnOIDSurname      = asn1.ObjectIdentifier{2, 5, 4, 4}
	dnOIDSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	dnOIDC            = asn1.ObjectIdentifier{2, 5, 4, 6}
	dnOIDL            = asn1.ObjectIdentifier{2, 5, 4, 7}
	dnOIDST           = asn1.ObjectIdentifier{2, 5, 4, 8}
	dnOIDStreet       = asn1.ObjectIdentifier{2, 5, 4, 9}
	dnOIDO            = asn1.ObjectIdentifier{2, 5, 4, 10}
	dnOIDOU           = asn1.ObjectIdentifier{2, 5, 4, 11}
	dnOIDTitle        = asn1.ObjectIdentifier{2, 5, 4, 12}
	dnOIDDescription  = asn1.ObjectIdentifier{2, 5, 4, 13}
	dnOIDBusinessCat  = asn1.ObjectIdentifier{2, 5, 4, 15}
	dnOIDPostalCode   = asn1.ObjectIdentifier{2, 5, 4, 17}
	dnOIDName         = asn1.ObjectIdentifier{2, 5, 4, 41}
	dnOIDGivenName    = asn1.ObjectIdentifier{2, 5, 4, 42}
	dnOIDInitials     = asn1.ObjectIdentifier{2, 5, 4, 43}
	dnOIDGenQualifier = asn1.ObjectIdentifier{2, 5, 4, 44}
	dnOIDDNQualifier  = asn1.ObjectIdentifier{2, 5, 4, 46}
	dnOIDPseudonym    = asn1.ObjectIdentifier{2, 5, 4, 65}
	dnOIDOrgID        = asn1.ObjectIdentifier{2, 5, 4, 97}
	dnOIDDC           = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	dnOIDUID          = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	dnOIDEmail        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	dnOIDJurL         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 1}
	dnOIDJurST        = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 2}
	dnOIDJurC         = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 60, 2, 1, 3}
	dnOIDPrivate      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

func dnATV(oid asn1.ObjectIdentifier, v any) pkix.AttributeTypeAndValue {
	return pkix.AttributeTypeAndValue{Type: oid, Value: v}
}

func dnRDN(atvs ...pkix.AttributeTypeAndValue) pkix.RelativeDistinguishedNameSET { return atvs }

func dnSeq(rdns ...pkix.RelativeDistinguishedNameSET) pkix.RDNSequence { return rdns }

// dnTyped is an attribute value with an explicit universal tag, for string
// types Go never chooses on its own.
func dnTyped(tag int, content []byte) asn1.RawValue {
	return asn1.RawValue{Class: asn1.ClassUniversal, Tag: tag, Bytes: content}
}

func dnBMP(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.BigEndian.AppendUint16(b, u)
	}
	return b
}

func dnUTF32(s string) []byte {
	var b []byte
	for _, r := range s {
		b = binary.BigEndian.AppendUint32(b, uint32(r))
	}
	return b
}

func dnMarshal(t testing.TB, v any) []byte {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatalf("asn1.Marshal: %v", err)
	}
	return der
}

// dnTestKey is generated per test run; no key material is committed.
var dnTestKey = sync.OnceValues(func() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
})

// dnTestCert issues a self-signed certificate from tmpl and parses it back,
// so tests see RawSubject exactly as crypto/x509 and crypto/tls do.
func dnTestCert(t testing.TB, tmpl *x509.Certificate) *x509.Certificate {
	t.Helper()
	key, err := dnTestKey()
	if err != nil {
		t.Fatal(err)
	}
	tmpl.SerialNumber = big.NewInt(42)
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(time.Hour)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("x509.CreateCertificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("x509.ParseCertificate: %v", err)
	}
	return cert
}

func dnMustKey(t testing.TB, der []byte) dnKey {
	t.Helper()
	k, err := dnKeyFromDER(der)
	if err != nil {
		t.Fatalf("dnKeyFromDER(%x): %v", der, err)
	}
	return k
}

// dnGoStringOK reports whether rdns.String() is a faithful rendering: Go
// prints known attributes with fmt.Sprint, which is only right for strings.
func dnGoStringOK(rdns pkix.RDNSequence) bool {
	goKnown := map[string]bool{"2.5.4.6": true, "2.5.4.10": true, "2.5.4.11": true, "2.5.4.3": true,
		"2.5.4.5": true, "2.5.4.7": true, "2.5.4.8": true, "2.5.4.9": true, "2.5.4.17": true}
	for _, rdn := range rdns {
		for _, atv := range rdn {
			if _, ok := atv.Value.(string); !ok && goKnown[atv.Type.String()] {
				return false
			}
		}
	}
	return true
}

// dnMatchCases are names built as DER, with text forms that must all give
// the same key as the DER. rdns.String() and formatDN are added implicitly.
var dnMatchCases = []struct {
	name   string
	rdns   pkix.RDNSequence
	noCert bool // crypto/x509 refuses certificates with such values
	forms  []string
}{
	{
		name: "contoso",
		rdns: dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "Contoso Weather")),
			dnRDN(dnATV(dnOIDOU, "Stations")), dnRDN(dnATV(dnOIDCN, "station-042"))),
		forms: []string{
			`CN=station-042,OU=Stations,O=Contoso Weather,C=US`,            // openssl -nameopt RFC2253, Go
			`CN=station-042, OU=Stations, O=Contoso Weather, C=US`,         // .NET / Azure APIM
			`/C=US/O=Contoso Weather/OU=Stations/CN=station-042`,           // openssl -nameopt compat
			`C = US, O = Contoso Weather, OU = Stations, CN = station-042`, // OpenSSL default (oneline): most significant first
			`CN=station-042;OU=Stations;O=Contoso Weather;C=US`,            // RFC 1779 separators
			`CN="station-042", OU="Stations", O="Contoso Weather", C="US"`, // quoted
			`cn=STATION-042,Ou=stations,o=CONTOSO   WEATHER ,c=us`,         // folding
			"  CN=station-042 ,\tOU=Stations,O= Contoso Weather,C=US  ",    // outer spaces
			`2.5.4.3=station-042,OID.2.5.4.11=Stations,oid.2.5.4.10=Contoso Weather,2.5.4.6=US`,
			`CN=#130b73746174696f6e2d303432,OU=#0C0853746174696F6E73,O=Contoso Weather,C=#13025553`,
			`commonName=station-042,organizationalUnitName=Stations,organizationName=Contoso Weather,countryName=US`,
			`/c=us/o=contoso weather/ou=stations/cn=station-042`,
			` / C = US / O = Contoso Weather / OU = Stations / CN = station-042 `,
		},
	},
	{
		name: "BER #hex values",
		rdns: dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, "ab"))),
		forms: []string{
			`CN=#0c026162,O=Contoso`,             // DER
			`CN=#0c81026162,O=Contoso`,           // a long-form length
			`CN=#0c8200026162,O=Contoso`,         // a non-minimal length
			`CN=#2c060c01610c0162,O=Contoso`,     // constructed: two segments
			`CN=#2c800c01610c01620000,O=Contoso`, // constructed, indefinite length
			`CN=#2c082c030c01610c0162,O=Contoso`, // nested
		},
	},
	{
		name:  "escaped comma",
		rdns:  dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, "Weather, Inc"))),
		forms: []string{`CN=Weather\, Inc,O=Contoso`, `CN="Weather, Inc", O=Contoso`, `CN=Weather\2C Inc,O=Contoso`, `CN=Weather\2c Inc;O=Contoso`, `O = Contoso, CN = "Weather, Inc"`, `/O=Contoso/CN=Weather, Inc`},
	},
	{
		name: "special characters",
		rdns: dnSeq(dnRDN(dnATV(dnOIDCN, `#1 "quoted" a+b=c\d<e>;f/g`))),
		forms: []string{
			`CN=\#1 \"quoted\" a\+b=c\\d\<e\>\;f/g`,
			`CN="#1 ""quoted"" a+b=c\\d<e>;f/g"`,
			`CN="#1 \"quoted\" a+b=c\\d<e>;f/g"`,
			// (openssl -nameopt compat prints `/CN=#1 "quoted" a\+b=c\d<e>;f\/g`,
			// which that form cannot tell from two attributes: refused.)
		},
	},
	{
		name:  "unicode",
		rdns:  dnSeq(dnRDN(dnATV(dnOIDO, "Zürich")), dnRDN(dnATV(dnOIDCN, "Météo"))),
		forms: []string{`CN=M\C3\A9t\C3\A9o,O=Z\C3\BCrich`, `CN=Météo, O=Zürich`, `CN=MÉTÉO,O=ZÜRICH`, `/O=Z\xC3\xBCrich/CN=M\xc3\xa9t\xc3\xa9o`},
	},
	{
		name:  "whitespace and case",
		rdns:  dnSeq(dnRDN(dnATV(dnOIDO, "ACME")), dnRDN(dnATV(dnOIDCN, "  Station   042  "))),
		forms: []string{`CN=station 042,O=acme`, `CN=\ \ Station 042\ ,O=Acme`, `CN="  STATION   042", O=ACME`},
	},
	{
		name: "multi-valued RDN",
		rdns: dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "X")),
			dnRDN(dnATV(dnOIDCN, "a"), dnATV(dnOIDUID, "b"))),
		forms: []string{`CN=a+UID=b,O=X,C=US`, `UID=b+CN=a,O=X,C=US`, `/C=US/O=X/UID=b+CN=a`, `CN=a + UID=b, O=X, C=US`, `cn=A+uid=B;o=x;c=us`},
	},
	{
		name: ".NET short names",
		rdns: dnSeq(
			dnRDN(dnATV(dnOIDDC, dnTyped(asn1.TagIA5String, []byte("com")))),
			dnRDN(dnATV(dnOIDDC, dnTyped(asn1.TagIA5String, []byte("example")))),
			dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDST, "Washington")), dnRDN(dnATV(dnOIDL, "Redmond")),
			dnRDN(dnATV(dnOIDStreet, "1 Main St")), dnRDN(dnATV(dnOIDPostalCode, "98052")),
			dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDOU, "Ops")), dnRDN(dnATV(dnOIDSerialNumber, "1234")),
			dnRDN(dnATV(dnOIDTitle, "Engineer")), dnRDN(dnATV(dnOIDGivenName, "Ada")), dnRDN(dnATV(dnOIDSurname, "Lovelace")),
			dnRDN(dnATV(dnOIDEmail, dnTyped(asn1.TagIA5String, []byte("ops@example.com")))),
			dnRDN(dnATV(dnOIDCN, "Ada Lovelace"))),
		forms: []string{
			`CN=Ada Lovelace, E=ops@example.com, SN=Lovelace, G=Ada, T=Engineer, SERIALNUMBER=1234, OU=Ops, O=Contoso, PostalCode=98052, STREET=1 Main St, L=Redmond, S=Washington, C=US, DC=example, DC=com`,
			`CN=Ada Lovelace,emailAddress=ops@example.com,surname=Lovelace,givenName=Ada,title=Engineer,serialNumber=1234,OU=Ops,O=Contoso,postalCode=98052,street=1 Main St,L=Redmond,ST=Washington,C=US,DC=example,DC=com`,
			`/DC=com/DC=example/C=US/ST=Washington/L=Redmond/street=1 Main St/postalCode=98052/O=Contoso/OU=Ops/serialNumber=1234/title=Engineer/GN=Ada/SN=Lovelace/emailAddress=ops@example.com/CN=Ada Lovelace`,
		},
	},
	{
		name: "other known names",
		rdns: dnSeq(
			dnRDN(dnATV(dnOIDJurC, "US")), dnRDN(dnATV(dnOIDJurST, "Delaware")), dnRDN(dnATV(dnOIDJurL, "Wilmington")),
			dnRDN(dnATV(dnOIDBusinessCat, "Private Organization")), dnRDN(dnATV(dnOIDOrgID, "NTRUS+DE-5157550")),
			dnRDN(dnATV(dnOIDDescription, "d")), dnRDN(dnATV(dnOIDName, "n")), dnRDN(dnATV(dnOIDInitials, "AL")),
			dnRDN(dnATV(dnOIDGenQualifier, "III")), dnRDN(dnATV(dnOIDDNQualifier, "q")), dnRDN(dnATV(dnOIDPseudonym, "p"))),
		forms: []string{
			`pseudonym=p,dnQualifier=q,generationQualifier=III,initials=AL,name=n,description=d,organizationIdentifier=NTRUS\+DE-5157550,businessCategory=Private Organization,jurisdictionL=Wilmington,jurisdictionST=Delaware,jurisdictionC=US`,
			`PSEUDONYM=p, DNQUALIFIER=q, GENERATIONQUALIFIER=III, INITIALS=AL, NAME=n, DESCRIPTION=d, ORGANIZATIONIDENTIFIER="NTRUS+DE-5157550", BUSINESSCATEGORY=Private Organization, jurisdictionLocalityName=Wilmington, jurisdictionStateOrProvinceName=Delaware, jurisdictionCountryName=US`,
		},
	},
	{
		name:  "unknown OID",
		rdns:  dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDPrivate, "Custom"))),
		forms: []string{`OID.1.3.6.1.4.1.99999.1=Custom, O=X`, `1.3.6.1.4.1.99999.1=custom,O=X`, `1.3.6.1.4.1.99999.1=#0c06437573746f6d,O=X`},
	},
	{
		name: "BMPString and T61String",
		rdns: dnSeq(dnRDN(dnATV(dnOIDO, dnTyped(asn1.TagT61String, []byte("Caf\xe9")))),
			dnRDN(dnATV(dnOIDCN, dnTyped(asn1.TagBMPString, dnBMP("Zoë"))))),
		forms: []string{`CN=Zoë,O=Café`, `CN=zoË, O=CAFÉ`, `CN=#0c045a6fc3ab,O=Caf\C3\A9`, `CN=#1e06005a006f00eb,O=#1404436166e9`},
	},
	{
		name:   "UniversalString and VisibleString",
		rdns:   dnSeq(dnRDN(dnATV(dnOIDO, dnTyped(26, []byte("Visible")))), dnRDN(dnATV(dnOIDCN, dnTyped(28, dnUTF32("Ünï 𝄞"))))),
		noCert: true,
		forms:  []string{`CN=Ünï 𝄞,O=Visible`, `CN=ünÏ  𝄞 , O=VISIBLE`},
	},
	{
		name:   "non-string value",
		rdns:   dnSeq(dnRDN(dnATV(asn1.ObjectIdentifier{1, 2, 3, 4}, 42))),
		noCert: true,
		forms:  []string{`1.2.3.4=#02012A`, `OID.1.2.3.4 = #02012a`},
	},
	{
		name:  "empty value",
		rdns:  dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, ""))),
		forms: []string{`CN=,O=X`, `CN="", O=X`, `CN= ,O=X`, `/O=X/CN=`},
	},
}

// parseDN is parseDNKeys for the names of these tests that have one
// reading (no non-ASCII value).
func parseDN(s string) (dnKey, error) {
	keys, err := parseDNKeys(s)
	if err != nil {
		return "", err
	}
	if len(keys) != 1 {
		return "", fmt.Errorf("%d readings, want 1", len(keys))
	}
	return keys[0], nil
}

// dnDenotes reports why s, parsed, does not denote the name whose DER is
// der (nil when it does): one of its keys must be one of the name's
// (nameFacts.keys: standard, by bytes, as .NET displays it).
func dnDenotes(s string, der []byte) error {
	keys, err := parseDNKeys(s)
	if err != nil {
		return fmt.Errorf("parseDNKeys(%q): %v", s, err)
	}
	if !dnKeysMeet(keys, nameFactsOf(der).keys) {
		return fmt.Errorf("parseDNKeys(%q) = %q denotes no key of the name %x", s, keys, der)
	}
	return nil
}

func TestParseDNMatchesCertificate(t *testing.T) {
	for _, tc := range dnMatchCases {
		t.Run(tc.name, func(t *testing.T) {
			der := dnMarshal(t, tc.rdns)
			if !tc.noCert {
				cert := dnTestCert(t, &x509.Certificate{RawSubject: der})
				if !bytes.Equal(cert.RawSubject, der) {
					t.Fatalf("certificate RawSubject %x, want %x", cert.RawSubject, der)
				}
				der = cert.RawSubject
			}

			forms := append([]string{formatDN(der)}, tc.forms...)
			if dnGoStringOK(tc.rdns) {
				forms = append(forms, tc.rdns.String())
			}
			for _, form := range forms {
				if err := dnDenotes(form, der); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

// TestParseDNGoNameString covers names as most Go programs build them: from
// a pkix.Name, printed with pkix.Name.String.
func TestParseDNGoNameString(t *testing.T) {
	names := []pkix.Name{
		{CommonName: "station-042", OrganizationalUnit: []string{"Stations"}, Organization: []string{"Contoso Weather"}, Country: []string{"US"}},
		{CommonName: "Weather, Inc", Organization: []string{"A+B", "C;D"}, Locality: []string{" Spaced "}, Province: []string{"#hash"}},
		// No ExtraNames: pkix.Name.String prints them out of place.
		{CommonName: "x", SerialNumber: "0042", StreetAddress: []string{"1 Main St"}, PostalCode: []string{"98052"}},
	}
	for _, n := range names {
		cert := dnTestCert(t, &x509.Certificate{Subject: n})
		want := dnMustKey(t, cert.RawSubject)
		for _, s := range []string{cert.Subject.String(), formatDN(cert.RawSubject)} {
			got, err := parseDN(s)
			if err != nil {
				t.Errorf("parseDN(%q): %v", s, err)
			} else if got != want {
				t.Errorf("parseDN(%q) does not match the certificate", s)
			}
		}
		if got := dnMustKey(t, cert.RawIssuer); got != want {
			t.Errorf("self-signed RawIssuer key differs from RawSubject key")
		}
	}
}

// TestParseDNRDNSequenceRoundTrip: parseDN(rdns.String()) must equal
// dnKeyFromDER(asn1.Marshal(rdns)), unknown OIDs included.
func TestParseDNRDNSequenceRoundTrip(t *testing.T) {
	seqs := []pkix.RDNSequence{
		dnSeq(dnRDN(dnATV(dnOIDCN, "plain"))),
		dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDPrivate, "x,y+z"), dnATV(dnOIDCN, "c"))),
		dnSeq(dnRDN(dnATV(asn1.ObjectIdentifier{2, 999, 1}, "ünïcode"))),
		dnSeq(dnRDN(dnATV(asn1.ObjectIdentifier{1, 2, 3}, 7)), dnRDN(dnATV(asn1.ObjectIdentifier{1, 2, 4}, true))),
		dnSeq(dnRDN(dnATV(dnOIDO, " lead"), dnATV(dnOIDOU, "trail "), dnATV(dnOIDL, `\"<>;`))),
		dnSeq(dnRDN(dnATV(dnOIDDC, "org")), dnRDN(dnATV(dnOIDDC, "example")), dnRDN(dnATV(dnOIDUID, "u/1"))),
	}
	for _, rdns := range seqs {
		der := dnMarshal(t, rdns)
		for _, s := range []string{rdns.String(), formatDN(der)} {
			if err := dnDenotes(s, der); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestParseDNMismatch(t *testing.T) {
	pairs := []struct{ name, a, b string }{
		{"escaped comma vs two attributes", `CN=a\,OU=b`, `CN=a,OU=b`},
		{"escaped comma CN vs separate CNs", `CN=Weather\, Inc,O=X`, `CN=Weather,CN=Inc,O=X`},
		{"quoted comma vs separate attributes", `CN="Weather, OU=Inc", O=X`, `CN=Weather, OU=Inc, O=X`},
		{"escaped plus vs multi-valued", `CN=a\+UID=b`, `CN=a+UID=b`},
		{"escaped slash vs two RDNs", `/CN=a\/b`, `/CN=a/O=b`},
		{"RDN order swapped", `CN=a,O=b`, `O=b,CN=a`},
		{"slash order swapped", `/C=US/O=X`, `/O=X/C=US`},
		{"slash vs RFC order", `/C=US/O=X`, `C=US,O=X`},
		{"duplicated attribute", `OU=a,OU=a,O=b`, `OU=a,O=b`},
		{"duplicated in multi-valued", `CN=a+CN=a`, `CN=a`},
		{"Cyrillic Es", "CN=\u0421ontoso", "CN=Contoso"},
		{"Cyrillic o", "O=Cont\u043eso", "O=Contoso"},
		{"Kelvin sign", "CN=\u212Aey", "CN=key"},
		{"Ohm sign", "CN=\u2126", "CN=\u03a9"},
		{"more RDNs", `CN=a,O=b`, `CN=a,O=b,C=US`},
		{"fewer RDNs", `CN=a,O=b`, `CN=a`},
		{"multi-valued vs separate", `CN=a+UID=b,O=X`, `CN=a,UID=b,O=X`},
		{"multi-valued vs separate reversed", `CN=a+UID=b,O=X`, `UID=b,CN=a,O=X`},
		{"different grouping", `CN=a+O=b,C=c`, `CN=a,O=b+C=c`},
		{"different grouping, same sorted order", `ST=z,C=x+L=y`, `L=y+ST=z,C=x`},
		{"different type", `CN=a`, `O=a`},
		{"SN is surname", `SN=a`, `SERIALNUMBER=a`},
		{"no-break space", "CN=a\u00a0b", `CN=a b`},
		{"trailing no-break space", "CN=station-042\u00a0", `CN=station-042`},
		{"ideographic space", "CN=\u3000station-042", `CN=station-042`},
		{"internal space", `CN=a b`, `CN=ab`},
		{"string vs OCTET STRING", `CN=a`, `CN=#040161`},
		// A value cannot spell key structure: keys are length-prefixed, and
		// counts and short lengths are control bytes, which no value holds.
		{"string vs INTEGER", `1.2.3.4=42`, `1.2.3.4=#02012a`},
		{"hex is not a string when quoted", `CN="#0c0161"`, `CN=#0c0161`},
		{"escaped hash", `CN=\#0c0161`, `CN=a`},
		{"semicolon escaped", `CN=a\;O=b`, `CN=a;O=b`},
		{"different OID", `1.2.3=a`, `1.2.30=a`},
	}
	for _, p := range pairs {
		ka, err := parseDNKeys(p.a)
		if err != nil {
			t.Fatalf("%s: parseDNKeys(%q): %v", p.name, p.a, err)
		}
		kb, err := parseDNKeys(p.b)
		if err != nil {
			t.Fatalf("%s: parseDNKeys(%q): %v", p.name, p.b, err)
		}
		for _, k := range ka {
			if slices.Contains(kb, k) {
				t.Errorf("%s: %q and %q denote a name in common", p.name, p.a, p.b)
			}
		}
	}

	// The same distinctions against real certificates.
	certs := []struct {
		name string
		rdns pkix.RDNSequence
		text string
	}{
		{"comma in CN", dnSeq(dnRDN(dnATV(dnOIDCN, "a,OU=b"))), `CN=a,OU=b`},
		{"separate attributes", dnSeq(dnRDN(dnATV(dnOIDOU, "b")), dnRDN(dnATV(dnOIDCN, "a"))), `CN=a\,OU=b`},
		{"multi-valued cert", dnSeq(dnRDN(dnATV(dnOIDCN, "a"), dnATV(dnOIDUID, "b"))), `CN=a,UID=b`},
		{"separate cert", dnSeq(dnRDN(dnATV(dnOIDUID, "b")), dnRDN(dnATV(dnOIDCN, "a"))), `CN=a+UID=b`},
		{"look-alike cert", dnSeq(dnRDN(dnATV(dnOIDCN, "\u0421ontoso"))), `CN=Contoso`},
		{"swapped cert", dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "X"))), `C=US,O=X`},
		{"duplicated cert", dnSeq(dnRDN(dnATV(dnOIDOU, "a")), dnRDN(dnATV(dnOIDOU, "a"))), `OU=a`},
	}
	for _, c := range certs {
		cert := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, c.rdns)})
		k, err := parseDN(c.text)
		if err != nil {
			t.Fatalf("%s: parseDN(%q): %v", c.name, c.text, err)
		}
		if k == dnMustKey(t, cert.RawSubject) {
			t.Errorf("%s: %q matches certificate subject %s", c.name, c.text, formatDN(cert.RawSubject))
		}
	}
}

func TestParseDNErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "empty distinguished name"},
		{"   ", "empty distinguished name"},
		{" \t ", `missing "="`}, // a tab is no space between attributes
		{"CN", `missing "="`},
		{"CN=a,O", `missing "=" after "O"`},
		{"CN=a+b", `missing "=" after "b"`},
		{"/C=US/foo", `missing "=" after "foo"`},
		{"=a", "empty attribute type"},
		{"CN=a, =b", "empty attribute type"},
		{"FOO=bar", `unknown attribute type "FOO": use a known name such as CN, O, OU, C, L, ST, DC, UID, emailAddress or a dotted OID`},
		{"Common Name=x", `unknown attribute type "Common Name"`},
		{"subject=CN = x", `starts with "subject=", which openssl prints before the name`},
		{"issuer= C = US, CN = x", `starts with "issuer=", which openssl prints before the name`},
		{"OID.=x", "invalid OID"},
		{"OID.CN=x", "not a decimal number"},
		{"1=x", "at least two arcs"},
		{"1.2..3=x", "empty arc"},
		{"1.2.=x", "empty arc"},
		{"3.1=x", "first arc must be 0, 1 or 2"},
		{"1.40=x", "second arc"},
		{"1.2.03=x", "leading zero"},
		{"1.2.2147483648=x", "too large"},
		{"2.2147483600=x", "too large"},
		{"1.2.3x=y", "not a decimal number"},
		{`CN="abc`, "unterminated quoted value"},
		{`CN="abc""`, "unterminated quoted value"},
		{`CN="a"b`, "after the closing quote"},
		{`CN="a" O=b`, "after the closing quote"},
		// RFC 4514 escapes. (A single RDN whose escapes are not RFC 4514's
		// reads as .NET prints it, where a backslash is itself; see
		// TestParseDNDotnetBackslash. O=x after "," keeps these RFC 4514.)
		{`O=x,CN=abc\`, "trailing backslash"},
		{`O=x,CN="abc\`, "trailing backslash"},
		{`CN=a\4,O=x`, "invalid escape"},
		{`CN=a\4g,O=x`, "invalid escape"},
		{`CN=a\zz,O=x`, `invalid escape "\\zz"`},
		{`CN=a\x4,O=x`, "invalid escape"},
		{`CN=a\é,O=x`, "invalid escape"},
		{`CN=#`, "empty #hex value"},
		{`CN=# ,O=x`, "empty #hex value"},
		{`CN=#abc`, "odd number of hex digits"},
		{`CN=#0c0161zz`, "invalid character"},
		{`CN=#0c01 61`, "invalid character"},
		{`CN=#0c05616263`, "not a single BER-encoded"},
		{`CN=#0c01610c0161`, "not a single BER-encoded"},
		{`CN=#30800000`, "not a single BER-encoded"}, // constructed, not a string
		{`CN=#0c850000000161`, "not a single BER-encoded"},
		{`CN=#0c84ffffffff61`, "not a single BER-encoded"}, // a length that overflows a 32-bit int // a length of more than 4 bytes
		{`CN=#2c800c0161`, "not a single BER-encoded"},     // indefinite, never ended
		{`CN=#0c800161`, "not a single BER-encoded"},       // indefinite, primitive
		{"CN=a,,O=b", "empty RDN"},
		{"CN=a;;O=b", "empty RDN"},
		{",CN=a", "empty RDN at offset 0"},
		{"CN=a,", "empty RDN"},
		{"CN=a, ", "empty RDN"},
		{"CN=a+,O=b", `empty attribute after "+"`},
		{"CN=a+", `empty attribute after "+"`},
		{"+CN=a", "empty RDN"},
		{"/C=US//CN=a", "empty RDN"},
		{"/C=US/", "empty RDN"},
		{"/", "empty RDN"},
		{`CN=\C3,O=x`, "not valid UTF-8"},
		{`CN=\FF\FE,O=x`, "not valid UTF-8"},
		{"CN=\xff", "not valid UTF-8"},
		{`CN="\C3(",O=x`, "not valid UTF-8"},
		// OpenSSL's slash form cannot tell these apart.
		{`/CN=a\/O=b`, `ambiguous at offset 5: in OpenSSL's slash form "\\/" is either a "/" inside the value`},
		{`/CN=a\+UID=b`, `ambiguous at offset 5`},
		{`/CN=a\/telephoneNumber=1`, `ambiguous at offset 5`}, // a type the parser does not know
		// What earlier versions read as RFC 4514 in the slash form.
		{`/O=Contoso/CN=ACME\, Inc`, "earlier versions of this plugin read"},
		{`/O=Contoso/CN=Jos\C3\A9`, "earlier versions of this plugin read"},
		{`/O=Contoso/CN=a\\b`, "earlier versions of this plugin read"},
		{`/O=Contoso/CN=#0c0161`, "earlier versions of this plugin read"},
		{`/O=Contoso/CN="a, b"`, "earlier versions of this plugin read"},
		// One RDN with an escape RFC 2253 tools never write reads as .NET
		// too (where "\70" is itself).
		{`CN=CORP\700123`, "ambiguous: it reads as one name as .NET prints names"},
		{`CN=ACME\-svc`, "ambiguous: it reads as one name as .NET prints names"},
		{`CN=\231 \22quoted\22 a\2Bb\3Dc\5Cd\3Ce\3E\3Bf\2Fg`, "ambiguous: it reads as one name as .NET prints names"},
		// What .NET prints for the one CN `x\", O=evil`.
		{`CN="x\"", O=evil"`, "ambiguous: it reads as one name as .NET prints names"},
		{`/CN=\x00`, "its bytes read as no string without control characters"},
		{`/CN=a\x0Ab`, "its bytes read as no string without control characters"},
		// .NET and RFC 4514 read these differently.
		{`CN=a\\b, O=x`, "ambiguous: it reads as one name as .NET prints names"},
		{`CN=Weather\2C Inc, O=x`, "ambiguous: it reads as one name as .NET prints names"},
		{strings.Repeat("a", maxDNTextLen+1), "too long"},
		{strings.Repeat("A", 1000) + "=x", `unknown attribute type "AAAA`},
		{"1." + strings.Repeat("9", 1000) + "=x", "too large"},
		{strings.Repeat("CN=a,", maxDNAttributes) + "CN=a", "too many attributes"},
		{strings.Repeat("CN=a+", maxDNAttributes) + "CN=a", "too many attributes"},
	}
	for _, tc := range tests {
		k, err := parseDN(tc.in)
		if err == nil {
			t.Errorf("parseDN(%.60q) = %q, want error containing %q", tc.in, k, tc.want)
			continue
		}
		if k != "" {
			t.Errorf("parseDN(%.60q) returned key %q with error", tc.in, k)
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseDN(%.60q) error %q, want it to contain %q", tc.in, err, tc.want)
		}
		if len(err.Error()) > 300 {
			t.Errorf("parseDN(%.60q) error is %d bytes long; quote less of the input", tc.in, len(err.Error()))
		}
	}
}

func TestParseDNLimits(t *testing.T) {
	if _, err := parseDN(strings.Repeat("CN=a,", maxDNAttributes-1) + "CN=a"); err != nil {
		t.Errorf("%d attributes: %v", maxDNAttributes, err)
	}
	long := "CN=" + strings.Repeat("a", maxDNTextLen-3)
	if _, err := parseDN(long); err != nil {
		t.Errorf("%d bytes: %v", len(long), err)
	}

	var rdns pkix.RDNSequence
	for range maxDNAttributes {
		rdns = append(rdns, dnRDN(dnATV(dnOIDCN, "a")))
	}
	if _, err := dnKeyFromDER(dnMarshal(t, rdns)); err != nil {
		t.Errorf("DER with %d attributes: %v", maxDNAttributes, err)
	}
	rdns = append(rdns, dnRDN(dnATV(dnOIDCN, "a")))
	if _, err := dnKeyFromDER(dnMarshal(t, rdns)); err == nil || !strings.Contains(err.Error(), "too many attributes") {
		t.Errorf("DER with %d attributes: err = %v, want too many attributes", len(rdns), err)
	}
}

func TestDNKeyFromDERErrors(t *testing.T) {
	valid := dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, "a"))))
	tests := []struct {
		name string
		der  []byte
	}{
		{"nil", nil},
		{"truncated", valid[:len(valid)-1]},
		{"trailing data", append(append([]byte{}, valid...), 0)},
		{"not a SEQUENCE", []byte{0x31, 0x00}},
		{"RDN not a SET", []byte{0x30, 0x02, 0x30, 0x00}},
		{"empty RDN", []byte{0x30, 0x02, 0x31, 0x00}},
		{"attribute not a SEQUENCE", []byte{0x30, 0x04, 0x31, 0x02, 0x31, 0x00}},
		{"attribute without value", []byte{0x30, 0x09, 0x31, 0x07, 0x30, 0x05, 0x06, 0x03, 0x55, 0x04, 0x03}},
		{"attribute with extra field", []byte{0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x01, 'a', 0x05, 0x00}},
		{"bad OID", []byte{0x30, 0x09, 0x31, 0x07, 0x30, 0x05, 0x06, 0x00, 0x0c, 0x01, 'a'}},
		{"indefinite length", []byte{0x30, 0x80, 0x00, 0x00}},
	}
	for _, tc := range tests {
		if k, err := dnKeyFromDER(tc.der); err == nil {
			t.Errorf("%s: dnKeyFromDER(%x) = %q, want error", tc.name, tc.der, k)
		}
		if s := formatDN(tc.der); s != "" {
			t.Errorf("%s: formatDN(%x) = %q, want \"\"", tc.name, tc.der, s)
		}
	}

	// An empty Name is legal (certificates with only a SAN); no text form
	// produces its key, so it matches no configured DN.
	k, err := dnKeyFromDER([]byte{0x30, 0x00})
	if err != nil || k == "" {
		t.Errorf("empty Name: key %q, err %v", k, err)
	}
}

func TestFormatDN(t *testing.T) {
	tests := []struct {
		rdns pkix.RDNSequence
		want string
	}{
		{dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "Contoso Weather")), dnRDN(dnATV(dnOIDOU, "Stations")), dnRDN(dnATV(dnOIDCN, "station-042"))),
			`CN=station-042,OU=Stations,O=Contoso Weather,C=US`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, `#1 "q" a+b=c\d<e>;f,g`))), `CN=\#1 \"q\" a\+b=c\\d\<e\>\;f\,g`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, "  a  "))), `CN=\  a \ `},
		{dnSeq(dnRDN(dnATV(dnOIDCN, "nul\x00, nl\n, rlo\u202e, nbsp\u00a0."))), `CN=nul\00\, nl\0A\, rlo\E2\80\AE\, nbsp\C2\A0.`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, "a"), dnATV(dnOIDUID, "b")), dnRDN(dnATV(dnOIDEmail, dnTyped(asn1.TagIA5String, []byte("x@y"))))),
			`emailAddress=x@y,CN=a+UID=b`},
		{dnSeq(dnRDN(dnATV(dnOIDPrivate, "Custom"))), `1.3.6.1.4.1.99999.1=#1306437573746f6d`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, 42))), `CN=#02012a`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, dnTyped(asn1.TagUTF8String, []byte{0xff})))), `CN=#0c01ff`},
		{dnSeq(dnRDN(dnATV(dnOIDCN, dnTyped(asn1.TagBMPString, []byte{0xd8, 0x00})))), `CN=#1e02d800`},
		{dnSeq(dnRDN(dnATV(dnOIDO, dnTyped(asn1.TagT61String, []byte("Caf\xe9"))))), `O=Café`},
		{dnSeq(dnRDN(dnATV(dnOIDSurname, "Lovelace"), dnATV(dnOIDGivenName, "Ada"))), `GN=Ada+SN=Lovelace`}, // asn1.Marshal sorts SET OF,
		{dnSeq(), ``},
	}
	for _, tc := range tests {
		der := dnMarshal(t, tc.rdns)
		got := formatDN(der)
		if got != tc.want {
			t.Errorf("formatDN(%x) = %q, want %q", der, got, tc.want)
		}
		if got == "" {
			continue
		}
		if _, derErr := dnKeyFromDER(der); errors.Is(derErr, errDNControl) {
			// Shown, escaped, but a name with a control character has no
			// key, and no text form names it.
			if _, err := parseDNKeys(got); err == nil {
				t.Errorf("parseDNKeys(formatDN) %q accepted a name with a control character", got)
			}
			continue
		}
		if err := dnDenotes(got, der); err != nil {
			t.Error(err)
		}
	}
}

func TestFoldDNValue(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"   ", ""},
		{"already folded", "already folded"},
		{"  Contoso   Weather  ", "contoso weather"},
		{"a\u00a0\u00a0B", "a\u00a0\u00a0b"}, // no-break spaces are data
		{"\u3000A", "\u3000a"},               // so are ideographic spaces
		{"ÉCOLE Zürich", "école zürich"},
		{"ΣΊΣΥΦΟΣ", "σίσυφοσ"},
		{"\xffA", "\xffa"},
		{"\u0421", "\u0441"}, // Cyrillic stays Cyrillic
		{"\u212A", "\u212A"}, // KELVIN SIGN does not become "k"
		{"\u2126", "\u2126"}, // OHM SIGN does not become "ω"
		{"\u212B", "\u212B"}, // ANGSTROM SIGN does not become "å"
		{"\u0130", "\u0130"}, // "İ" does not become "i"
		{"\u03a9\u00c5", "\u03c9\u00e5"},
		{"\u01c5", "\u01c5"}, // title-case digraph has no case pair
	}
	for _, tc := range tests {
		if got, ok := foldDNValue(tc.in); !ok || got != tc.want {
			t.Errorf("foldDNValue(%q) = %q, %v; want %q, true", tc.in, got, ok, tc.want)
		}
	}
	// Control characters: the value never matches.
	for _, in := range []string{"a\x00b", "station-042\x00", "\tA", "a\nb", "station-042\r\n", "\v\fstation-042", "station-042\u0085", "a\x7fb", "a\u009bb"} {
		if got, ok := foldDNValue(in); ok {
			t.Errorf("foldDNValue(%q) = %q, true; want false (a control character)", in, got)
		}
	}
	if n := testing.AllocsPerRun(100, func() { foldDNValue("station-042.contoso weather") }); n != 0 {
		t.Errorf("foldDNValue of a folded ASCII value allocates %v times", n)
	}
}

// dnFuzzTextSeeds are the text forms used as the FuzzParseDN seed corpus.
func dnFuzzTextSeeds() []string {
	var seeds []string
	for _, tc := range dnMatchCases {
		seeds = append(seeds, tc.forms...)
	}
	return append(seeds,
		`CN=a\,OU=b`, `CN="Weather, Inc", O=X`, `CN=a+UID=b,O=X`, `/C=US/O=X/UID=b+CN=a`,
		`1.3.6.1.4.1.99999.1=#0c06637573746f6d`, `CN=#`, `CN="`, `CN=\`, `=`, `,`, `/`, `+`,
	)
}

func FuzzParseDN(f *testing.F) {
	for _, s := range dnFuzzTextSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := parseDNKeys(s)
		if err != nil {
			if keys != nil {
				t.Fatalf("parseDNKeys(%q) returned keys and error %v", s, err)
			}
			return
		}
		if len(keys) == 0 || len(keys) > maxDNReadings || slices.Contains(keys, "") {
			t.Fatalf("parseDNKeys(%q) = %q", s, keys)
		}
		if again, err := parseDNKeys(s); err != nil || !slices.Equal(again, keys) {
			t.Fatalf("parseDNKeys(%q) is not deterministic", s)
		}
	})
}

// FuzzSlashFormRoundTrip prints a name as OpenSSL's slash form does
// (opensslCompat, a transcription of X509_NAME_oneline) and reads it back:
// the result must denote the name, unless it is refused as the form's
// documented ambiguities (a value that holds "/TYPE=" or "+TYPE=", bytes
// that read as no string without control characters).
func FuzzSlashFormRoundTrip(f *testing.F) {
	for _, tc := range dnMatchCases {
		f.Add(dnMarshal(f, tc.rdns))
	}
	f.Fuzz(func(t *testing.T, der []byte) {
		want, err := dnKeyFromDER(der)
		if err != nil {
			return
		}
		rdns, _ := parseDNDER(der)
		text, ok := opensslCompat(rdns)
		if !ok {
			return
		}
		keys, err := parseDNKeys(text)
		if err != nil {
			if strings.Contains(err.Error(), "ambiguous") || strings.Contains(err.Error(), "read as no string") || strings.Contains(err.Error(), "earlier versions of this plugin") {
				return
			}
			t.Fatalf("parseDNKeys(%q), the slash form of %x: %v", text, der, err)
		}
		if !dnKeysMeet(keys, nameFactsOf(der).keys) || !slices.Contains(nameFactsOf(der).keys, want) {
			t.Fatalf("parseDNKeys(%q), the slash form of %x, does not denote it", text, der)
		}
	})
}

// slashReadsWide reports whether slashReadings reads the contents of a
// BMPString or UniversalString (tag) as such: some byte is escaped, and the
// bytes are not UTF-8 or have a zero high byte in every character.
func slashReadsWide(b []byte, tag int) bool {
	escaped := false
	for _, c := range b {
		escaped = escaped || c < 0x20 || c > 0x7e
	}
	size, n := 2, 1
	if tag == dnTagUniversalString {
		size, n = 4, 3
	}
	return escaped && (!utf8.Valid(b) || zeroEvery(b, size, n))
}

// opensslCompat writes rdns as X509_NAME_oneline does (crypto/x509/x509_obj.c
// in OpenSSL): "/" before each RDN, "+" inside one, TYPE=VALUE with the
// value's raw string bytes, "\/" and "\+" for those bytes and "\xHH" for
// bytes outside 0x20..0x7E. It reports false for what it does not print
// (non-string values, types without a name here).
func opensslCompat(rdns [][]dnAttr) (string, bool) {
	if len(rdns) == 0 {
		return "", false // an empty name prints as nothing, which names nothing
	}
	var b strings.Builder
	for _, rdn := range rdns {
		for i, a := range rdn {
			if !a.isString || len(a.der) == 0 {
				return "", false
			}
			name, ok := dnAttrDisplayNames[a.oid]
			if !ok {
				return "", false
			}
			if i == 0 {
				b.WriteByte('/')
			} else {
				b.WriteByte('+')
			}
			b.WriteString(name)
			b.WriteByte('=')
			input := cryptobyte.String(a.der)
			v, ok := readDERValue(&input)
			if !ok {
				return "", false
			}
			if wide := int(v.tag) == dnTagBMPString || int(v.tag) == dnTagUniversalString; wide && !slashReadsWide(v.contents, int(v.tag)) {
				return "", false // documented: such a value reads as what it looks like
			}
			for _, c := range v.contents {
				switch {
				case c < ' ' || c > '~':
					fmt.Fprintf(&b, "\\x%02X", c)
				case c == '/' || c == '+':
					b.WriteByte('\\')
					b.WriteByte(c)
				default:
					b.WriteByte(c)
				}
			}
		}
	}
	return b.String(), true
}

func FuzzDNKeyFromDER(f *testing.F) {
	for _, tc := range dnMatchCases {
		der := dnMarshal(f, tc.rdns)
		if !tc.noCert {
			cert := dnTestCert(f, &x509.Certificate{RawSubject: der})
			f.Add(cert.RawSubject)
			f.Add(cert.RawIssuer)
		} else {
			f.Add(der)
		}
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, der []byte) {
		k, err := dnKeyFromDER(der)
		s := formatDN(der)
		if errors.Is(err, errDNControl) {
			// It parses, so it is shown, but it has no key.
			if k != "" || s == "" {
				t.Fatalf("dnKeyFromDER(%x) = %q, formatDN %q for a name with a control character", der, k, s)
			}
			if _, err := parseDN(s); err == nil {
				t.Fatalf("parseDN(formatDN(%x)) = parseDN(%q) accepted a name with a control character", der, s)
			}
			return
		}
		if err != nil {
			if k != "" || s != "" {
				t.Fatalf("dnKeyFromDER(%x) returned a key or a string with error %v", der, err)
			}
			return
		}
		if k == "" {
			t.Fatalf("dnKeyFromDER(%x) returned an empty key", der)
		}
		if s == "" || len(s) > maxDNTextLen {
			return
		}
		// formatDN output is a valid text form of the same name.
		if err := dnDenotes(s, der); err != nil {
			t.Fatalf("formatDN(%x): %v", der, err)
		}
	})
}

func BenchmarkParseDN(b *testing.B) {
	for _, bc := range []struct{ name, dn string }{
		{"rfc4514", `CN=station-042,OU=Stations,O=Contoso Weather,C=US`},
		{"dotnet", `CN="Weather, Inc", OU=Stations, O=Contoso Weather, C=US`},
		{"slash", `/C=US/O=Contoso Weather/OU=Stations/CN=station-042+UID=s42`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseDN(bc.dn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDNKeyFromDER is the per-request cost of keying a certificate name.
func BenchmarkDNKeyFromDER(b *testing.B) {
	cert := dnTestCert(b, &x509.Certificate{Subject: pkix.Name{CommonName: "station-042", OrganizationalUnit: []string{"Stations"},
		Organization: []string{"Contoso Weather"}, Country: []string{"US"}}})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dnKeyFromDER(cert.RawSubject); err != nil {
			b.Fatal(err)
		}
	}
}

// Go's pkix.Name.String prints RFC 4514, but not always the certificate's
// name: it puts attributes in its own order and flattens multi-valued
// RDNs. There it names another name, so it denies (README says so).
func TestGoNameStringIsNotAlwaysTheName(t *testing.T) {
	for name, rdns := range map[string]pkix.RDNSequence{
		"order other than Go's": dnSeq(dnRDN(dnATV(dnOIDCN, "station-042")), dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDC, "US"))),
		"multi-valued RDN":      dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "Contoso"), dnATV(dnOIDOU, "Stations"))),
	} {
		cert := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, rdns)})
		goString := cert.Subject.String()
		keys, err := parseDNKeys(goString)
		if err != nil {
			t.Fatalf("%s: parseDNKeys(%q): %v", name, goString, err)
		}
		if slices.Contains(keys, dnMustKey(t, cert.RawSubject)) {
			t.Errorf("%s: Go's %q denotes the certificate's name; README says it does not", name, goString)
		}
		if err := dnDenotes(formatDN(cert.RawSubject), cert.RawSubject); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// .NET prints a backslash as itself. A name with .NET's separators, or of
// one RDN, that does not read as RFC 4514 reads as .NET; one that reads both
// ways, differently, is refused (TestParseDNErrors).
func TestParseDNDotnetBackslash(t *testing.T) {
	cert := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, `CONTOSO\station-042`))))})
	for _, s := range []string{`CN=CONTOSO\station-042, O=Contoso`, `CN="CONTOSO\station-042", O=Contoso`, `CN=CONTOSO\\station-042,O=Contoso`} {
		if err := dnDenotes(s, cert.RawSubject); err != nil {
			t.Error(err)
		}
	}
	one := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, `DOMAIN\user`))))})
	if err := dnDenotes(`CN=DOMAIN\user`, one.RawSubject); err != nil {
		t.Error(err) // not RFC 4514 (\u is no escape): .NET's reading
	}
	hexed := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, "a,b"))))})
	if err := dnDenotes(`CN=a\2Cb`, hexed.RawSubject); err != nil {
		t.Error(err) // one RDN that reads as RFC 4514: RFC 4514's reading
	}
}

// What the bytes of a slash-form value stand for, each in the string
// family it reads as.
func TestSlashReadings(t *testing.T) {
	a := func(v string, family byte) dnAlt { return dnAlt{value: v, family: family} }
	for _, c := range []struct {
		name string
		raw  string
		want []dnAlt
	}{
		{"ASCII, in any type but BMPString and UniversalString", "station-042", []dnAlt{a("station-042", dnKindASCII)}},
		{"UTF-8, or its bytes as a T61String", "Z\xc3\xbcrich", []dnAlt{a("Zürich", dnKindUTF8), a("Z\u00c3\u00bcrich", dnKindT61)}},
		{"Latin-1 T61String (not UTF-8, so also UCS-2)", "Z\xfcrich", []dnAlt{a("Z\u00fcrich", dnKindT61), a("\u5afc\u7269\u6368", dnKindBMP)}},
		{"BMPString of ASCII", "\x00s\x00t", []dnAlt{a("st", dnKindBMP)}},
		{"BMPString of Latin-1", "\x00M\x00\xe9", []dnAlt{a("Mé", dnKindBMP)}},
		{"UniversalString", "\x00\x00\x00a\x00\x00\x00b", []dnAlt{a("ab", dnKindUniversal)}},
		{"a NUL in UTF-8 text: no reading", "nul\x00byte", nil},
		{"CR LF: no reading", "a\r\n", nil},
		{"printable bytes of a BMPString read as ASCII only", "AB", []dnAlt{a("AB", dnKindASCII)}},
		{`"\x41" is not an escape: OpenSSL never escapes a printable byte`, `\x41`, []dnAlt{a(`\x41`, dnKindASCII)}},
	} {
		if got := slashReadings([]byte(c.raw)); !slices.Equal(got, c.want) {
			t.Errorf("%s: slashReadings(%q) = %q, want %q", c.name, c.raw, got, c.want)
		}
	}
}

// A value that stands for several strings (a slash-form value's bytes, a
// name as .NET shows a T61String) stands for them in their own string
// types only: never for an ordinary string holding the same characters,
// which a CA could issue to someone else.
func TestReadingsStayInTheirStringType(t *testing.T) {
	name := func(cn asn1.RawValue) []byte {
		return dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, cn))))
	}
	utf8CN := func(v string) []byte { return name(dnTyped(asn1.TagUTF8String, []byte(v))) }
	t61CN := func(b string) []byte { return name(dnTyped(asn1.TagT61String, []byte(b))) }
	bmpCN := func(v string) []byte { return name(dnTyped(asn1.TagBMPString, dnBMP(v))) }
	for _, c := range []struct {
		policy       string
		matches      map[string][]byte
		doesNotMatch map[string][]byte
	}{
		{`/O=Contoso/CN=Jos\xC3\xA9`, // openssl -nameopt compat of the UTF8String José
			map[string][]byte{"UTF8String José": utf8CN("José"), "JOSÉ, another case": utf8CN("JOSÉ"), "T61String of the same bytes": t61CN("Jos\xc3\xa9")},
			map[string][]byte{"UTF8String JosÃ©": utf8CN("JosÃ©"), "T61String José (Latin-1)": t61CN("Jos\xe9")}},
		{`/O=Contoso/CN=Z\xFCrich`, // compat of the Latin-1 T61String Zürich
			map[string][]byte{"T61String Zürich": t61CN("Z\xfcrich"), "BMPString of the same bytes": bmpCN("\u5afc\u7269\u6368")},
			map[string][]byte{"UTF8String Zürich": utf8CN("Zürich"), "UTF8String of the BMP reading": utf8CN("\u5afc\u7269\u6368")}},
		{`CN=José, O=Contoso`, // .NET
			map[string][]byte{"UTF8String José": utf8CN("José"), "T61String José (Latin-1)": t61CN("Jos\xe9"), "T61String holding UTF-8, as .NET shows it": t61CN("Jos\xc3\xa9")},
			map[string][]byte{"UTF8String JosÃ©": utf8CN("JosÃ©")}},
		{`CN=Jos\C3\A9,O=Contoso`, // openssl -nameopt RFC2253
			map[string][]byte{"UTF8String José": utf8CN("José")},
			map[string][]byte{"UTF8String JosÃ©": utf8CN("JosÃ©")}},
		{`CN=Jos\C3\A9`, // one RDN
			nil,
			map[string][]byte{"UTF8String JosÃ© alone": dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, dnTyped(asn1.TagUTF8String, []byte("JosÃ©"))))))}},
	} {
		for what, der := range c.matches {
			if err := dnDenotes(c.policy, der); err != nil {
				t.Errorf("%s should match the %s: %v", c.policy, what, err)
			}
		}
		for what, der := range c.doesNotMatch {
			if err := dnDenotes(c.policy, der); err == nil {
				t.Errorf("%s matches the %s", c.policy, what)
			}
		}
	}
}

// The slash form's escapes are the three OpenSSL writes: "\x41" is four
// characters, as OpenSSL never escapes a printable byte.
func TestSlashEscapesOnlyWhatOpenSSLEscapes(t *testing.T) {
	literal := dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, `\x41`))))
	escaped := dnMarshal(t, dnSeq(dnRDN(dnATV(dnOIDCN, "A"))))
	if err := dnDenotes(`/CN=\x41`, literal); err != nil {
		t.Error(err)
	}
	if err := dnDenotes(`/CN=\x41`, escaped); err == nil {
		t.Error(`/CN=\x41 denotes the CN "A"`)
	}
}

// dnKeysMeet reports whether a policy's keys and a name's keys (nameFacts)
// have one in common, as containsDN decides.
func dnKeysMeet(policy, name []dnKey) bool {
	if len(name) == 0 {
		return false
	}
	return containsDN(policy, name[0], name[1:])
}

// dnKeyFromDER returns the standard key of a DER-encoded Name (the first of
// nameFactsOf's keys), or errDNControl for a name holding a control
// character.
func dnKeyFromDER(der []byte) (dnKey, error) {
	rdns, err := parseDNDER(der)
	if err != nil {
		return "", err
	}
	key, ok := encodeDNKey(rdns, keyStandard)
	if !ok {
		return "", errDNControl
	}
	return key, nil
}

// formatDN returns formatRDNs of a DER-encoded Name, or "" on error.
func formatDN(der []byte) string {
	rdns, err := parseDNDER(der)
	if err != nil {
		return ""
	}
	return formatRDNs(rdns)
}
