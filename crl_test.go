// crl_test.go: tests of crl.go: CRLs read as DER and PEM, serials looked up
// against crypto/x509's own parse, the scopes and extensions that make a
// CRL unsupported, the errors operators see, signature checks, a fuzz
// target, and the benchmarks of a million-entry CRL.

package clientcertificate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	mathrand "math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// crlTestPKI is the standard test PKI, built once per process.
var crlTestPKI = sync.OnceValues(testpki.Standard)

func crlPKI(t testing.TB) *testpki.Set {
	t.Helper()
	pki, err := crlTestPKI()
	if err != nil {
		t.Fatal(err)
	}
	return pki
}

// crlMake returns a DER CRL signed by the standard Intermediate.
func crlMake(t testing.TB, o testpki.CRLOptions) []byte {
	t.Helper()
	der, err := crlPKI(t).Intermediate.CRL(o)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func crlMustParse(t testing.TB, data []byte) *crlList {
	t.Helper()
	l, err := parseCRL(data)
	if err != nil {
		t.Fatalf("parseCRL: %v", err)
	}
	return l
}

func crlPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: der})
}

func crlInts(values ...int64) []*big.Int {
	out := make([]*big.Int, len(values))
	for i, v := range values {
		out[i] = big.NewInt(v)
	}
	return out
}

// crlBig parses a hex (optionally negative) integer.
func crlBig(t testing.TB, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(s, 0)
	if !ok {
		t.Fatalf("bad integer %q", s)
	}
	return n
}

// crlParts is a CRL taken apart with cryptobyte, independently of the
// parser under test, to be edited and put back together (the signature
// then no longer verifies, which some tests check).
type crlParts struct {
	tbs                  [][]byte // the elements of tbsCertList, tag and length included
	algorithm, signature []byte   // signatureAlgorithm and signatureValue elements
}

func crlSplit(t testing.TB, der []byte) *crlParts {
	t.Helper()
	input := cryptobyte.String(der)
	var list, tbs, tbsContent cryptobyte.String
	var algorithm, signature cryptobyte.String
	if !input.ReadASN1(&list, cbasn1.SEQUENCE) || !list.ReadASN1Element(&tbs, cbasn1.SEQUENCE) ||
		!list.ReadASN1Element(&algorithm, cbasn1.SEQUENCE) || !list.ReadASN1Element(&signature, cbasn1.BIT_STRING) {
		t.Fatal("crlSplit: not a CRL")
	}
	if !tbs.ReadASN1(&tbsContent, cbasn1.SEQUENCE) {
		t.Fatal("crlSplit: bad tbsCertList")
	}
	p := &crlParts{algorithm: algorithm, signature: signature}
	for !tbsContent.Empty() {
		var element cryptobyte.String
		var tag cbasn1.Tag
		if !tbsContent.ReadAnyASN1Element(&element, &tag) {
			t.Fatal("crlSplit: bad element")
		}
		p.tbs = append(p.tbs, element)
	}
	return p
}

func (p *crlParts) der() []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			for _, e := range p.tbs {
				b.AddBytes(e)
			}
		})
		b.AddBytes(p.algorithm)
		b.AddBytes(p.signature)
	})
	return b.BytesOrPanic()
}

// revoked returns the index of revokedCertificates in p.tbs, or -1. The
// testpki CRLs always have version, signature, issuer, thisUpdate and
// nextUpdate, so it is the sixth element when present.
func (p *crlParts) revoked() int {
	if len(p.tbs) > 5 && p.tbs[5][0] == 0x30 {
		return 5
	}
	return -1
}

// crlTestEntry is an entry of a CRL, split into its serial (INTEGER
// content) and the rest (revocationDate and extensions, in DER).
type crlTestEntry struct {
	serial, rest []byte
}

func (e crlTestEntry) der() []byte {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.INTEGER, func(b *cryptobyte.Builder) { b.AddBytes(e.serial) })
		b.AddBytes(e.rest)
	})
	return b.BytesOrPanic()
}

// crlRewriteEntries re-encodes der with each entry replaced by the DER edit
// returns for it.
func crlRewriteEntries(t testing.TB, der []byte, edit func(i int, e crlTestEntry) []byte) []byte {
	t.Helper()
	p := crlSplit(t, der)
	r := p.revoked()
	if r < 0 {
		t.Fatal("crlRewriteEntries: no entries")
	}
	seq := cryptobyte.String(p.tbs[r])
	var entries cryptobyte.String
	seq.ReadASN1(&entries, cbasn1.SEQUENCE)
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for i := 0; !entries.Empty(); i++ {
			var entry, serial cryptobyte.String
			if !entries.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1(&serial, cbasn1.INTEGER) {
				t.Fatal("crlRewriteEntries: bad entry")
			}
			// Copies: edits that append must not write into der.
			b.AddBytes(edit(i, crlTestEntry{serial: bytes.Clone(serial), rest: bytes.Clone(entry)}))
		}
	})
	p.tbs[r] = b.BytesOrPanic()
	return p.der()
}

// crlIDP returns an issuingDistributionPoint extension whose SEQUENCE
// content fields adds.
func crlIDP(critical bool, fields func(b *cryptobyte.Builder)) pkix.Extension {
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.SEQUENCE, fields)
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: critical, Value: b.BytesOrPanic()}
}

// crlIDPPoint adds distributionPoint [0] { fullName [0] { URI } }.
func crlIDPPoint(b *cryptobyte.Builder) {
	b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.Tag(6).ContextSpecific(), func(b *cryptobyte.Builder) {
				b.AddBytes([]byte("http://crl.contoso-weather.example/issuing.crl"))
			})
		})
	})
}

// crlIDPField adds the IMPLICIT field [tag] with content.
func crlIDPField(b *cryptobyte.Builder, tag int, content ...byte) {
	b.AddASN1(cbasn1.Tag(tag).ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(content) })
}

var (
	crlOIDUnknown      = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
	crlOIDUnknownEntry = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 2}
)

