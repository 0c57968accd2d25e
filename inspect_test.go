// inspect_test.go: `caddy client-certificate inspect`: every field, in PEM,
// DER, from standard input and from a chain file, as text and JSON; the
// .NET form against the .NET runtime's own vectors; bad input.

package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // thumbprints
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

type inspectJSON struct {
	Certificates []certificateInfo `json:"certificates"`
}

func inspectJSONOf(t *testing.T, stdin string, args ...string) inspectJSON {
	t.Helper()
	out, errOut, code := cli(stdin, append([]string{"inspect", "--json"}, args...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("inspect %v: exit %d, stderr %q", args, code, errOut)
	}
	var got inspectJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("inspect --json: %v\n%s", err, out)
	}
	return got
}

func TestInspectFields(t *testing.T) {
	s := pki(t)
	good := s.Good.Cert
	got := inspectJSONOf(t, "", writeTemp(t, "good.pem", s.Good.CertPEM()))
	if len(got.Certificates) != 2 {
		t.Fatalf("good.pem (leaf and intermediate): %d certificates printed, want 2", len(got.Certificates))
	}
	c := got.Certificates[0]
	sha1Sum := sha1.Sum(good.Raw) //nolint:gosec // thumbprint
	sha256Sum := sha256.Sum256(good.Raw)
	spki := sha256.Sum256(good.RawSubjectPublicKeyInfo)
	for _, f := range []struct{ name, got, want string }{
		{"thumbprint", c.Thumbprint, strings.ToUpper(hex.EncodeToString(sha1Sum[:]))},
		{"thumbprint_sha256", c.ThumbprintSHA256, hex.EncodeToString(sha256Sum[:])},
		{"spki", c.SPKI, base64.StdEncoding.EncodeToString(spki[:])},
		{"subject", c.Subject, "CN=station-042,OU=Stations,O=Contoso Weather,C=US"},
		{"subject_dotnet", c.SubjectDotnet, "CN=station-042, OU=Stations, O=Contoso Weather, C=US"},
		{"issuer", c.Issuer, issuingCA},
		{"issuer_dotnet", c.IssuerDotnet, "CN=Contoso Weather Issuing CA, O=Contoso Weather, C=US"},
		{"serial", c.Serial, strings.ToUpper(good.SerialNumber.Text(16))},
		{"not_before", c.NotBefore, good.NotBefore.UTC().Format(time.RFC3339)},
		{"not_after", c.NotAfter, good.NotAfter.UTC().Format(time.RFC3339)},
		{"validity", c.Validity, "valid"},
		{"key_type", c.KeyType, "ECDSA P-256"},
		{"dns", strings.Join(c.DNSNames, ","), "station-042.stations.contoso-weather.example"},
		{"email", strings.Join(c.Emails, ","), "station-042@contoso-weather.example"},
		{"uri", strings.Join(c.URIs, ","), "spiffe://contoso-weather.example/stations/042"},
		{"ip", strings.Join(c.IPs, ","), "10.42.0.42"},
		{"ext_key_usage", strings.Join(c.ExtKeyUsage, ","), "clientAuth"},
	} {
		if f.got != f.want {
			t.Errorf("%s = %q, want %q", f.name, f.got, f.want)
		}
	}
	if c.IsCA || !got.Certificates[1].IsCA {
		t.Errorf("is_ca: leaf %v, intermediate %v", c.IsCA, got.Certificates[1].IsCA)
	}
	if got.Certificates[1].Subject != issuingCA || got.Certificates[1].Caddyfile != "" {
		t.Errorf("second certificate: %+v", got.Certificates[1])
	}
	// The SHA-1 thumbprint is the pin Windows and APIM print: the block
	// pins it, and the policy it compiles to accepts it.
	if !strings.Contains(c.Caddyfile, "thumbprint "+c.Thumbprint+"\n") {
		t.Errorf("block lacks the thumbprint:\n%s", c.Caddyfile)
	}
}

