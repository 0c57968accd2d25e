// dn_tools_test.go: distinguished names as real tools print them, fed back
// as policies. OpenSSL is run on certificates minted here, with each
// -nameopt form README documents; .NET's strings come from the .NET
// runtime's own tests (dotnet_vectors_test.go). Every accepted string must
// denote its certificate's name and none of its negative controls (one
// attribute changed, one RDN added, one RDN dropped).

package clientcertificate

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
)

// opensslForms are the -nameopt forms README says are accepted, as
// `openssl x509 -noout -subject` prints them ("" is OpenSSL's default).
var opensslForms = []string{"", "compat", "RFC2253", "oneline", "RFC2253,-esc_msb", "oneline,-esc_msb"}

// toolName is a certificate name to mint and print.
type toolName struct {
	name string
	rdns pkix.RDNSequence
	// refused maps a form to the error the policy must be refused with
	// (names that form cannot write unambiguously, or that never match).
	refused map[string]string
}

func toolNames() []toolName {
	s := func(tag int, v string) asn1.RawValue { return dnTyped(tag, []byte(v)) }
	bmp := func(v string) asn1.RawValue { return dnTyped(asn1.TagBMPString, dnBMP(v)) }
	control := map[string]string{}
	for _, f := range opensslForms {
		control[f] = "control character"
	}
	return []toolName{
		{name: "printable", rdns: dnSeq(dnRDN(dnATV(dnOIDC, "US")), dnRDN(dnATV(dnOIDO, "Contoso Weather")), dnRDN(dnATV(dnOIDOU, "Stations")), dnRDN(dnATV(dnOIDCN, "station-042")))},
		{name: "utf8 non-ASCII", rdns: dnSeq(dnRDN(dnATV(dnOIDC, "CH")), dnRDN(dnATV(dnOIDO, s(asn1.TagUTF8String, "Météo Zürich"))), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "日本語 station"))))},
		{name: "bmp ASCII", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, bmp("station-042"))))},
		{name: "bmp non-ASCII", rdns: dnSeq(dnRDN(dnATV(dnOIDO, bmp("Météo"))), dnRDN(dnATV(dnOIDCN, bmp("Zoë Ørsted"))))},
		{name: "t61 Latin-1", rdns: dnSeq(dnRDN(dnATV(dnOIDC, "DE")), dnRDN(dnATV(dnOIDO, s(asn1.TagT61String, "Z\xfcrich Wetter"))), dnRDN(dnATV(dnOIDCN, "station-042")))},
		{name: "t61 holding UTF-8 bytes", rdns: dnSeq(dnRDN(dnATV(dnOIDO, s(asn1.TagT61String, "Z\xc3\xbcrich"))), dnRDN(dnATV(dnOIDCN, "station-042")))},
		{name: "ia5", rdns: dnSeq(dnRDN(dnATV(dnOIDDC, s(asn1.TagIA5String, "com"))), dnRDN(dnATV(dnOIDDC, s(asn1.TagIA5String, "example"))), dnRDN(dnATV(dnOIDEmail, s(asn1.TagIA5String, "station-042@example.com"))))},
		{name: "quotes, commas, plus, equals, hash", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, `#lead, "q" a+b c;d<e>f=g`))))},
		{name: "plus before TYPE=", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "a+b=c")))),
			refused: map[string]string{"compat": "ambiguous"}},
		{name: "backslash", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "Contoso")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, `CONTOSO\station-042`))))},
		{name: "leading and trailing spaces", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "  station 042  "))))},
		{name: "multi-valued RDN", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, "a"), dnATV(dnOIDUID, "b")))},
		{name: "slash in a value", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "stations/042"))))},
		{name: "slash and attribute in a value", rdns: dnSeq(dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "a/O=b"))), dnRDN(dnATV(dnOIDO, "X"))),
			refused: map[string]string{"compat": "ambiguous"}},
		{name: "NUL", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "nul\x00byte")))), refused: control},
		{name: "CR LF", rdns: dnSeq(dnRDN(dnATV(dnOIDO, "X")), dnRDN(dnATV(dnOIDCN, s(asn1.TagUTF8String, "station-042\r\n")))), refused: control},
	}
}

// rawATV and rawRDNSET hold a name with its values as they are encoded, so
// that any name (also with values Go cannot decode) can be changed and
// encoded again. (encoding/asn1 encodes a type named ...SET as a SET.)
type rawATV struct {
	Type  asn1.ObjectIdentifier
	Value asn1.RawValue
}

type rawRDNSET []rawATV