func TestParseCRLFormats(t *testing.T) {
	pki := crlPKI(t)
	thisUpdate := time.Now().Add(-2 * time.Hour).Truncate(time.Second)
	nextUpdate := thisUpdate.Add(48 * time.Hour)
	der := crlMake(t, testpki.CRLOptions{
		Number: big.NewInt(42), ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		Revoked: []*big.Int{pki.Good.Cert.SerialNumber, big.NewInt(7)},
	})
	withText := append([]byte("Certificate Revocation List (CRL):\n        Version 2 (0x1)\n"), crlPEM(der)...)
	crlf := bytes.ReplaceAll(crlPEM(der), []byte("\n"), []byte("\r\n"))

	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"DER", der},
		{"PEM", crlPEM(der)},
		{"PEM after openssl -text output", withText},
		{"PEM with CRLF", crlf},
		{"PEM with trailing white space", append(crlPEM(der), "\n\n  \n"...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := crlMustParse(t, tc.data)
			if !l.listed(serialBytes(pki.Good.Cert.SerialNumber)) || !l.listed(serialBytes(big.NewInt(7))) {
				t.Error("a revoked serial is not listed")
			}
			if l.listed(serialBytes(pki.Other.Cert.SerialNumber)) || l.listed(serialBytes(big.NewInt(8))) {
				t.Error("a serial that is not revoked is listed")
			}
			if l.entries != 2 || l.size != len(der) || l.unsupported != "" {
				t.Errorf("entries %d size %d unsupported %q, want 2, %d, \"\"", l.entries, l.size, l.unsupported, len(der))
			}
			if !bytes.Equal(l.issuer, pki.Intermediate.Cert.RawSubject) {
				t.Error("issuer is not the Intermediate's subject")
			}
			if !bytes.Equal(l.authorityKeyID, pki.Intermediate.Cert.SubjectKeyId) {
				t.Errorf("authorityKeyID %x, want %x", l.authorityKeyID, pki.Intermediate.Cert.SubjectKeyId)
			}
			if l.number == nil || l.number.Int64() != 42 {
				t.Errorf("number %v, want 42", l.number)
			}
			if !l.thisUpdate.Equal(thisUpdate) || !l.nextUpdate.Equal(nextUpdate) {
				t.Errorf("thisUpdate %v nextUpdate %v, want %v and %v", l.thisUpdate, l.nextUpdate, thisUpdate, nextUpdate)
			}
			if err := l.verifyIssuer(pki.Intermediate.Cert); err != nil {
				t.Errorf("verifyIssuer: %v", err)
			}
		})
	}
}

func TestParseCRLNoNextUpdateNoNumber(t *testing.T) {
	// crypto/x509 always writes nextUpdate and a number: remove them.
	p := crlSplit(t, crlMake(t, testpki.CRLOptions{}))
	p.tbs = append(p.tbs[:4], p.tbs[5:]...) // nextUpdate
	last := len(p.tbs) - 1
	b := cryptobyte.NewBuilder(nil)
	b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {}) // no extensions at all
	})
	p.tbs[last] = b.BytesOrPanic()
	l := crlMustParse(t, p.der())
	if !l.nextUpdate.IsZero() || l.number != nil || l.authorityKeyID != nil {
		t.Errorf("nextUpdate %v number %v authorityKeyID %x, want zero, nil, nil", l.nextUpdate, l.number, l.authorityKeyID)
	}
}

func TestCRLListedSerials(t *testing.T) {
	twenty := crlBig(t, "0x7fffffffffffffffffffffffffffffffffffffff")     // 20 bytes, high bit clear
	twentyHigh := crlBig(t, "0xffffffffffffffffffffffffffffffffffffffff") // 20 bytes, high bit set: 21-byte content
	negative20 := crlBig(t, "-0x8000000000000000000000000000000000000000")
	revoked := []*big.Int{
		big.NewInt(0), big.NewInt(1), big.NewInt(0x7f), big.NewInt(0x80), big.NewInt(0xff), big.NewInt(0x100),
		big.NewInt(-1), big.NewInt(-129), twenty, twentyHigh, negative20,
	}
	l := crlMustParse(t, crlMake(t, testpki.CRLOptions{Revoked: revoked}))
	for _, tc := range []struct {
		serial *big.Int
		listed bool
	}{
		{big.NewInt(0), true},
		{big.NewInt(1), true},
		{big.NewInt(0x7f), true},
		{big.NewInt(0x80), true}, // content 00 80
		{big.NewInt(0xff), true}, // content 00 ff
		{big.NewInt(0x100), true},
		{big.NewInt(-1), true},   // content ff
		{big.NewInt(-129), true}, // content ff 7f
		{twenty, true},
		{twentyHigh, true},
		{negative20, true},
		// Neighbours, and the same bytes with the other sign.
		{big.NewInt(2), false},
		{big.NewInt(0x7e), false},
		{big.NewInt(-128), false}, // content 80: 0x80 without its 00
		{big.NewInt(-2), false},
		{big.NewInt(0x101), false},
		{new(big.Int).Add(twenty, big.NewInt(1)), false},
		{new(big.Int).Sub(twentyHigh, big.NewInt(1)), false},
		{new(big.Int).Neg(twentyHigh), false},
	} {
		if got := l.listed(serialBytes(tc.serial)); got != tc.listed {
			t.Errorf("listed(%x = %v) = %v, want %v", serialBytes(tc.serial), tc.serial, got, tc.listed)
		}
	}
	// Lookups of a non-minimal encoding find the serial all the same.
	for _, content := range [][]byte{{0x00, 0x01}, {0x00, 0x00, 0x00, 0x80}, {0xff, 0xff}, {0xff, 0xff, 0x7f}} {
		if !l.listed(content) {
			t.Errorf("listed(%x) = false, want true", content)
		}
	}
	if l.listed(nil) {
		t.Error("listed(nil) = true")
	}
}