// The text form prints the same fields, each certificate of a chain, and
// the block.
func TestInspectText(t *testing.T) {
	s := pki(t)
	out, errOut, code := cli("", "inspect", writeTemp(t, "good.pem", s.Good.CertPEM()))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	sum := sha1.Sum(s.Good.Cert.Raw) //nolint:gosec // thumbprint
	for _, want := range []string{
		"certificate 1 of 2 (leaf)\n",
		"certificate 2 of 2 (CA)\n",
		"  subject            CN=station-042,OU=Stations,O=Contoso Weather,C=US\n",
		"  subject (.NET)     CN=station-042, OU=Stations, O=Contoso Weather, C=US\n",
		"  thumbprint         " + strings.ToUpper(hex.EncodeToString(sum[:])) + "  (SHA-1)\n",
		"  CA                 yes (basicConstraints CA:TRUE)\n",
		"  SAN ip             10.42.0.42\n",
		"client_certificate {\n\trequire_unexpired\n",
		"\tidentity station-042 {\n\t\tsubject \"CN=station-042,OU=Stations,O=Contoso Weather,C=US\"\n\t\tissuer \"CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US\"\n\t}\n}\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// PEM, DER and standard input (PEM or DER) give the same certificate.
func TestInspectInputs(t *testing.T) {
	s := pki(t)
	leafPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Good.Cert.Raw})
	keyThenCert := append(s.Good.KeyPEM(), leafPEM...)
	want := inspectJSONOf(t, "", writeTemp(t, "good.der", s.Good.Cert.Raw)).Certificates
	for name, got := range map[string][]certificateInfo{
		"PEM file":                 inspectJSONOf(t, "", writeTemp(t, "good.pem", leafPEM)).Certificates,
		"PEM on standard input":    inspectJSONOf(t, string(leafPEM), "-").Certificates,
		"DER on standard input":    inspectJSONOf(t, string(s.Good.Cert.Raw), "-").Certificates,
		"key and certificate file": inspectJSONOf(t, "", writeTemp(t, "both.pem", keyThenCert)).Certificates,
	} {
		if len(got) != 1 || got[0].Thumbprint != want[0].Thumbprint || got[0].Caddyfile != want[0].Caddyfile {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	out, _, _ := cli("", "inspect", writeTemp(t, "both.pem", keyThenCert))
	if strings.Contains(out, "PRIVATE KEY") || strings.Contains(out, strings.TrimSpace(string(s.Good.KeyPEM()))[30:60]) {
		t.Error("inspect printed the private key")
	}
	// A DER chain: certificates concatenated.
	chain := inspectJSONOf(t, "", writeTemp(t, "chain.der", slices.Concat(s.Good.Cert.Raw, s.Intermediate.Cert.Raw, s.Root.Cert.Raw))).Certificates
	if len(chain) != 3 || chain[2].Subject != "CN=Contoso Weather Root CA,O=Contoso Weather,C=US" || chain[2].Index != 3 {
		t.Errorf("DER chain: %+v", chain)
	}
}

func TestInspectValidity(t *testing.T) {
	s := pki(t)
	for _, c := range []struct {
		leaf *testpki.Leaf
		want string
		text string
	}{
		{s.Good, "valid", ""},
		{s.Expired, "expired", "  EXPIRED\n"},
		{s.NotYetValid, "not_yet_valid", "  NOT YET VALID\n"},
	} {
		file := writeTemp(t, "leaf.pem", c.leaf.CertPEM())
		got := inspectJSONOf(t, "", file).Certificates[0]
		if got.Validity != c.want {
			t.Errorf("%s: validity %q, want %q", got.NotAfter, got.Validity, c.want)
		}
		out, _, _ := cli("", "inspect", file)
		if c.text != "" && !strings.Contains(out, "  not after          "+got.NotAfter+c.text) {
			t.Errorf("text lacks %q:\n%s", c.text, out)
		}
		if c.text == "" && (strings.Contains(out, "EXPIRED") || strings.Contains(out, "NOT YET VALID")) {
			t.Errorf("a valid certificate flagged:\n%s", out)
		}
	}
}

// The .NET form is what the .NET runtime's own tests expect .NET to print
// (dotnet_vectors_test.go), Reversed (X509Certificate2.Subject) and in DER
// order; and it reads back as the same name.
func TestInspectDotnetForm(t *testing.T) {
	n := 0
	for _, v := range dotnetNameVectors {
		if v.Refused != "" {
			continue // control characters: printed escaped, and never matching anyway
		}
		der, err := hex.DecodeString(v.DERHex)
		if err != nil {
			t.Fatal(err)
		}
		rdns, err := parseDNDER(der)
		if err != nil {
			if v.Want != "" {
				t.Errorf("%s %s: %v", v.Source, v.Test, err)
			}
			continue // an invalid encoding, which .NET prints as nothing
		}
		got := formatDotnetRDNs(rdns, v.Flags == "Reversed")
		if got != v.Want {
			t.Errorf("%s / %s (%s):\n got %q\nwant %q", v.Source, v.Test, v.Flags, got, v.Want)
		}
		n++
		if v.Flags != "Reversed" || len(rdns) == 0 {
			continue
		}
		keys, err := parseDNKeys(got)
		if err != nil {
			t.Errorf("%q does not read back: %v", got, err)
			continue
		}
		// It denotes one of the certificate's names (its own, or the one
		// .NET shows).
		if !slices.ContainsFunc(nameFactsOf(der).keys, func(k dnKey) bool { return slices.Contains(keys, k) }) {
			t.Errorf("%q reads back as another name", got)
		}
	}
	if n < 40 {
		t.Errorf("only %d vectors compared", n)
	}
}

// The names inspect prints read back as the certificate's names (they go
// into the block), whatever they hold.
func TestInspectNamesReadBack(t *testing.T) {
	s := pki(t)
	for _, c := range []*x509.Certificate{s.Good.Cert, s.CommaCN.Cert, s.Intermediate.Cert, s.Root.Cert} {
		info := inspectCertificate(c, 1, time.Now())
		for _, form := range []string{info.Subject, info.SubjectDotnet} {
			keys, err := parseDNKeys(form)
			want := nameFactsOf(c.RawSubject).keys[0]
			if err != nil || !slices.Contains(keys, want) {
				t.Errorf("%q does not read back as the subject (%v)", form, err)
			}
		}
	}
	info := inspectCertificate(s.CommaCN.Cert, 1, time.Now())
	if info.SubjectDotnet != `CN="Contoso Weather, Inc", O=Contoso Weather, C=US` || info.Subject != `CN=Contoso Weather\, Inc,O=Contoso Weather,C=US` {
		t.Errorf("comma CN: %q / %q", info.Subject, info.SubjectDotnet)
	}
	// A backslash in the value: the block quotes it with backticks, in
	// which the Caddyfile has no escapes.
	block, _ := caddyfileBlock(s.CommaCN.Cert, &info)
	if !strings.Contains(block, "\t\tsubject `CN=Contoso Weather\\, Inc,O=Contoso Weather,C=US`\n") || !strings.Contains(block, "identity certificate {") {
		t.Errorf("comma CN block:\n%s", block)
	}
}

// Unreadable or non-certificate input: one line on stderr, exit 2, nothing
// on stdout, in-process and through Caddy's own main.
func TestInspectBadInput(t *testing.T) {
	s := pki(t)
	dir := t.TempDir()
	garbage := writeTemp(t, "garbage.pem", []byte("hello, this is not a certificate\n"))
	keyOnly := writeTemp(t, "key.pem", s.Good.KeyPEM())
	badPEM := writeTemp(t, "bad.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("\x30\x03\x02\x01\x01")}))
	truncated := writeTemp(t, "trunc.der", s.Good.Cert.Raw[:100])
	empty := writeTemp(t, "empty.pem", nil)
	for _, c := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"missing file", "", []string{filepath.Join(dir, "nope.pem")}, "no such file"},
		{"directory", "", []string{dir}, "is a directory"},
		{"garbage", "", []string{garbage}, "not a certificate in PEM or DER"},
		{"key only", "", []string{keyOnly}, "no CERTIFICATE block"},
		{"bad PEM certificate", "", []string{badPEM}, "PEM certificate 1"},
		{"truncated DER", "", []string{truncated}, "not a certificate in PEM or DER"},
		{"empty", "", []string{empty}, "empty"},
		{"garbage on stdin", "garbage", []string{"-"}, "standard input: not a certificate"},
		{"no argument", "", nil, "exactly one argument"},
		{"two arguments", "", []string{garbage, keyOnly}, "exactly one argument"},
		{"unknown flag", "", []string{"--pretty", garbage}, "unknown flag: --pretty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := cli(c.stdin, append([]string{"inspect"}, c.args...)...)
			assertOneLineError(t, out, errOut, code, "caddy client-certificate inspect: ", c.want)
		})
	}
}

// assertOneLineError checks a usage error: exit 2, nothing on stdout,
// exactly one line on stderr, with the prefix and the words wanted.
func assertOneLineError(t *testing.T, stdout, stderr string, code int, prefix, want string) {
	t.Helper()
	if code != 2 {
		t.Errorf("exit status %d, want 2 (stderr %q)", code, stderr)
	}
	if stdout != "" {
		t.Errorf("stdout: %q", stdout)
	}
	if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	if !strings.HasPrefix(stderr, prefix) || !strings.Contains(stderr, want) {
		t.Errorf("stderr %q, want %q…%q", stderr, prefix, want)
	}
}