// negativeControls are names a policy written for the name der must not
// match: one attribute changed, one RDN added, one RDN dropped.
func negativeControls(t testing.TB, der []byte) map[string][]byte {
	t.Helper()
	var rdns []rawRDNSET
	if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) != 0 {
		t.Fatalf("negativeControls: %x is not a Name: %v", der, err)
	}
	out := map[string][]byte{}
	changed := slices.Clone(rdns)
	last := slices.Clone(changed[len(changed)-1])
	last[0].Value = asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("changed-value")}
	changed[len(changed)-1] = last
	out["one attribute changed"] = dnMarshal(t, changed)
	out["one RDN added"] = dnMarshal(t, append(slices.Clone(rdns), rawRDNSET{{Type: dnOIDL, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte("Nowhere")}}}))
	if len(rdns) > 1 {
		out["one RDN dropped"] = dnMarshal(t, rdns[1:])
	}
	return out
}

// TestOpenSSLFormsMatch mints a certificate per name, prints its subject
// with `openssl x509 -noout -subject -nameopt <form>` and feeds the output
// back as a subject condition.
func TestOpenSSLFormsMatch(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("REQUIRE_OPENSSL") != "" {
			t.Fatal("openssl is not installed, and REQUIRE_OPENSSL is set (make test sets it: README's claims about OpenSSL's forms are this test)")
		}
		t.Skip("openssl is not installed: make test requires it")
	}
	version, _ := exec.Command(openssl, "version").Output()
	dir := t.TempDir()
	matched, refused, denied := map[string]int{}, map[string]int{}, map[string]int{}
	// Every certificate is printed in every form first, a few openssl
	// processes at a time; then each printed name is checked in order.
	names := toolNames()
	certs := make([]*x509.Certificate, len(names))
	var jobs []opensslJob
	for i, tn := range names {
		der := dnMarshal(t, tn.rdns)
		certs[i] = dnTestCert(t, &x509.Certificate{RawSubject: der})
		if !bytes.Equal(certs[i].RawSubject, der) {
			t.Fatalf("%s: the certificate's subject is not the name minted", tn.name)
		}
		for _, form := range opensslForms {
			jobs = append(jobs, opensslJob{certs[i], form})
		}
	}
	prints := opensslSubjects(t, openssl, dir, jobs)
	for i, tn := range names {
		cert := certs[i]
		want, wantErr := dnKeyFromDER(cert.RawSubject)
		negatives := negativeControls(t, cert.RawSubject)
		for j, form := range opensslForms {
			printed := prints[i*len(opensslForms)+j]
			label := form
			if label == "" {
				label = "default"
			}
			keys, err := parseDNKeys(printed)
			if want := tn.refused[form]; want != "" {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("%s, -nameopt %s: %q parsed to %d keys (error %v), want it refused with %q", tn.name, label, printed, len(keys), err, want)
				}
				refused[label]++
				continue
			}
			if wantErr != nil {
				t.Fatalf("%s: the certificate's name has no key: %v", tn.name, wantErr)
			}
			if err != nil {
				t.Errorf("%s, -nameopt %s: parseDNKeys(%q): %v", tn.name, label, printed, err)
				continue
			}
			if !dnKeysMeet(keys, nameFactsOf(cert.RawSubject).keys) || !slices.Contains(nameFactsOf(cert.RawSubject).keys, want) {
				t.Errorf("%s, -nameopt %s: %q does not denote the certificate's name", tn.name, label, printed)
				continue
			}
			matched[label]++
			for what, neg := range negatives {
				if dnKeysMeet(keys, nameFactsOf(neg).keys) {
					t.Errorf("%s, -nameopt %s: %q also denotes the name with %s", tn.name, label, printed, what)
				} else {
					denied[label]++
				}
			}
		}
	}
	// -nameopt utf8 alone sets none of the options that make a form: it
	// prints like .NET but most significant RDN first, so a name of several
	// RDNs is read in the wrong order and denies (README says to paste
	// RFC2253,-esc_msb instead).
	utf8Denied := 0
	for _, tn := range toolNames() {
		if len(tn.rdns) < 2 || tn.refused != nil {
			continue
		}
		cert := dnTestCert(t, &x509.Certificate{RawSubject: dnMarshal(t, tn.rdns)})
		printed := opensslSubject(t, openssl, dir, cert, "utf8")
		if keys, err := parseDNKeys(printed); err == nil && dnKeysMeet(keys, nameFactsOf(cert.RawSubject).keys) {
			t.Errorf("%s, -nameopt utf8: %q denotes the name; README says this form does not", tn.name, printed)
		}
		utf8Denied++
	}
	t.Logf("-nameopt utf8 (not a form): %d printed names of several RDNs denote other names, as documented", utf8Denied)
	for _, form := range opensslForms {
		label := form
		if label == "" {
			label = "default"
		}
		t.Logf("%s -nameopt %s: %d printed names matched, %d refused as documented, %d negative controls denied", strings.TrimSpace(string(version)), label, matched[label], refused[label], denied[label])
	}
}

// opensslSubject is what `openssl x509 -noout -subject -nameopt form`
// prints for cert, without "subject=" and the newline ("" is no -nameopt).
func opensslSubject(t *testing.T, openssl, dir string, cert *x509.Certificate, form string) string {
	t.Helper()
	printed, err := opensslPrint(openssl, dir, cert, form)
	if err != nil {
		t.Fatal(err)
	}
	return printed
}

