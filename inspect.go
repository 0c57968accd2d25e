// inspect.go: `caddy client-certificate inspect`: what a certificate (or
// each certificate of a chain file) offers to a policy, in the forms
// operators paste (SHA-1 thumbprint as Windows and Azure API Management
// print it, RFC 4514 and .NET distinguished names), and a client_certificate
// block that allows it.

package clientcertificate

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"regexp"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// maxCertificateInput bounds what inspect and check read from a file or
// standard input.
const maxCertificateInput = 16 << 20

// readCertificates reads every certificate of a PEM file (CERTIFICATE
// blocks; other blocks, such as keys, are skipped and never printed) or a
// DER file (one certificate or several concatenated). name "-" is standard
// input. Errors are one line and name the input.
func readCertificates(name string, stdin io.Reader) ([]*x509.Certificate, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxCertificateInput+1))
		name = "standard input"
	} else {
		var f *os.File
		f, err = os.Open(name)
		if err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxCertificateInput+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, err
	}
	if len(data) > maxCertificateInput {
		return nil, fmt.Errorf("%s: larger than %d MiB", name, maxCertificateInput>>20)
	}
	return parseCertificates(name, data)
}

func parseCertificates(name string, data []byte) ([]*x509.Certificate, error) {
	if bytes.Contains(data, []byte("-----BEGIN")) {
		var certs []*x509.Certificate
		rest := data
		for {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("%s: PEM certificate %d: %v", name, len(certs)+1, err)
			}
			certs = append(certs, c)
		}
		if len(certs) == 0 {
			return nil, fmt.Errorf("%s: no CERTIFICATE block in this PEM input", name)
		}
		return certs, nil
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("%s: empty: expected a certificate in PEM or DER", name)
	}
	certs, err := x509.ParseCertificates(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a certificate in PEM or DER: %v", name, err)
	}
	return certs, nil
}

// certificateInfo is what inspect prints about one certificate; --json
// prints it as is.
type certificateInfo struct {
	Index             int      `json:"index"`
	Thumbprint        string   `json:"thumbprint"`        // SHA-1, upper-case hex
	ThumbprintSHA256  string   `json:"thumbprint_sha256"` // lower-case hex
	SPKI              string   `json:"spki"`              // SHA-256 of SubjectPublicKeyInfo, base64
	Subject           string   `json:"subject"`           // RFC 4514
	SubjectDotnet     string   `json:"subject_dotnet"`    // as .NET and Azure API Management print it
	Issuer            string   `json:"issuer"`
	IssuerDotnet      string   `json:"issuer_dotnet"`
	Serial            string   `json:"serial"` // upper-case hex
	NotBefore         string   `json:"not_before"`
	NotAfter          string   `json:"not_after"`
	Validity          string   `json:"validity"` // valid, expired or not_yet_valid, now
	DNSNames          []string `json:"dns_names"`
	Emails            []string `json:"emails"`
	URIs              []string `json:"uris"`
	IPs               []string `json:"ips"`
	KeyType           string   `json:"key_type"`
	IsCA              bool     `json:"is_ca"`
	ExtKeyUsage       []string `json:"ext_key_usage"`
	Caddyfile         string   `json:"caddyfile,omitempty"` // a block that allows it (the first certificate only)
	CaddyfileWarnings []string `json:"caddyfile_notes,omitempty"`
}

func inspectCertificate(c *x509.Certificate, index int, now time.Time) certificateInfo {
	f := deriveFacts(c, sha256.Sum256(c.Raw))
	info := certificateInfo{
		Index:            index,
		Thumbprint:       f.thumbprintHex.(string),
		ThumbprintSHA256: f.thumbprintSHA256Hex.(string),
		SPKI:             base64.StdEncoding.EncodeToString(f.spki[:]),
		Subject:          displayName(c.RawSubject),
		SubjectDotnet:    dotnetName(c.RawSubject),
		Issuer:           displayName(c.RawIssuer),
		IssuerDotnet:     dotnetName(c.RawIssuer),
		Serial:           f.serial,
		NotBefore:        c.NotBefore.UTC().Format(time.RFC3339),
		NotAfter:         c.NotAfter.UTC().Format(time.RFC3339),
		Validity:         "valid",
		DNSNames:         nonNil(c.DNSNames),
		Emails:           nonNil(c.EmailAddresses),
		URIs:             []string{},
		IPs:              []string{},
		KeyType:          keyType(c),
		IsCA:             c.BasicConstraintsValid && c.IsCA,
		ExtKeyUsage:      extKeyUsages(c),
	}
	if c.SerialNumber != nil && c.SerialNumber.Sign() < 0 {
		info.Serial = "-" + strings.ToUpper(new(big.Int).Neg(c.SerialNumber).Text(16))
	}
	switch {
	case now.Before(c.NotBefore):
		info.Validity = "not_yet_valid"
	case now.After(c.NotAfter):
		info.Validity = "expired"
	}
	for _, u := range c.URIs {
		info.URIs = append(info.URIs, u.String())
	}
	for _, ip := range c.IPAddresses {
		info.IPs = append(info.IPs, ip.String())
	}
	return info
}