func TestCanonicalSerial(t *testing.T) {
	for _, tc := range []struct{ in, want []byte }{
		{[]byte{}, []byte{}},
		{[]byte{0x00}, []byte{0x00}},
		{[]byte{0xff}, []byte{0xff}},
		{[]byte{0x01}, []byte{0x01}},
		{[]byte{0x80}, []byte{0x80}},
		{[]byte{0x00, 0x00}, []byte{0x00}},
		{[]byte{0x00, 0x01}, []byte{0x01}},
		{[]byte{0x00, 0x00, 0x00, 0x7f}, []byte{0x7f}},
		{[]byte{0x00, 0x80}, []byte{0x00, 0x80}},
		{[]byte{0x00, 0x00, 0x80}, []byte{0x00, 0x80}},
		{[]byte{0xff, 0xff}, []byte{0xff}},
		{[]byte{0xff, 0x80}, []byte{0x80}},
		{[]byte{0xff, 0xff, 0xff, 0x80, 0x00}, []byte{0x80, 0x00}},
		{[]byte{0xff, 0x7f}, []byte{0xff, 0x7f}},
		{[]byte{0xff, 0xff, 0x7f}, []byte{0xff, 0x7f}},
		{[]byte{0x00, 0xff}, []byte{0x00, 0xff}},
		{[]byte{0x01, 0x00}, []byte{0x01, 0x00}},
		{[]byte{0xfe, 0xff}, []byte{0xfe, 0xff}},
	} {
		in := bytes.Clone(tc.in)
		got := canonicalSerial(in)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("canonicalSerial(%x) = %x, want %x", tc.in, got, tc.want)
		}
		if len(got) > 0 && &got[len(got)-1] != &in[len(in)-1] {
			t.Errorf("canonicalSerial(%x) is not a sub-slice of its input", tc.in)
		}
	}
	in := []byte{0x00, 0x00, 0x00, 0x42}
	if n := testing.AllocsPerRun(100, func() { canonicalSerial(in) }); n != 0 {
		t.Errorf("canonicalSerial allocates %v times", n)
	}
}

func TestSerialBytes(t *testing.T) {
	for _, tc := range []struct {
		n    string
		want []byte
	}{
		{"0", []byte{0x00}},
		{"1", []byte{0x01}},
		{"127", []byte{0x7f}},
		{"128", []byte{0x00, 0x80}},
		{"255", []byte{0x00, 0xff}},
		{"256", []byte{0x01, 0x00}},
		{"-1", []byte{0xff}},
		{"-128", []byte{0x80}},
		{"-129", []byte{0xff, 0x7f}},
		{"-256", []byte{0xff, 0x00}},
		{"-257", []byte{0xfe, 0xff}},
		{"-32768", []byte{0x80, 0x00}},
		{"-32769", []byte{0xff, 0x7f, 0xff}},
	} {
		n, _ := new(big.Int).SetString(tc.n, 10)
		if got := serialBytes(n); !bytes.Equal(got, tc.want) {
			t.Errorf("serialBytes(%s) = %x, want %x", tc.n, got, tc.want)
		}
	}
	// Against encoding/asn1 on random values of every length up to 40
	// bytes, both signs.
	rng := mathrand.New(mathrand.NewPCG(1, 2))
	for i := range 2000 {
		raw := make([]byte, 1+i%40)
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		n := new(big.Int).SetBytes(raw)
		if i%2 == 1 {
			n.Neg(n)
		}
		der, err := asn1.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		s := cryptobyte.String(der)
		var content cryptobyte.String
		s.ReadASN1(&content, cbasn1.INTEGER)
		if got := serialBytes(n); !bytes.Equal(got, content) {
			t.Fatalf("serialBytes(%v) = %x, encoding/asn1 says %x", n, got, []byte(content))
		}
		if got := canonicalSerial(content); !bytes.Equal(got, content) {
			t.Fatalf("canonicalSerial changed the minimal %x to %x", []byte(content), got)
		}
	}
}

func TestParseCRLNonMinimalSerials(t *testing.T) {
	pki := crlPKI(t)
	serials := []*big.Int{big.NewInt(1), big.NewInt(0x80), big.NewInt(-1), big.NewInt(-129), crlBig(t, "0x1234567890abcdef1234567890abcdef")}
	der := crlMake(t, testpki.CRLOptions{Revoked: serials})
	// Pad every serial with redundant sign bytes, as some CAs have.
	padded := crlRewriteEntries(t, der, func(i int, e crlTestEntry) []byte {
		pad := byte(0x00)
		if e.serial[0] >= 0x80 {
			pad = 0xff
		}
		e.serial = append(bytes.Repeat([]byte{pad}, 1+i%3), e.serial...)
		return e.der()
	})
	if _, err := x509.ParseRevocationList(padded); err == nil {
		t.Log("crypto/x509 now accepts non-minimal serials")
	}
	l := crlMustParse(t, padded)
	for _, n := range serials {
		if !l.listed(serialBytes(n)) {
			t.Errorf("serial %v is not listed", n)
		}
	}
	if l.listed(serialBytes(big.NewInt(0))) || l.listed(serialBytes(big.NewInt(-128))) {
		t.Error("a serial that is not revoked is listed")
	}
	// The signature covers the original bytes, so the padded copy fails.
	err := l.verifyIssuer(pki.Intermediate.Cert)
	if err == nil || !strings.Contains(err.Error(), "signature does not verify") {
		t.Errorf("verifyIssuer on a re-encoded CRL: %v, want a signature failure", err)
	}
}

func TestParseCRLNoEntries(t *testing.T) {
	pki := crlPKI(t)
	der := crlMake(t, testpki.CRLOptions{})
	// An empty revokedCertificates, which RFC 5280 says to leave out but
	// which some CAs write.
	p := crlSplit(t, der)
	if p.revoked() >= 0 {
		t.Fatal("the CRL has entries")
	}
	p.tbs = append(p.tbs[:5], append([][]byte{{0x30, 0x00}}, p.tbs[5:]...)...)
	for name, data := range map[string][]byte{"absent": der, "empty SEQUENCE": p.der()} {
		t.Run(name, func(t *testing.T) {
			l := crlMustParse(t, data)
			if l.entries != 0 || l.unsupported != "" {
				t.Errorf("entries %d unsupported %q, want 0, \"\"", l.entries, l.unsupported)
			}
			for _, serial := range [][]byte{{0x00}, {0x01}, serialBytes(pki.Good.Cert.SerialNumber), nil} {
				if l.listed(serial) {
					t.Errorf("listed(%x) on an empty CRL", serial)
				}
			}
		})
	}
	if err := crlMustParse(t, der).verifyIssuer(pki.Intermediate.Cert); err != nil {
		t.Errorf("verifyIssuer: %v", err)
	}
}