// opensslJob is a certificate to print, and the -nameopt form to print it
// in.
type opensslJob struct {
	cert *x509.Certificate
	form string
}

// opensslSubjects prints the subject of every job, in order, running a few
// openssl processes at a time (starting one is most of the cost).
func opensslSubjects(t *testing.T, openssl, dir string, jobs []opensslJob) []string {
	t.Helper()
	out := make([]string, len(jobs))
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	slots := make(chan struct{}, 4)
	for i, j := range jobs {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			out[i], errs[i] = opensslPrint(openssl, dir, j.cert, j.form)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	return out
}

// opensslPrint is the subject of cert as `openssl x509 -noout -subject
// -nameopt form` prints it (openssl's default form when form is "").
func opensslPrint(openssl, dir string, cert *x509.Certificate, form string) (string, error) {
	f, err := os.CreateTemp(dir, "cert-*.pem")
	if err != nil {
		return "", err
	}
	_, err = f.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	args := []string{"x509", "-in", f.Name(), "-noout", "-subject"}
	if form != "" {
		args = append(args, "-nameopt", form)
	}
	out, err := exec.Command(openssl, args...).Output()
	if err != nil {
		return "", fmt.Errorf("openssl %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSuffix(strings.TrimPrefix(string(out), "subject="), "\n"), nil
}

// TestDotnetVectorsMatch feeds the strings the .NET runtime's own tests
// expect X500DistinguishedName to print back as policies, against the DER
// those tests give. Only the strings .NET prints for X509Certificate2.Subject
// and X500DistinguishedName.Name (Reversed) are .NET's form; the default
// Decode(None) prints the RDNs in the other order, so only its single-RDN
// strings are the same.
func TestDotnetVectorsMatch(t *testing.T) {
	matched, refused, denied := checkNameVectors(t, dotnetNameVectors)
	t.Logf(".NET runtime test vectors: %d matched, %d refused as documented, %d negative controls denied", matched, refused, denied)
}

// TestWindowsVectorsMatch does the same with the strings Wine's crypt32
// tests expect Windows' CertNameToStr to print (windows_vectors_test.go).
func TestWindowsVectorsMatch(t *testing.T) {
	matched, refused, denied := checkNameVectors(t, windowsNameVectors)
	t.Logf("CertNameToStr test vectors: %d matched, %d refused as documented, %d negative controls denied", matched, refused, denied)
}

// checkNameVectors checks that each vector's string denotes its DER's name,
// and none of the name's negative controls, or is refused as the vector
// says. Multi-RDN strings count only in the order that lists the least
// significant RDN first (Flags "Reversed"); other orders name another name.
func checkNameVectors(t *testing.T, vectors []nameVector) (matched, refused, denied int) {
	t.Helper()
	for _, v := range vectors {
		if v.Want == "" {
			continue // the tool prints no name: an invalid encoding, or an empty name
		}
		der, err := hex.DecodeString(v.DERHex)
		if err != nil {
			t.Fatalf("%s %s: %v", v.Source, v.Test, err)
		}
		var rdns pkix.RDNSequence
		if rest, err := asn1.Unmarshal(der, &rdns); err != nil || len(rest) != 0 {
			t.Fatalf("%s %s: the DER is not a Name: %v", v.Source, v.Test, err)
		}
		if v.Flags != "Reversed" && len(rdns) > 1 {
			continue // not the order of the form
		}
		keys, perr := parseDNKeys(v.Want)
		want, kerr := dnKeyFromDER(der)
		if v.Refused != "" {
			if perr == nil || !strings.Contains(perr.Error(), v.Refused) {
				t.Errorf("%s %s: %q parsed (error %v), want it refused with %q", v.Source, v.Test, v.Want, perr, v.Refused)
			}
			refused++
			continue
		}
		if kerr != nil {
			t.Fatalf("%s %s: the name has no key: %v", v.Source, v.Test, kerr)
		}
		if perr != nil {
			t.Errorf("%s %s: parseDNKeys(%q): %v", v.Source, v.Test, v.Want, perr)
			continue
		}
		if !dnKeysMeet(keys, nameFactsOf(der).keys) || !slices.Contains(nameFactsOf(der).keys, want) {
			t.Errorf("%s %s: %q does not denote the name of DER %s", v.Source, v.Test, v.Want, v.DERHex)
			continue
		}
		matched++
		for what, neg := range negativeControls(t, der) {
			if dnKeysMeet(keys, nameFactsOf(neg).keys) {
				t.Errorf("%s %s: %q also denotes the name with %s", v.Source, v.Test, v.Want, what)
			} else {
				denied++
			}
		}
	}
	if matched == 0 {
		t.Fatal("no vector was checked")
	}
	return matched, refused, denied
}