// displayName is a name in RFC 4514 as the plugin prints it (placeholders,
// logs), which its subject and issuer conditions read back; or, for a name
// that does not parse, its DER in hex.
func displayName(der []byte) string {
	if rdns, err := parseDNDER(der); err == nil {
		return formatRDNs(rdns)
	}
	return "(unparsable name, DER " + hex.EncodeToString(der) + ")"
}

// dotnetAttrNames are the names .NET prints for attribute types
// (X500DistinguishedName.Name, X509Certificate2.Subject); other types are
// printed "OID." and the dotted OID. dotnetAttrTypes and dnAttrTypes read
// every one of them back.
var dotnetAttrNames = map[string]string{
	"2.5.4.3":                    "CN",
	"2.5.4.4":                    "SN",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.6":                    "C",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "S",
	"2.5.4.9":                    "STREET",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.12":                   "T",
	"2.5.4.18":                   "POBox",
	"2.5.4.20":                   "Phone",
	"2.5.4.24":                   "X21Address",
	"2.5.4.42":                   "G",
	"2.5.4.43":                   "I",
	"1.2.840.113549.1.9.1":       "E",
	"0.9.2342.19200300.100.1.25": "DC",
	"2.23.133.2.1":               "TPMManufacturer",
	"2.23.133.2.2":               "TPMModel",
	"2.23.133.2.3":               "TPMVersion",
}

// dotnetName prints a DER name as .NET does (X509Certificate2.Subject,
// Azure API Management's context.Request.Certificate.Subject): least
// significant RDN first, ", " between RDNs and " + " inside one; a value
// with , + = " < > # ; or a line feed, or leading or trailing whitespace,
// or empty, in double quotes with "" for a quote; a value that is not a
// character string as # and the hex of its DER; a T61String holding UTF-8
// read as UTF-8. .NET prints control characters raw; here they are \XX
// escaped (such a name never matches a policy anyway).
func dotnetName(der []byte) string {
	rdns, err := parseDNDER(der)
	if err != nil {
		return displayName(der)
	}
	return formatDotnetRDNs(rdns, true)
}

// formatDotnetRDNs prints rdns as .NET does, reversed (X500DistinguishedNameFlags.Reversed,
// what .NET shows by default) or in DER order.
func formatDotnetRDNs(rdns [][]dnAttr, reversed bool) string {
	var b strings.Builder
	for k := range rdns {
		i := k
		if reversed {
			i = len(rdns) - 1 - k
		}
		if k > 0 {
			b.WriteString(", ")
		}
		for j, a := range rdns[i] {
			if j > 0 {
				b.WriteString(" + ")
			}
			if name, ok := dotnetAttrNames[a.oid]; ok {
				b.WriteString(name)
			} else {
				b.WriteString("OID." + a.oid)
			}
			b.WriteByte('=')
			if !a.isString {
				b.WriteString("#" + strings.ToUpper(hex.EncodeToString(dotnetHexValue(a.der))))
				continue
			}
			v := a.value
			if a.dotnetReadsUTF8() {
				v = string(a.content)
			}
			writeDotnetValue(&b, v)
		}
	}
	return b.String()
}

// dotnetHexValue is what .NET prints after "#" for a value that is not a
// character string: an OCTET STRING's contents, any other value's DER.
func dotnetHexValue(der []byte) []byte {
	in := cryptobyte.String(der)
	var contents cryptobyte.String
	if in.ReadASN1(&contents, cbasn1.OCTET_STRING) && in.Empty() {
		return contents
	}
	return der
}