func TestParseCRLAgreesWithX509(t *testing.T) {
	rng := mathrand.New(mathrand.NewPCG(3, 4))
	var revoked []*big.Int
	for i := range 3000 {
		raw := make([]byte, 1+rng.IntN(20))
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		n := new(big.Int).SetBytes(raw)
		if i%7 == 0 {
			n.Neg(n)
		}
		revoked = append(revoked, n)
	}
	revoked = append(revoked, revoked[10], revoked[20], big.NewInt(0)) // repeats
	der := crlMake(t, testpki.CRLOptions{
		Revoked: revoked,
		Entries: []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(1234567), RevocationTime: time.Now().Add(-time.Minute), ReasonCode: 1},
			{SerialNumber: big.NewInt(7654321), RevocationTime: time.Now().Add(-time.Minute), ReasonCode: 6}, // certificateHold
		},
	})
	rl, err := x509.ParseRevocationList(der)
	if err != nil {
		t.Fatal(err)
	}
	l := crlMustParse(t, der)
	if l.entries != len(rl.RevokedCertificateEntries) {
		t.Errorf("entries %d, crypto/x509 has %d", l.entries, len(rl.RevokedCertificateEntries))
	}
	want := make(map[string]bool)
	for _, e := range rl.RevokedCertificateEntries {
		s := serialBytes(e.SerialNumber)
		want[string(s)] = true
		if !l.listed(s) {
			t.Fatalf("serial %v is in crypto/x509's parse, not listed", e.SerialNumber)
		}
	}
	for range 3000 {
		raw := make([]byte, 1+rng.IntN(20))
		for j := range raw {
			raw[j] = byte(rng.Uint32())
		}
		s := serialBytes(new(big.Int).SetBytes(raw))
		if l.listed(s) != want[string(s)] {
			t.Fatalf("listed(%x) = %v, want %v", s, !want[string(s)], want[string(s)])
		}
	}
	if !bytes.Equal(l.issuer, rl.RawIssuer) || !bytes.Equal(l.authorityKeyID, rl.AuthorityKeyId) ||
		l.number.Cmp(rl.Number) != 0 || !l.thisUpdate.Equal(rl.ThisUpdate) || !l.nextUpdate.Equal(rl.NextUpdate) {
		t.Error("the header differs from crypto/x509's")
	}
}

func TestParseCRLUnsupported(t *testing.T) {
	revokedSerial := big.NewInt(4242)
	now := time.Now().Add(-time.Minute)
	entry := func(extensions ...pkix.Extension) func(*testpki.CRLOptions) {
		return func(o *testpki.CRLOptions) {
			o.Entries = append(o.Entries, x509.RevocationListEntry{SerialNumber: big.NewInt(99), RevocationTime: now, ExtraExtensions: extensions})
		}
	}
	extension := func(extensions ...pkix.Extension) func(*testpki.CRLOptions) {
		return func(o *testpki.CRLOptions) { o.ExtraExtensions = extensions }
	}
	idp := func(fields func(b *cryptobyte.Builder)) func(*testpki.CRLOptions) {
		return extension(crlIDP(true, fields))
	}
	deltaIndicator, _ := asn1.Marshal(big.NewInt(41))
	for _, tc := range []struct {
		name string
		edit func(*testpki.CRLOptions)
		want string // "" for supported
	}{
		{"plain (number and authority key identifier)", func(*testpki.CRLOptions) {}, ""},
		{"non-critical unknown extension", extension(pkix.Extension{Id: crlOIDUnknown, Value: []byte{0x05, 0x00}}), ""},
		{"critical unknown extension", extension(pkix.Extension{Id: crlOIDUnknown, Critical: true, Value: []byte{0x05, 0x00}}),
			"unknown critical extension 1.3.6.1.4.1.99999.1"},
		{"delta CRL", extension(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: deltaIndicator}), "delta CRL"},
		{"freshestCRL", extension(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 46}, Value: []byte{0x30, 0x00}}), ""},
		{"IDP distributionPoint", idp(crlIDPPoint), ""},
		{"IDP onlyContainsUserCerts", idp(func(b *cryptobyte.Builder) { crlIDPField(b, 1, 0xff) }), ""},
		{"IDP distributionPoint and onlyContainsUserCerts", idp(func(b *cryptobyte.Builder) { crlIDPPoint(b); crlIDPField(b, 1, 0xff) }), ""},
		{"IDP empty", idp(func(b *cryptobyte.Builder) {}), ""},
		{"IDP non-critical", extension(crlIDP(false, crlIDPPoint)), ""},
		{"IDP onlyContainsCACerts FALSE spelt out", idp(func(b *cryptobyte.Builder) { crlIDPField(b, 2, 0x00) }), ""},
		{"IDP onlyContainsCACerts", idp(func(b *cryptobyte.Builder) { crlIDPPoint(b); crlIDPField(b, 2, 0xff) }), "onlyContainsCACerts"},
		{"IDP onlySomeReasons", idp(func(b *cryptobyte.Builder) { crlIDPField(b, 3, 0x07, 0x80) }), "onlySomeReasons"},
		{"IDP indirectCRL", idp(func(b *cryptobyte.Builder) { crlIDPField(b, 4, 0xff) }), "indirectCRL"},
		{"IDP onlyContainsAttributeCerts", idp(func(b *cryptobyte.Builder) { crlIDPField(b, 5, 0xff) }), "onlyContainsAttributeCerts"},
		{"entry certificateIssuer, critical", entry(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 29}, Critical: true, Value: []byte{0x30, 0x00}}),
			"indirect CRL: an entry has a certificateIssuer extension"},
		{"entry certificateIssuer, not critical", entry(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 29}, Value: []byte{0x30, 0x00}}),
			"certificateIssuer"},
		{"entry unknown critical extension", entry(pkix.Extension{Id: crlOIDUnknownEntry, Critical: true, Value: []byte{0x05, 0x00}}),
			"unknown critical entry extension 1.3.6.1.4.1.99999.2"},
		{"entry known critical extension", entry(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 24}, Critical: true, Value: []byte{0x18, 0x00}}),
			"critical entry extension invalidityDate"},
		{"entry unknown non-critical extension", entry(pkix.Extension{Id: crlOIDUnknownEntry, Value: []byte{0x05, 0x00}}), ""},
		{"entry reason codes", func(o *testpki.CRLOptions) {
			for reason := range 11 {
				if reason != 7 { // unused
					o.Entries = append(o.Entries, x509.RevocationListEntry{SerialNumber: big.NewInt(int64(1000 + reason)), RevocationTime: now, ReasonCode: reason})
				}
			}
		}, ""},
		{"two reasons: the first is kept", func(o *testpki.CRLOptions) {
			extension(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 27}, Critical: true, Value: deltaIndicator})(o)
			entry(pkix.Extension{Id: crlOIDUnknownEntry, Critical: true, Value: []byte{0x05, 0x00}})(o)
		}, "delta CRL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testpki.CRLOptions{Revoked: []*big.Int{revokedSerial}}
			tc.edit(&o)
			l := crlMustParse(t, crlMake(t, o))
			if tc.want == "" && l.unsupported != "" {
				t.Errorf("unsupported %q, want supported", l.unsupported)
			}
			if tc.want != "" && !strings.Contains(l.unsupported, tc.want) {
				t.Errorf("unsupported %q, want it to say %q", l.unsupported, tc.want)
			}
			// Unsupported or not, a listed serial is revoked.
			if !l.listed(serialBytes(revokedSerial)) {
				t.Error("the revoked serial is not listed")
			}
			if l.listed(serialBytes(big.NewInt(4243))) {
				t.Error("a serial that is not revoked is listed")
			}
			if err := l.verifyIssuer(crlPKI(t).Intermediate.Cert); err != nil {
				t.Errorf("verifyIssuer: %v", err)
			}
		})
	}
}

func TestParseCRLErrors(t *testing.T) {
	pki := crlPKI(t)
	der := crlMake(t, testpki.CRLOptions{Revoked: crlInts(1, 2, 3)})
	// withTBS re-encodes der after edit changes its tbsCertList elements.
	withTBS := func(edit func(p *crlParts)) []byte {
		p := crlSplit(t, der)
		edit(p)
		return p.der()
	}
	withEntry := func(edit func(e crlTestEntry) []byte) []byte {
		return crlRewriteEntries(t, der, func(i int, e crlTestEntry) []byte {
			if i == 1 {
				return edit(e)
			}
			return e.der()
		})
	}
	element := func(tag cbasn1.Tag, content ...byte) []byte {
		b := cryptobyte.NewBuilder(nil)
		b.AddASN1(tag, func(b *cryptobyte.Builder) { b.AddBytes(content) })
		return b.BytesOrPanic()
	}
	withExtension := func(e pkix.Extension) []byte {
		return crlMake(t, testpki.CRLOptions{ExtraExtensions: []pkix.Extension{e}})
	}
	twoBlocks := append(crlPEM(der), crlPEM(der)...)
	badBase64 := []byte("-----BEGIN X509 CRL-----\n!!!!\n-----END X509 CRL-----\n")
	garbage := make([]byte, 64)
	for i := range garbage {
		garbage[i] = byte(0x9a + i*37)
	}

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a CRL: empty"},
		{"white space", []byte(" \r\n\t"), "only white space"},
		{"binary garbage", garbage, "not a CRL"},
		{"HTML page", []byte("<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>"), "not a CRL: HTML page"},
		{"HTML page after a BOM", []byte("\xef\xbb\xbf\n<html><body>Login</body></html>"), "HTML page"},
		{"XML", []byte(`<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>`), "XML document"},
		{"text", []byte("crl goes here\n"), "not a CRL: text"},
		{"text that starts with 0", []byte("0A:1B:2C\n"), "not a CRL: text"},
		{"truncated", der[:len(der)/2], "truncated"},
		{"truncated to two bytes", der[:2], "truncated"},
		{"truncated to one byte", der[:1], "truncated"},
		{"trailing data", append(bytes.Clone(der), 0x00, 0x00), "trailing data: 2 bytes"},
		{"PEM certificate", pki.Good.CertPEM(), "PEM block is CERTIFICATE, want X509 CRL"},
		{"PEM private key", pki.Good.KeyPEM(), "PEM block is PRIVATE KEY, want X509 CRL"},
		{"PEM, two blocks", twoBlocks, "more than one PEM block"},
		{"PEM, bad base64", badBase64, "malformed PEM"},
		{"PEM, truncated DER", crlPEM(der[:len(der)-10]), "truncated"},
		{"DER certificate", pki.Good.Cert.Raw, "not a CRL: this is a certificate"},
		{"SEQUENCE of nothing", []byte{0x30, 0x00}, "not a CRL: want a SEQUENCE of tbsCertList"},
		{"version 1 (absent)", withTBS(func(p *crlParts) { p.tbs = p.tbs[1:] }), "version 1"},
		{"version 3", withTBS(func(p *crlParts) { p.tbs[0] = []byte{0x02, 0x01, 0x02} }), "unsupported CRL version"},
		{"no issuer", withTBS(func(p *crlParts) { p.tbs = append(p.tbs[:2], p.tbs[3:]...) }), "malformed CRL"},
		{"thisUpdate not a time", withTBS(func(p *crlParts) { p.tbs[3] = []byte{0x05, 0x00} }), "thisUpdate is not a time"},
		{"data after the extensions", withTBS(func(p *crlParts) { p.tbs = append(p.tbs, []byte{0x05, 0x00}) }), "unexpected data"},
		{"signature algorithms differ", withTBS(func(p *crlParts) {
			p.algorithm = element(cbasn1.SEQUENCE, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03) // ecdsa-with-SHA384
		}), "malformed CRL header"},
		{"entry without a date", withEntry(func(e crlTestEntry) []byte {
			e.rest = nil
			return e.der()
		}), "revoked certificate 2 is not SEQUENCE"},
		{"entry with a bad date", withEntry(func(e crlTestEntry) []byte {
			e.rest = append(element(cbasn1.UTCTime, []byte("not a date!!!")...), e.rest[15:]...)
			return e.der()
		}), "revoked certificate 2 has a malformed revocation date"},
		{"entry with an empty serial", withEntry(func(e crlTestEntry) []byte {
			e.serial = nil
			return e.der()
		}), "revoked certificate 2 has an empty serial number"},
		{"entry not a SEQUENCE", withEntry(func(e crlTestEntry) []byte { return []byte{0x05, 0x00} }), "revoked certificate 2"},
		{"entry with data after its extensions", withEntry(func(e crlTestEntry) []byte {
			e.rest = append(e.rest, 0x30, 0x00, 0x05, 0x00)
			return e.der()
		}), "revoked certificate 2 is not SEQUENCE"},
		{"entry with a malformed extension", withEntry(func(e crlTestEntry) []byte {
			e.rest = append(e.rest, element(cbasn1.SEQUENCE, element(cbasn1.SEQUENCE, 0x06, 0x03, 0x55, 0x1d, 0x15)...)...)
			return e.der()
		}), "revoked certificate 2: malformed extension"},
		{"entry with a malformed OID", withEntry(func(e crlTestEntry) []byte {
			ext := append([]byte{0x06, 0x01, 0x80}, 0x04, 0x00)
			e.rest = append(e.rest, element(cbasn1.SEQUENCE, element(cbasn1.SEQUENCE, ext...)...)...)
			return e.der()
		}), "malformed extension identifier"},
		{"revokedCertificates not a SEQUENCE OF", withTBS(func(p *crlParts) { p.tbs[5] = []byte{0x30, 0x02, 0x05, 0x00} }), "revoked certificate 1"},
		{"issuingDistributionPoint not a SEQUENCE", withExtension(pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 28}, Critical: true, Value: []byte{0x05, 0x00}}),
			"bad issuingDistributionPoint"},
		{"issuingDistributionPoint with a bad boolean", withExtension(crlIDP(true, func(b *cryptobyte.Builder) { crlIDPField(b, 2, 0x01) })),
			"bad issuingDistributionPoint"},
		{"issuingDistributionPoint with an unknown field", withExtension(crlIDP(true, func(b *cryptobyte.Builder) { crlIDPField(b, 6, 0xff) })),
			"bad issuingDistributionPoint"},
		{"issuingDistributionPoint fields out of order", withExtension(crlIDP(true, func(b *cryptobyte.Builder) {
			crlIDPField(b, 2, 0xff)
			crlIDPField(b, 1, 0xff)
		})), "bad issuingDistributionPoint"},
		{"extension twice", crlMake(t, testpki.CRLOptions{ExtraExtensions: []pkix.Extension{
			{Id: crlOIDUnknown, Value: []byte{0x05, 0x00}}, {Id: crlOIDUnknown, Value: []byte{0x05, 0x00}},
		}}), "extension 1.3.6.1.4.1.99999.1 appears twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := parseCRL(tc.data)
			if err == nil {
				t.Fatalf("parseCRL accepted it (%d entries)", l.entries)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// crlTwin returns a certificate for the Intermediate's name and key, signed
// by Root, with edit applied to its template: the same CA, re-certified
// with other properties.
func crlTwin(t testing.TB, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	return crlTwinWithKey(t, crlPKI(t).Intermediate.Key.Public(), edit)
}

// crlImpostor has the Intermediate's name and subject key identifier, and
// another key: only the signature (or, once it is gone, the key) tells it
// apart.
func crlImpostor(t testing.TB) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return crlTwinWithKey(t, key.Public(), func(*x509.Certificate) {})
}

// crlTwinWithKey is crlTwin with another public key.
func crlTwinWithKey(t testing.TB, public crypto.PublicKey, edit func(*x509.Certificate)) *x509.Certificate {
	t.Helper()
	pki := crlPKI(t)
	inter := pki.Intermediate.Cert
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		RawSubject:            inter.RawSubject,
		NotBefore:             inter.NotBefore,
		NotAfter:              inter.NotAfter,
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SubjectKeyId:          inter.SubjectKeyId,
	}
	edit(tmpl)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, pki.Root.Cert, public, pki.Root.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// crlIssuers are the certificates verifyIssuer is tried with, and what it
// must say of each. want "" means it succeeds.
func crlIssuers(t testing.TB) []struct {
	name   string
	issuer *x509.Certificate
	want   string
} {
	pki := crlPKI(t)
	return []struct {
		name   string
		issuer *x509.Certificate
		want   string
	}{
		{"right issuer", pki.Intermediate.Cert, ""},
		{"the same CA re-certified", crlTwin(t, func(*x509.Certificate) {}), ""},
		{"nil", nil, "no issuer certificate"},
		{"other root (other name)", pki.OtherRoot.Cert, `the CRL is issued by "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US", not by "CN=Fabrikam Root CA`},
		{"the issuer's issuer", pki.Root.Cert, "not by"},
		{"a leaf", pki.Good.Cert, "not by"},
		{"without cRLSign", crlTwin(t, func(c *x509.Certificate) { c.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature }),
			"its key usage does not include cRLSign"},
		{"not a CA", crlTwin(t, func(c *x509.Certificate) { c.IsCA = false; c.KeyUsage = x509.KeyUsageDigitalSignature }),
			"not a CA certificate"},
		{"other subject key identifier", crlTwin(t, func(c *x509.Certificate) { c.SubjectKeyId = []byte{1, 2, 3, 4} }),
			"authority key identifier"},
		{"rogue root (same name, other key and key identifier)", pki.RogueRoot.Cert, "authority key identifier"},
	}
}

func TestCRLVerifyIssuer(t *testing.T) {
	der := crlMake(t, testpki.CRLOptions{Revoked: crlInts(5)})
	cases := append(crlIssuers(t), struct {
		name   string
		issuer *x509.Certificate
		want   string
	}{"impostor (same name and key identifier, other key)", crlImpostor(t), "signature does not verify with the key of"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := crlMustParse(t, der)
			err := l.verifyIssuer(tc.issuer)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("verifyIssuer: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("verifyIssuer succeeded")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
			if verified := l.unverified == nil; verified != (err == nil) {
				t.Errorf("signature material dropped: %v, after error %v", verified, err)
			}
		})
	}
}

func TestCRLVerifyIssuerAfterSuccess(t *testing.T) {
	pki := crlPKI(t)
	l := crlMustParse(t, crlMake(t, testpki.CRLOptions{Revoked: crlInts(5)}))
	if err := l.verifyIssuer(pki.Intermediate.Cert); err != nil {
		t.Fatal(err)
	}
	if l.unverified != nil {
		t.Fatal("the signature material is kept after a successful verification")
	}
	// Without a signature to check, the key decides, and the issuer's own
	// checks are made as before.
	cases := append(crlIssuers(t), struct {
		name   string
		issuer *x509.Certificate
		want   string
	}{"impostor (same name and key identifier, other key)", crlImpostor(t), "signed by another key"})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := l.verifyIssuer(tc.issuer)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("verifyIssuer: %v", err)
			case tc.want != "" && err == nil:
				t.Fatal("verifyIssuer succeeded")
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
	if !l.listed([]byte{5}) {
		t.Error("serial 5 is not listed")
	}
	// Callers check the issuer before each lookup.
	if n := testing.AllocsPerRun(100, func() {
		if l.verifyIssuer(pki.Intermediate.Cert) != nil {
			panic("verifyIssuer failed")
		}
	}); n != 0 {
		t.Errorf("verifyIssuer allocates %v times once verified", n)
	}
}

func TestCRLConcurrentVerifyAndLookup(t *testing.T) {
	pki := crlPKI(t)
	l := crlMustParse(t, crlMake(t, testpki.CRLOptions{Revoked: crlInts(5, 6, 7)}))
	impostor := crlImpostor(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for range 20 {
				if err := l.verifyIssuer(pki.Intermediate.Cert); err != nil {
					t.Errorf("goroutine %d: verifyIssuer: %v", g, err)
					return
				}
				if err := l.verifyIssuer(impostor); err == nil {
					t.Errorf("goroutine %d: verifyIssuer accepted the impostor", g)
					return
				}
				if !l.listed([]byte{6}) || l.listed([]byte{8}) {
					t.Errorf("goroutine %d: wrong lookup", g)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCRLListedDoesNotAllocate(t *testing.T) {
	l := crlMustParse(t, crlMake(t, testpki.CRLOptions{Revoked: crlInts(5, 6, 7, 0x1234, -99)}))
	hit, miss, padded := serialBytes(big.NewInt(0x1234)), serialBytes(big.NewInt(0x1235)), []byte{0x00, 0x00, 0x06}
	if n := testing.AllocsPerRun(100, func() {
		if !l.listed(hit) || l.listed(miss) || !l.listed(padded) {
			panic("wrong lookup")
		}
	}); n != 0 {
		t.Errorf("listed allocates %v times", n)
	}
}

func TestCRLSerialSetRepeats(t *testing.T) {
	// One serial a thousand times: stored once, so adding stays linear.
	serials := make([]*big.Int, 1000)
	for i := range serials {
		serials[i] = big.NewInt(77)
	}
	l := crlMustParse(t, crlMake(t, testpki.CRLOptions{Revoked: append(serials, big.NewInt(78))}))
	if l.entries != 1001 || !l.listed([]byte{77}) || !l.listed([]byte{78}) || l.listed([]byte{79}) {
		t.Errorf("entries %d, 77 listed %v, 78 listed %v, 79 listed %v", l.entries, l.listed([]byte{77}), l.listed([]byte{78}), l.listed([]byte{79}))
	}
	if want := 2 * 2; len(l.revoked.serials) != want { // uvarint length + 1 byte, twice
		t.Errorf("%d bytes of serials stored, want %d", len(l.revoked.serials), want)
	}
}

func FuzzParseCRL(f *testing.F) {
	pki := crlPKI(f)
	now := time.Now().Add(-time.Minute)
	seeds := []testpki.CRLOptions{
		{},
		{Revoked: crlInts(0, 1, 127, 128, 255, 256, -1, -128, -129)},
		{Revoked: []*big.Int{pki.Good.Cert.SerialNumber}, Entries: []x509.RevocationListEntry{
			{SerialNumber: big.NewInt(9), RevocationTime: now, ReasonCode: 6},
			{SerialNumber: big.NewInt(10), RevocationTime: now, ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 29}, Critical: true, Value: []byte{0x30, 0x00}}}},
		}},
		{Revoked: crlInts(3), ExtraExtensions: []pkix.Extension{crlIDP(true, func(b *cryptobyte.Builder) { crlIDPPoint(b); crlIDPField(b, 1, 0xff) })}},
		{ExtraExtensions: []pkix.Extension{{Id: crlOIDUnknown, Critical: true, Value: []byte{0x05, 0x00}}}},
	}
	for _, o := range seeds {
		der := crlMake(f, o)
		f.Add(der)
		f.Add(crlPEM(der))
	}
	f.Add([]byte("<html></html>"))

	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseCRL(data)
		if err != nil {
			if l != nil {
				t.Fatal("parseCRL returned a list and an error")
			}
			return
		}
		l.listed(data[:min(len(data), 20)])
		if l.verifyIssuer(nil) == nil {
			t.Fatal("verifyIssuer(nil) succeeded")
		}
		_ = l.verifyIssuer(pki.Intermediate.Cert) // must not panic, whatever the header holds

		rl, err := x509.ParseRevocationList(data)
		if err != nil {
			return
		}
		if l.entries != len(rl.RevokedCertificateEntries) {
			t.Fatalf("entries %d, crypto/x509 has %d", l.entries, len(rl.RevokedCertificateEntries))
		}
		for _, e := range rl.RevokedCertificateEntries {
			if !l.listed(serialBytes(e.SerialNumber)) {
				t.Fatalf("serial %v is in crypto/x509's parse, not listed", e.SerialNumber)
			}
		}
		if !bytes.Equal(l.issuer, rl.RawIssuer) || !l.thisUpdate.Equal(rl.ThisUpdate) || !l.nextUpdate.Equal(rl.NextUpdate) ||
			(l.number == nil) != (rl.Number == nil) || l.number != nil && l.number.Cmp(rl.Number) != 0 {
			t.Fatal("the header differs from crypto/x509's")
		}
	})
}