func writeDotnetValue(b *strings.Builder, v string) {
	quote := v == "" || dotnetQuotableSpace(v[0]) || dotnetQuotableSpace(v[len(v)-1]) ||
		strings.ContainsAny(v, ",+=\"\n<>#;")
	if quote {
		b.WriteByte('"')
	}
	for _, r := range v {
		switch {
		case r == '"' && quote:
			b.WriteString(`""`)
		case unicode.IsControl(r):
			writeDNHexEscape(b, r)
		default:
			b.WriteRune(r)
		}
	}
	if quote {
		b.WriteByte('"')
	}
}

// dotnetQuotableSpace is the whitespace .NET quotes at either end of a
// value (X500NameEncoder: what Windows deems quote-worthy).
func dotnetQuotableSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func keyType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String() + " (not usable for TLS client authentication by Go)"
}

var extKeyUsageNames = map[x509.ExtKeyUsage]string{
	x509.ExtKeyUsageAny:                            "any",
	x509.ExtKeyUsageServerAuth:                     "serverAuth",
	x509.ExtKeyUsageClientAuth:                     "clientAuth",
	x509.ExtKeyUsageCodeSigning:                    "codeSigning",
	x509.ExtKeyUsageEmailProtection:                "emailProtection",
	x509.ExtKeyUsageIPSECEndSystem:                 "ipsecEndSystem",
	x509.ExtKeyUsageIPSECTunnel:                    "ipsecTunnel",
	x509.ExtKeyUsageIPSECUser:                      "ipsecUser",
	x509.ExtKeyUsageTimeStamping:                   "timeStamping",
	x509.ExtKeyUsageOCSPSigning:                    "OCSPSigning",
	x509.ExtKeyUsageMicrosoftServerGatedCrypto:     "msSGC",
	x509.ExtKeyUsageNetscapeServerGatedCrypto:      "nsSGC",
	x509.ExtKeyUsageMicrosoftCommercialCodeSigning: "msCodeCom",
	x509.ExtKeyUsageMicrosoftKernelCodeSigning:     "msKernelCodeSigning",
}

// extKeyUsages lists the EKUs by OpenSSL's short names; unknown ones as
// dotted OIDs.
func extKeyUsages(c *x509.Certificate) []string {
	out := []string{}
	for _, u := range c.ExtKeyUsage {
		if n, ok := extKeyUsageNames[u]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("ExtKeyUsage(%d)", u))
		}
	}
	for _, oid := range c.UnknownExtKeyUsage {
		out = append(out, oid.String())
	}
	return out
}

// caddyfileBlock is a client_certificate block that allows c: the
// thumbprint pins this certificate, and an identity names its subject and
// issuer (which, with a trust_pool or client_auth verification, alone
// allows its renewals). It returns notes on what it could not include.
func caddyfileBlock(c *x509.Certificate, info *certificateInfo) (string, []string) {
	var notes []string
	var b strings.Builder
	b.WriteString("client_certificate {\n")
	b.WriteString("\trequire_unexpired\n")
	b.WriteString("\t# this very certificate: its SHA-1 thumbprint, as Windows and Azure API Management print it\n")
	fmt.Fprintf(&b, "\tthumbprint %s\n", info.Thumbprint)
	subject := nameFactsOf(c.RawSubject)
	issuer := nameFactsOf(c.RawIssuer)
	switch {
	case len(subject.keys) == 0 || len(issuer.keys) == 0:
		notes = append(notes, "no subject+issuer identity: a name that holds a control character, or does not parse, never matches a policy; the thumbprint pin alone allows this certificate")
	case len(subject.commonNames) == 0 && subject.text == "":
		notes = append(notes, "no subject+issuer identity: the subject is empty")
	default:
		name := "certificate"
		if cn := subject.lastCN; cn != "" && identityNameRE.MatchString(cn) {
			name = cn
		}
		b.WriteString("\t# its subject from its issuer: without the thumbprint above, and with a trust_pool\n")
		b.WriteString("\t# (or client_auth verification), this identity also allows its renewals\n")
		fmt.Fprintf(&b, "\tidentity %s {\n", name)
		fmt.Fprintf(&b, "\t\tsubject %s\n", caddyfileQuote(subject.text))
		fmt.Fprintf(&b, "\t\tissuer %s\n", caddyfileQuote(issuer.text))
		b.WriteString("\t}\n")
	}
	if info.IsCA {
		notes = append(notes, "this is a CA certificate: presented as a client certificate it is not an identity (reason ca_certificate) unless pinned; to allow what it issues, use it in a trust_pool, or issuer_thumbprint "+info.Thumbprint)
	}
	b.WriteString("}\n")
	return b.String(), notes
}

var identityNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]*$`)

// caddyfileQuote quotes a value as one Caddyfile token: double quotes,
// or backticks (in which nothing is an escape) when it holds a double
// quote or a backslash.
func caddyfileQuote(s string) string {
	if !strings.ContainsAny(s, "\"\\") {
		return `"` + s + `"`
	}
	if !strings.Contains(s, "`") {
		return "`" + s + "`"
	}
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

// inspectOptions are the flags of inspect.
type inspectOptions struct {
	input string // file name, or "-"
	json  bool
	now   time.Time
}

// runInspect runs inspect; it returns the exit status (0, or 2 with one
// line on stderr).
func runInspect(o inspectOptions, stdin io.Reader, stdout, stderr io.Writer) int {
	certs, err := readCertificates(o.input, stdin)
	if err != nil {
		return usageError(stderr, "inspect", err)
	}
	infos := make([]certificateInfo, len(certs))
	for i, c := range certs {
		infos[i] = inspectCertificate(c, i+1, o.now)
	}
	infos[0].Caddyfile, infos[0].CaddyfileWarnings = caddyfileBlock(certs[0], &infos[0])
	if o.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			Certificates []certificateInfo `json:"certificates"`
		}{infos}); err != nil {
			return usageError(stderr, "inspect", err)
		}
		return 0
	}
	w := &errWriter{w: stdout}
	for i := range infos {
		writeCertificateInfo(w, &infos[i], len(infos))
	}
	w.printf("\nA client_certificate block that allows certificate 1 (handler, @matcher or verifier):\n\n%s", infos[0].Caddyfile)
	for _, n := range infos[0].CaddyfileWarnings {
		w.printf("# note: %s\n", n)
	}
	if w.err != nil {
		return usageError(stderr, "inspect", w.err)
	}
	return 0
}

func writeCertificateInfo(w *errWriter, in *certificateInfo, n int) {
	role := "leaf"
	if in.IsCA {
		role = "CA"
	}
	if in.Index > 1 {
		w.printf("\n")
	}
	w.printf("certificate %d of %d (%s)\n", in.Index, n, role)
	row := func(label, value string) { w.printf("  %-18s %s\n", label, value) }
	row("subject", in.Subject)
	row("subject (.NET)", in.SubjectDotnet)
	row("issuer", in.Issuer)
	row("issuer (.NET)", in.IssuerDotnet)
	row("thumbprint", in.Thumbprint+"  (SHA-1)")
	row("sha256", in.ThumbprintSHA256)
	row("spki", in.SPKI+"  (SHA-256 of the public key, base64)")
	row("serial", in.Serial)
	row("not before", in.NotBefore)
	validity := ""
	switch in.Validity {
	case "expired":
		validity = "  EXPIRED"
	case "not_yet_valid":
		validity = "  NOT YET VALID"
	}
	row("not after", in.NotAfter+validity)
	row("key", in.KeyType)
	ca := "no"
	if in.IsCA {
		ca = "yes (basicConstraints CA:TRUE)"
	}
	row("CA", ca)
	row("extended key usage", listOrNone(in.ExtKeyUsage, "none (any use)"))
	for _, s := range []struct {
		label  string
		values []string
	}{{"dns", in.DNSNames}, {"email", in.Emails}, {"uri", in.URIs}, {"ip", in.IPs}} {
		for _, v := range s.values {
			row("SAN "+s.label, strconvQuoteIfOdd(v))
		}
	}
}

func listOrNone(values []string, none string) string {
	if len(values) == 0 {
		return none
	}
	return strings.Join(values, ", ")
}

// strconvQuoteIfOdd prints a value as is, or Go-quoted when it holds
// something a terminal would not show faithfully.
func strconvQuoteIfOdd(v string) string {
	for _, r := range v {
		if !unicode.IsPrint(r) || r == '"' {
			return fmt.Sprintf("%q", v)
		}
	}
	return v
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}

// usageError prints err as one line on stderr and returns exit status 2.
func usageError(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "caddy client-certificate %s: %s\n", cmd, oneLine(err.Error()))
	return 2
}

// oneLine joins the lines of a message.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' })
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	return strings.Join(fields, "; ")
}

var errNoInput = errors.New("exactly one argument: a certificate file (PEM or DER), or - for standard input")