// crlMillion is a CRL of a million random 16-byte positive serials, each
// with a reason code (about 49 MB, as a large CA's), with the serials
// revoked and as many that are not.
type crlMillion struct {
	der              []byte
	issuer           *x509.Certificate
	revoked, absents [][]byte
}

var crlBenchMillion = sync.OnceValues(func() (*crlMillion, error) {
	pki, err := crlTestPKI()
	if err != nil {
		return nil, err
	}
	const n = 1_000_000
	m := &crlMillion{issuer: pki.Intermediate.Cert}
	entries := make([]x509.RevocationListEntry, n)
	when := time.Now().Add(-time.Hour)
	random16 := func() *big.Int {
		var b [16]byte
		rand.Read(b[:])
		b[0] |= 1 // exactly 16 bytes
		return new(big.Int).SetBytes(b[:])
	}
	for i := range entries {
		entries[i] = x509.RevocationListEntry{SerialNumber: random16(), RevocationTime: when, ReasonCode: 1}
		m.revoked = append(m.revoked, serialBytes(entries[i].SerialNumber))
		m.absents = append(m.absents, serialBytes(random16()))
	}
	m.der, err = pki.Intermediate.CRL(testpki.CRLOptions{Entries: entries})
	return m, err
})

func crlBenchData(b *testing.B) *crlMillion {
	b.Helper()
	m, err := crlBenchMillion()
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkCRLLookup looks serials up in a million-entry CRL, half of them
// listed, in random order. "spread" queries a million serials, so that
// nearly every lookup reads memory the CPU caches do not hold (as one
// lookup per TLS handshake does); "cached" queries 1,024, so that the
// table's lines they touch stay in cache; "spread-unlisted" queries a
// million serials none of which is listed, the common case of a
// certificate in good standing.
func BenchmarkCRLLookup(b *testing.B) {
	m := crlBenchData(b)
	l, err := parseCRL(m.der)
	if err != nil {
		b.Fatal(err)
	}
	for _, q := range []struct {
		name   string
		n      int
		listed int // in percent
	}{{"spread", 1 << 20, 50}, {"cached", 1 << 10, 50}, {"spread-unlisted", 1 << 20, 0}} {
		b.Run(q.name, func(b *testing.B) {
			// The queries are packed in one buffer, read in order, as a
			// serial just read from a certificate would be in cache.
			rng := mathrand.New(mathrand.NewPCG(5, 6))
			var packed []byte
			var bounds []int
			for i := range q.n {
				serial := m.revoked[rng.IntN(len(m.revoked))]
				if rng.IntN(100) >= q.listed {
					serial = m.absents[i%len(m.absents)]
				}
				packed = append(packed, serial...)
				bounds = append(bounds, len(packed))
			}
			queries := make([][]byte, q.n)
			for i := range queries {
				start := 0
				if i > 0 {
					start = bounds[i-1]
				}
				queries[i] = packed[start:bounds[i]]
			}
			b.ReportAllocs()
			hits := 0
			for i := 0; b.Loop(); i++ {
				if l.listed(queries[i&(q.n-1)]) {
					hits++
				}
			}
			runtime.KeepAlive(hits)
		})
	}
}

// BenchmarkCRLParse1M reads a million-entry CRL. heap-MB is the heap the
// list retains once read (the caller's copy of the DER released),
// heap-MB-verified once verifyIssuer has dropped the signed bytes.
func BenchmarkCRLParse1M(b *testing.B) {
	m := crlBenchData(b)
	benchmarkCRLRetained(b, m,
		func(der []byte) (any, error) { return parseCRL(der) },
		func(l any) error { return l.(*crlList).verifyIssuer(m.issuer) }, "heap-MB-verified")
	b.ReportMetric(float64(len(m.der))/1e6, "DER-MB")
}

// BenchmarkCRLParse1MStdlib is what the same CRL costs parsed by
// x509.ParseRevocationList and kept, for comparison with
// BenchmarkCRLParse1M: the heap the parsed list holds once the caller's
// copy of the DER is released.
func BenchmarkCRLParse1MStdlib(b *testing.B) {
	benchmarkCRLRetained(b, crlBenchData(b),
		func(der []byte) (any, error) { return x509.ParseRevocationList(der) }, nil, "")
}

// benchmarkCRLRetained times parse on a fresh copy of m's CRL and reports
// heap-MB, the heap its result retains once the copy is released, and,
// when then is not nil, thenMetric, the heap it retains after then.
func benchmarkCRLRetained(b *testing.B, m *crlMillion, parse func([]byte) (any, error), then func(any) error, thenMetric string) {
	var retained, afterThen float64
	var stats runtime.MemStats
	heap := func() uint64 {
		runtime.GC()
		runtime.ReadMemStats(&stats)
		return stats.HeapAlloc
	}
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		before := heap()
		data := bytes.Clone(m.der)
		b.StartTimer()
		v, err := parse(data)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		data = nil
		retained = float64(heap()-before) / 1e6
		if then != nil {
			if err := then(v); err != nil {
				b.Fatal(err)
			}
			afterThen = float64(heap()-before) / 1e6
		}
		runtime.KeepAlive(v)
		runtime.KeepAlive(data)
		b.StartTimer()
	}
	b.ReportMetric(retained, "heap-MB")
	if then != nil {
		b.ReportMetric(afterThen, thenMetric)
	}
}
