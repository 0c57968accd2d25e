// values_test.go: the value parsers, table by table, and their fuzz
// targets.

package clientcertificate

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // thumbprints, as operators write them
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// Test vectors shared by the value tests. vtSHA1 and vtSHA256 are the
// digests of the same made-up certificate bytes.
var (
	vtSHA1   = sha1.Sum([]byte("values_test certificate")) //nolint:gosec // identifier
	vtSHA256 = sha256.Sum256([]byte("values_test certificate"))
	// vtSPKI has bytes whose base64 uses both '+' and '/', so the standard
	// and URL-safe alphabets differ.
	vtSPKI = [32]byte{
		0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09,
		0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0xfe, 0xfc,
	}
)

// vtColons writes hex as openssl does: upper-case byte pairs joined by ':'.
func vtColons(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// vtSpaced writes hex as the Windows certificate dialog does: lower-case
// byte pairs joined by spaces.
func vtSpaced(b []byte) string {
	return strings.ReplaceAll(vtColons(b), ":", " ")
}

// vtWantErr checks that err is not nil and mentions every one of want.
func vtWantErr(t *testing.T, what, in string, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s(%q): no error, want one mentioning %q", what, in, want)
		return
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%s(%q) error %q, want it to mention %q", what, in, err, w)
		}
	}
}

func TestParseThumbprint(t *testing.T) {
	sha1Hex := hex.EncodeToString(vtSHA1[:])
	sha256Hex := hex.EncodeToString(vtSHA256[:])
	accepted := []struct {
		name, in string
		want     []byte
	}{
		{"sha1 lower", sha1Hex, vtSHA1[:]},
		{"sha1 upper", strings.ToUpper(sha1Hex), vtSHA1[:]},
		{"sha1 colons", vtColons(vtSHA1[:]), vtSHA1[:]},
		{"sha1 spaces (Windows dialog)", strings.ToLower(vtSpaced(vtSHA1[:])), vtSHA1[:]},
		{"sha1 leading U+200E (copied from Windows)", "\u200e" + strings.ToLower(vtSpaced(vtSHA1[:])), vtSHA1[:]},
		{"sha1 leading U+200E no spaces", "\u200e" + strings.ToUpper(sha1Hex), vtSHA1[:]},
		{"sha1 U+200F and BOM", "\ufeff" + sha1Hex + "\u200f", vtSHA1[:]},
		{"sha1 tabs", strings.ReplaceAll(vtSpaced(vtSHA1[:]), " ", "\t"), vtSHA1[:]},
		{"sha1 mixed case", "3f2A9b00112233445566778899aAbBcCdDeEfF01", []byte{0x3f, 0x2a, 0x9b, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}},
		{"sha256 lower", sha256Hex, vtSHA256[:]},
		{"sha256 upper", strings.ToUpper(sha256Hex), vtSHA256[:]},
		{"sha256 colons", vtColons(vtSHA256[:]), vtSHA256[:]},
		{"sha256 spaces", vtSpaced(vtSHA256[:]), vtSHA256[:]},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseThumbprint(tc.in)
			if err != nil {
				t.Fatalf("parseThumbprint(%q): %v", tc.in, err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Errorf("parseThumbprint(%q) = %x, want %x", tc.in, got, tc.want)
			}
		})
	}

	rejected := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"40 hex digits", "64", "got 0"}},
		{"only separators", " : \u200e", []string{"40 hex digits", "got 0"}},
		{"39 digits", sha1Hex[:39], []string{"40 hex digits", "SHA-1", "SHA-256", "got 39"}},
		{"41 digits", sha1Hex + "0", []string{"40 hex digits", "got 41"}},
		{"63 digits", sha256Hex[:63], []string{"64", "got 63"}},
		{"65 digits", sha256Hex + "a", []string{"64", "got 65"}},
		{"sha-512 length", strings.Repeat("ab", 64), []string{"got 128"}},
		{"40 non-hex", strings.Repeat("g", 40), []string{"not hexadecimal", "40", "64"}},
		{"64 non-hex", strings.Repeat("z", 64), []string{"not hexadecimal"}},
		{"0x prefix", "0x" + sha1Hex[2:], []string{"not hexadecimal"}},
		{"base64", base64.StdEncoding.EncodeToString(vtSHA256[:]), []string{"64", "got 44"}},
		{"dash separators", strings.ReplaceAll(vtColons(vtSHA1[:]), ":", "-"), []string{"got 59"}},
		{"other invisible character", "\u200b" + sha1Hex, []string{"got 43"}},
		{"sha1 with dots", strings.ReplaceAll(vtColons(vtSHA1[:]), ":", "."), []string{"40 hex digits"}},
	}
	for _, tc := range rejected {
		t.Run("reject "+tc.name, func(t *testing.T) {
			got, err := parseThumbprint(tc.in)
			vtWantErr(t, "parseThumbprint", tc.in, err, tc.want...)
			if got != nil {
				t.Errorf("parseThumbprint(%q) returned %x with an error", tc.in, got)
			}
		})
	}
}

func TestDigestSet(t *testing.T) {
	var s digestSet
	if !s.empty() {
		t.Fatal("zero digestSet is not empty")
	}
	var zero1 [20]byte
	var zero32 [32]byte
	if s.contains(&vtSHA1, &vtSHA256) || s.contains(&zero1, &zero32) {
		t.Fatal("empty digestSet contains something")
	}

	if err := s.add(vtColons(vtSHA1[:])); err != nil {
		t.Fatal(err)
	}
	if s.empty() || len(s.sha1) != 1 || len(s.sha256) != 0 {
		t.Fatalf("after adding a SHA-1: %d SHA-1, %d SHA-256, empty=%v", len(s.sha1), len(s.sha256), s.empty())
	}
	other32 := sha256.Sum256([]byte("other"))
	other1 := sha1.Sum([]byte("other")) //nolint:gosec // identifier
	if !s.contains(&vtSHA1, &other32) {
		t.Error("SHA-1 entry does not match a certificate with that SHA-1")
	}
	if s.contains(&other1, &vtSHA256) {
		t.Error("SHA-1-only set matched on SHA-256")
	}

	var s256 digestSet
	if err := s256.add("\u200e" + vtSpaced(vtSHA256[:])); err != nil {
		t.Fatal(err)
	}
	if len(s256.sha1) != 0 || len(s256.sha256) != 1 {
		t.Fatalf("after adding a SHA-256: %d SHA-1, %d SHA-256", len(s256.sha1), len(s256.sha256))
	}
	if !s256.contains(&other1, &vtSHA256) {
		t.Error("SHA-256 entry does not match a certificate with that SHA-256")
	}
	if s256.contains(&vtSHA1, &other32) {
		t.Error("SHA-256-only set matched on SHA-1")
	}
	// A SHA-256 digest whose first 20 bytes are the SHA-1 must not match a
	// SHA-1 entry, and vice versa: the two kinds are kept apart.
	var prefix32 [32]byte
	copy(prefix32[:], vtSHA1[:])
	if s.contains(&other1, &prefix32) {
		t.Error("SHA-1 entry matched a SHA-256 that starts with it")
	}

	// Both kinds in one set; a bad value leaves the set unchanged.
	if err := s.add(hex.EncodeToString(vtSHA256[:])); err != nil {
		t.Fatal(err)
	}
	if err := s.add("not a thumbprint"); err == nil {
		t.Error("add accepted a bad thumbprint")
	}
	if len(s.sha1) != 1 || len(s.sha256) != 1 {
		t.Errorf("set has %d SHA-1 and %d SHA-256 entries, want 1 and 1", len(s.sha1), len(s.sha256))
	}
	if !s.contains(&vtSHA1, &other32) || !s.contains(&other1, &vtSHA256) || s.contains(&other1, &other32) {
		t.Error("mixed set does not match exactly its two digests")
	}
}

func TestParseSPKI(t *testing.T) {
	std := base64.StdEncoding.EncodeToString(vtSPKI[:])
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test vector %q should exercise the +/ alphabet", std)
	}
	golden := "OZ2D8ykuv3FqyV0D3Yd8wl6Ij5dxcF7JoOxWTJyOJPo="
	goldenBytes, err := base64.StdEncoding.DecodeString(golden)
	if err != nil || len(goldenBytes) != 32 {
		t.Fatalf("golden SPKI: %v", err)
	}
	accepted := []struct {
		name, in string
		want     [32]byte
	}{
		{"envoy example", golden, [32]byte(goldenBytes)},
		{"std with padding", std, vtSPKI},
		{"std raw", base64.RawStdEncoding.EncodeToString(vtSPKI[:]), vtSPKI},
		{"url-safe with padding", base64.URLEncoding.EncodeToString(vtSPKI[:]), vtSPKI},
		{"url-safe raw", base64.RawURLEncoding.EncodeToString(vtSPKI[:]), vtSPKI},
		{"sha256/ prefix", "sha256/" + std, vtSPKI},
		{"sha256// prefix", "sha256//" + std, vtSPKI},
		{"surrounding spaces", "  " + std + "\t", vtSPKI},
		{"hex lower", hex.EncodeToString(vtSPKI[:]), vtSPKI},
		{"hex upper", strings.ToUpper(hex.EncodeToString(vtSPKI[:])), vtSPKI},
		{"hex colons", vtColons(vtSPKI[:]), vtSPKI},
		{"hex spaces", vtSpaced(vtSPKI[:]), vtSPKI},
		{"sha256/ hex", "sha256/" + hex.EncodeToString(vtSPKI[:]), vtSPKI},
		// 64 characters that are both hex and base64 (of 48 bytes): hex wins,
		// as a 48-byte digest is not an SPKI pin anyway.
		{"hex that is also base64", strings.Repeat("A", 64), [32]byte(bytes.Repeat([]byte{0xaa}, 32))},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSPKI(tc.in)
			if err != nil {
				t.Fatalf("parseSPKI(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("parseSPKI(%q) = %x, want %x", tc.in, got, tc.want)
			}
		})
	}

	sha1b64 := base64.StdEncoding.EncodeToString(vtSHA1[:])
	rejected := []struct{ name, in string }{
		{"empty", ""},
		{"only prefix", "sha256/"},
		{"sha1 digest in base64", sha1b64},
		{"sha1 digest in hex", hex.EncodeToString(vtSHA1[:])},
		{"sha384 digest in base64", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 48))},
		{"63 hex digits", hex.EncodeToString(vtSPKI[:])[:63]},
		{"base64 missing a character", std[:42] + "="},
		{"not base64", strings.Repeat("!", 44)},
		{"64 non-hex", strings.Repeat("g", 64)},
		{"sha1/ prefix", "sha1/" + std},
	}
	for _, tc := range rejected {
		t.Run("reject "+tc.name, func(t *testing.T) {
			got, err := parseSPKI(tc.in)
			vtWantErr(t, "parseSPKI", tc.in, err, "SubjectPublicKeyInfo", "44 base64 characters", "64 hex digits")
			if got != ([32]byte{}) {
				t.Errorf("parseSPKI(%q) returned %x with an error", tc.in, got)
			}
		})
	}
}

func TestParseSerial(t *testing.T) {
	accepted := []struct{ in, want string }{
		{"0A:1B:2C", "A1B2C"},
		{"0a:1b:2c", "A1B2C"},
		{"0a1b2c", "A1B2C"},
		{"0A 1B 2C", "A1B2C"},
		{"\u200e0a 1b 2c", "A1B2C"},
		{"00:00:01", "1"},
		{"000000000000000000000000000000000000000000000001", "1"},
		{"0", "0"},
		{"00", "0"},
		{"00:00", "0"},
		{"1234", "1234"}, // looks decimal, is read as hex (0x1234)
		{"10", "10"},     // hex 0x10, not decimal ten
		{"deadBEEF", "DEADBEEF"},
		{"7F:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF:FF", "7" + strings.Repeat("F", 39)},
		// Longer than the 20 bytes X.509 allows: still accepted (up to 128
		// hex digits), since real certificates break the rule.
		{strings.Repeat("AB", 32), strings.Repeat("AB", 32)},
		{strings.Repeat("1", 128), strings.Repeat("1", 128)},
	}
	for _, tc := range accepted {
		got, err := parseSerial(tc.in)
		if err != nil {
			t.Errorf("parseSerial(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseSerial(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	rejected := []struct {
		name, in string
		want     []string
	}{
		{"empty", "", []string{"empty serial", "hex digits", "0A:1B:2C"}},
		{"only separators", " :: ", []string{"empty serial", "hex digits"}},
		{"too long", strings.Repeat("1", 129), []string{"129 hex digits", "20 bytes", "40 hex digits"}},
		{"not hex", "0G:1B", []string{"not hexadecimal", "hex digits", "0A:1B:2C", "decimal serials are not accepted"}},
		{"0x prefix", "0x1234", []string{"not hexadecimal"}},
		{"negative", "-1", []string{"not hexadecimal"}},
		{"dashes", "0A-1B-2C", []string{"not hexadecimal"}},
		{"non-ASCII digit", "١٢", []string{"not hexadecimal"}},
		{"fullwidth A", "\uff21", []string{"not hexadecimal"}},
	}
	for _, tc := range rejected {
		got, err := parseSerial(tc.in)
		vtWantErr(t, "parseSerial", tc.in, err, tc.want...)
		if got != "" {
			t.Errorf("parseSerial(%q) returned %q with an error", tc.in, got)
		}
	}
}

func TestParseCommonName(t *testing.T) {
	for in, want := range map[string]string{"station-042": "station-042", "Station  042": "station 042", " x ": "x", "*": "*", "CN=x": "cn=x"} {
		if got, err := parseCommonName(in); err != nil || got != want {
			t.Errorf("parseCommonName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", " ", "   "} {
		_, err := parseCommonName(in)
		vtWantErr(t, "parseCommonName", in, err, "empty common name", "CN of the client certificate")
	}
	// A CN holding a control character never matches, so naming one is a
	// mistake; other spaces than U+0020 are data, not folded away.
	for _, in := range []string{"\t\n", "station-042\r\n", "station-042\x00", "\v\fstation-042", "station-042\u0085"} {
		_, err := parseCommonName(in)
		vtWantErr(t, "parseCommonName", in, err, "control character", "never match")
	}
	for in, want := range map[string]string{"station-042\u00a0": "station-042\u00a0", "\u3000station-042": "\u3000station-042"} {
		if got, err := parseCommonName(in); err != nil || got != want {
			t.Errorf("parseCommonName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseIPPrefix(t *testing.T) {
	accepted := []struct{ in, want string }{
		{"10.42.0.7", "10.42.0.7/32"},
		{"2001:db8::1", "2001:db8::1/128"},
		{"2001:DB8::1", "2001:db8::1/128"},
		{"::ffff:10.42.0.7", "10.42.0.7/32"}, // v4-mapped address is compared as IPv4
		{"10.42.0.0/16", "10.42.0.0/16"},
		{"10.42.3.4/16", "10.42.0.0/16"}, // host bits are masked off
		{"0.0.0.0/0", "0.0.0.0/0"},
		{"10.0.0.1/32", "10.0.0.1/32"},
		{"2001:db8::/32", "2001:db8::/32"},
		{"2001:db8:1:2::5/64", "2001:db8:1:2::/64"},
		{"::/0", "::/0"},
		{"::ffff:10.0.0.0/104", "10.0.0.0/8"},
		{"::ffff:10.1.2.3/104", "10.0.0.0/8"},
		{"::ffff:10.1.2.3/128", "10.1.2.3/32"},
		{"::ffff:0.0.0.0/96", "0.0.0.0/0"},
		// Shorter than /96 the prefix reaches beyond the mapped range and
		// stays IPv6.
		{"::ffff:0:0/80", "::/80"},
		{"::ffff:10.0.0.0/95", "::fffe:0:0/95"},
	}
	for _, tc := range accepted {
		got, err := parseIPPrefix(tc.in)
		if err != nil {
			t.Errorf("parseIPPrefix(%q): %v", tc.in, err)
			continue
		}
		want := netip.MustParsePrefix(tc.want)
		if got != want {
			t.Errorf("parseIPPrefix(%q) = %v, want %v", tc.in, got, want)
		}
		if !got.IsValid() || got != got.Masked() {
			t.Errorf("parseIPPrefix(%q) = %v, not a valid masked prefix", tc.in, got)
		}
	}

	// Certificate IP SANs are unmapped, so a v4-mapped CIDR must match plain
	// IPv4 addresses.
	p, err := parseIPPrefix("::ffff:10.0.0.0/104")
	if err != nil {
		t.Fatal(err)
	}
	if !p.Contains(netip.MustParseAddr("10.200.1.1")) || p.Contains(netip.MustParseAddr("11.0.0.1")) {
		t.Errorf("%v: wrong containment for IPv4 addresses", p)
	}

	rejected := []string{
		"",
		"10.0.0.1/33",
		"2001:db8::/129",
		"10.0.0.1/-1",
		"10.0.0.1/",
		"/24",
		"10.0.0",
		"10.0.0.256",
		"010.0.0.1", // leading zeros are ambiguous (octal)
		"fe80::1%eth0",
		"fe80::1%eth0/64",
		"fe80::%25eth0/64",
		"10.0.0.0/8/8",
		"10.0.0.0 /8",
		" 10.0.0.1",
		"example.com",
		"10.0.0.0-10.0.0.255",
		"*",
	}
	for _, in := range rejected {
		got, err := parseIPPrefix(in)
		vtWantErr(t, "parseIPPrefix", in, err)
		if err != nil && !strings.Contains(err.Error(), "IP address or a CIDR range") && !strings.Contains(err.Error(), "zones are not allowed") {
			t.Errorf("parseIPPrefix(%q) error %q does not say what is accepted", in, err)
		}
		if got.IsValid() {
			t.Errorf("parseIPPrefix(%q) returned %v with an error", in, got)
		}
	}
}

func TestParseDNSPattern(t *testing.T) {
	accepted := []struct {
		in   string
		want dnsPattern
	}{
		{"station-042.example.com", dnsPattern{name: "station-042.example.com"}},
		{"Station-042.Example.COM", dnsPattern{name: "station-042.example.com"}},
		{"station-042.example.com.", dnsPattern{name: "station-042.example.com"}},
		{" station-042.example.com ", dnsPattern{name: "station-042.example.com"}},
		{"localhost", dnsPattern{name: "localhost"}},
		{"_service.example.com", dnsPattern{name: "_service.example.com"}},
		{"xn--bcher-kva.example", dnsPattern{name: "xn--bcher-kva.example"}},
		{"123.example.com", dnsPattern{name: "123.example.com"}},
		{"*.example.com", dnsPattern{name: ".example.com", wildcard: true}},
		{"*.Example.COM.", dnsPattern{name: ".example.com", wildcard: true}},
		{"*.com", dnsPattern{name: ".com", wildcard: true}},
		{strings.Repeat("a", 63) + ".example.com", dnsPattern{name: strings.Repeat("a", 63) + ".example.com"}},
		{vtLongName(253), dnsPattern{name: vtLongName(253)}},
	}
	for _, tc := range accepted {
		got, err := parseDNSPattern(tc.in)
		if err != nil {
			t.Errorf("parseDNSPattern(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseDNSPattern(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}

	rejected := []struct{ in, want string }{
		{"", "want a DNS name"},
		{".", "want a DNS name"},
		{"*.", "not allowed"},
		{"*", "not allowed"},
		{"*example.com", "not allowed"},
		{"**.example.com", "not allowed"},
		{"a.*.example.com", "not allowed"},
		{"*.*.example.com", "not allowed"},
		{"station*.example.com", "not allowed"},
		{"example..com", "empty or over-long label"},
		{".example.com", "empty or over-long label"},
		{"example.com..", "empty or over-long label"},
		{strings.Repeat("a", 64) + ".example.com", "empty or over-long label"},
		{vtLongName(254), "want a DNS name"},
		{"exa mple.com", "not allowed"},
		{"example.com/path", "not allowed"},
		{"https://example.com", "not allowed"},
		{"user@example.com", "not allowed"},
		{"bücher.example", "not allowed"},
		{"10.0.0.1:443", "not allowed"},
	}
	for _, tc := range rejected {
		got, err := parseDNSPattern(tc.in)
		vtWantErr(t, "parseDNSPattern", tc.in, err, tc.want)
		if err != nil && !strings.Contains(err.Error(), "want") {
			t.Errorf("parseDNSPattern(%q) error %q does not say what is accepted", tc.in, err)
		}
		if got != (dnsPattern{}) {
			t.Errorf("parseDNSPattern(%q) returned %+v with an error", tc.in, got)
		}
	}
}

// vtLongName returns a DNS name of exactly n bytes made of 63-byte labels.
func vtLongName(n int) string {
	var labels []string
	for n > 0 {
		l := min(n, 63)
		if n-l == 1 { // avoid a trailing one-byte remainder that needs a dot
			l--
		}
		labels = append(labels, strings.Repeat("a", l))
		n -= l + 1
	}
	s := strings.Join(labels, ".")
	return s
}

func TestValuesLongNameHelper(t *testing.T) {
	for _, n := range []int{1, 63, 64, 65, 200, 253, 254} {
		if s := vtLongName(n); len(s) != n || strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
			t.Errorf("vtLongName(%d) = %q (%d bytes)", n, s, len(s))
		}
	}
}

func TestDNSPatternMatch(t *testing.T) {
	tests := []struct {
		pattern string
		san     string // as written in the certificate; normalised before matching
		want    bool
	}{
		{"station-042.example.com", "station-042.example.com", true},
		{"station-042.example.com", "STATION-042.Example.com", true},
		{"station-042.example.com", "station-042.example.com.", true},
		{"Station-042.example.com.", "station-042.example.com", true},
		{"station-042.example.com", "station-043.example.com", false},
		{"station-042.example.com", "x.station-042.example.com", false},
		{"station-042.example.com", "example.com", false},
		{"station-042.example.com", "", false},

		{"*.example.com", "a.example.com", true},
		{"*.example.com", "A.EXAMPLE.COM.", true},
		{"*.example.com", "station-042.example.com", true},
		{"*.example.com", "*.example.com", true}, // a wildcard SAN literally
		{"*.example.com", "*.EXAMPLE.com", true},
		{"*.example.com", "a.b.example.com", false},
		{"*.example.com", "*.b.example.com", false},
		{"*.example.com", "example.com", false},
		{"*.example.com", ".example.com", false},
		{"*.example.com", "aexample.com", false},
		{"*.example.com", "a.example.com.evil", false},
		{"*.example.com", "a.example.org", false},
		{"*.example.com", "", false},
		{"*.example.com", "*", false},
		{"*.example.com", "a.", false},
		{"*.com", "example.com", true},
		{"*.com", "a.example.com", false},

		// The label a wildcard stands for holds letters, digits and
		// hyphens only.
		{"*.example.com", "a-1.example.com", true},
		{"*.example.com", "a\x00.example.com", false},
		{"*.example.com", "a\x00b.example.com", false},
		{"*.example.com", "a b.example.com", false},
		{"*.example.com", "_a.example.com", false},
		{"*.example.com", "\u00e9.example.com", false},
		{"*.example.com", "a/b.example.com", false},
	}
	for _, tc := range tests {
		p, err := parseDNSPattern(tc.pattern)
		if err != nil {
			t.Fatalf("parseDNSPattern(%q): %v", tc.pattern, err)
		}
		if got := p.match(normalizeDNSName(tc.san)); got != tc.want {
			t.Errorf("pattern %q match SAN %q = %v, want %v", tc.pattern, tc.san, got, tc.want)
		}
	}
}

func TestNormalizeDNSName(t *testing.T) {
	for in, want := range map[string]string{
		"Example.COM.":  "example.com",
		"example.com":   "example.com",
		"*.Example.com": "*.example.com",
		"":              "",
		".":             "",
	} {
		if got := normalizeDNSName(in); got != want {
			t.Errorf("normalizeDNSName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseEmail(t *testing.T) {
	accepted := []struct{ in, want string }{
		{"station-042@example.com", "station-042@example.com"},
		{"station-042@Example.COM", "station-042@example.com"},
		{"Station-042@EXAMPLE.com", "Station-042@example.com"}, // local part keeps its case
		{"First.Last+tag@Sub.Example.com", "First.Last+tag@sub.example.com"},
		{"a@b", "a@b"},
	}
	for _, tc := range accepted {
		got, err := parseEmail(tc.in)
		if err != nil {
			t.Errorf("parseEmail(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseEmail(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	rejected := []string{
		"",
		"station-042",
		"@example.com",
		"station-042@",
		"@",
		"a@b@example.com",
		"station 042@example.com",
		"station-042@example.com ",
		" station-042@example.com",
		"station-042@exa\tmple.com",
	}
	for _, in := range rejected {
		got, err := parseEmail(in)
		vtWantErr(t, "parseEmail", in, err, "want an e-mail address", "station-042@example.com")
		if got != "" {
			t.Errorf("parseEmail(%q) returned %q with an error", in, got)
		}
	}

	// The certificate side folds the domain the same way, so a pattern and a
	// SAN differing only in domain case compare equal, and in local-part
	// case do not.
	pat, _ := parseEmail("Station-042@Example.com")
	if normalizeEmail("Station-042@EXAMPLE.COM") != pat {
		t.Errorf("domain case: %q != %q", normalizeEmail("Station-042@EXAMPLE.COM"), pat)
	}
	if normalizeEmail("station-042@example.com") == pat {
		t.Errorf("local part case folded: %q", pat)
	}
}

func TestNormalizeEmail(t *testing.T) {
	for in, want := range map[string]string{
		"User@Example.COM":   "User@example.com",
		"no-at-sign":         "no-at-sign",
		`"a@b"@Example.COM`:  `"a@b"@example.com`, // last '@' starts the domain
		"UPPER@":             "UPPER@",
		"@Example.Com":       "@example.com",
		"Mixed.Case@sub.COM": "Mixed.Case@sub.com",
	} {
		if got := normalizeEmail(in); got != want {
			t.Errorf("normalizeEmail(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseURIPattern(t *testing.T) {
	accepted := []struct {
		in   string
		want uriPattern
	}{
		{"spiffe://td/ns/prod/sa/api", uriPattern{uri: "spiffe://td/ns/prod/sa/api"}},
		{"spiffe://td/ns/prod/*", uriPattern{uri: "spiffe://td/ns/prod/", prefix: true}},
		{"spiffe://td/*", uriPattern{uri: "spiffe://td/", prefix: true}},
		{"spiffe://td/ns/prod/", uriPattern{uri: "spiffe://td/ns/prod/"}},
		{"https://example.com/devices/42?x=1", uriPattern{uri: "https://example.com/devices/42?x=1"}},
		{"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", uriPattern{uri: "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66"}},
		{"spiffe://td/ns/*/sa", uriPattern{uri: "spiffe://td/ns/*/sa"}}, // '*' inside is literal
	}
	for _, tc := range accepted {
		got, err := parseURIPattern(tc.in)
		if err != nil {
			t.Errorf("parseURIPattern(%q): %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("parseURIPattern(%q) = %+v, want %+v", tc.in, got, tc.want)
		}
	}

	rejected := []string{
		"",
		"*",
		"/*",
		"/ns/prod/sa/api",
		"ns/prod/*",
		"//td/ns/prod",
		"td/ns/prod",
		"spiffe://td/ns prod",
		"spiffe://td/ns\tprod",
		" spiffe://td/ns/prod",
		"://td/ns",
		"spiffe://td/%zz",
		"spiffe://[::1/x",
	}
	for _, in := range rejected {
		got, err := parseURIPattern(in)
		vtWantErr(t, "parseURIPattern", in, err, "want an absolute URI", "spiffe://", "/*")
		if got != (uriPattern{}) {
			t.Errorf("parseURIPattern(%q) returned %+v with an error", in, got)
		}
	}
}

func TestURIPatternMatch(t *testing.T) {
	tests := []struct {
		pattern, san string
		want         bool
	}{
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x", true},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x/y", true},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/sa/api", true},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/production", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/production/x", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/", false},
		{"spiffe://td/ns/prod/*", "spiffe://other/ns/prod/x", false},
		{"spiffe://td/ns/prod/*", "", false},
		{"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/sa/api", true},
		{"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/sa/api/", false},
		{"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/sa/ap", false},
		{"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/sa/api2", false},
		{"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/sa/API", false},
		{"spiffe://td/ns/prod/", "spiffe://td/ns/prod/", true}, // without '*' it is exact
		{"spiffe://td/ns/prod/", "spiffe://td/ns/prod/x", false},
		{"spiffe://td/ns/*/sa", "spiffe://td/ns/prod/sa", false},
		{"spiffe://td/ns/*/sa", "spiffe://td/ns/*/sa", true},

		// A prefix takes plain segments only (SPIFFE's rules): no dot
		// segments, percent-encoding, empty segments, query or fragment.
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/sa-1_x.y~z/API", true},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/../admin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/./admin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/..%2fadmin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/..%2Fadmin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/%2e%2e%2fadmin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/..%5cadmin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod//admin", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x/", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x?q=1", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x#frag", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/%00", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/a%20b", false},
		{"spiffe://td/ns/prod/*", "spiffe://td/ns/prod/x;y", false},
	}
	for _, tc := range tests {
		p, err := parseURIPattern(tc.pattern)
		if err != nil {
			t.Fatalf("parseURIPattern(%q): %v", tc.pattern, err)
		}
		if got := p.match(certificateURI(t, tc.san)); got != tc.want {
			t.Errorf("pattern %q match SAN %q = %v, want %v", tc.pattern, tc.san, got, tc.want)
		}
	}
}

// certificateURI is what a URI SAN becomes in a certificate's facts:
// crypto/x509 parses it with url.Parse, and facts keep its String().
func certificateURI(t *testing.T, san string) string {
	t.Helper()
	if san == "" {
		return ""
	}
	u, err := url.Parse(san)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", san, err)
	}
	return u.String()
}

// TestValuesRegressions pins bugs found by review and fuzzing.
func TestValuesRegressions(t *testing.T) {
	t.Run("uri pattern with upper-case scheme never matches", func(t *testing.T) {
		// crypto/x509 parses URI SANs with url.Parse, which lower-cases the
		// scheme, and contentFacts keeps u.String(). A pattern must either be
		// put in that same form or be rejected.
		p, err := parseURIPattern("SPIFFE://td/ns/prod/sa/api")
		if err != nil {
			return // rejecting it would be fine too
		}
		u, _ := url.Parse("SPIFFE://td/ns/prod/sa/api")
		if !p.match(u.String()) {
			t.Errorf("pattern %+v does not match the certificate form %q", p, u.String())
		}
	})
	t.Run("sha256/ spki pin whose base64 starts with a slash", func(t *testing.T) {
		// Found by FuzzParseSPKI. One digest in 64 encodes with a leading
		// '/'; written with OkHttp's "sha256/" prefix it starts "sha256//".
		d := [32]byte{0xfc}
		in := "sha256/" + base64.StdEncoding.EncodeToString(d[:])
		if in != "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" {
			t.Fatalf("test vector %q", in)
		}
		got, err := parseSPKI(in)
		if err != nil || got != d {
			t.Errorf("parseSPKI(%q) = %x, %v; want %x", in, got, err, d)
		}
	})
	t.Run("dns pattern folds non-ASCII into ASCII", func(t *testing.T) {
		if p, err := parseDNSPattern("\u212aelvin.example.com"); err == nil {
			t.Errorf("parseDNSPattern accepted a non-ASCII name as %+v", p)
		}
	})
}

// --- fuzz targets ---

func FuzzParseThumbprint(f *testing.F) {
	for _, s := range []string{
		hex.EncodeToString(vtSHA1[:]),
		vtColons(vtSHA1[:]),
		"\u200e" + vtSpaced(vtSHA1[:]),
		hex.EncodeToString(vtSHA256[:]),
		vtColons(vtSHA256[:]),
		"", ":", "\u200e", strings.Repeat("g", 40), strings.Repeat("é", 20),
		"3F:2A:9B:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		b, err := parseThumbprint(in)
		if err != nil {
			if b != nil {
				t.Fatalf("parseThumbprint(%q) returned %x with error %v", in, b, err)
			}
			return
		}
		if len(b) != 20 && len(b) != 32 {
			t.Fatalf("parseThumbprint(%q) = %d bytes", in, len(b))
		}
		for _, again := range []string{hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)), vtColons(b)} {
			b2, err := parseThumbprint(again)
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("parseThumbprint(%q) = %x, but reparsing %q gives %x, %v", in, b, again, b2, err)
			}
		}
		var s digestSet
		if err := s.add(in); err != nil {
			t.Fatalf("digestSet.add(%q): %v after parseThumbprint accepted it", in, err)
		}
		var d1 [20]byte
		var d32 [32]byte
		if len(b) == 20 {
			copy(d1[:], b)
		} else {
			copy(d32[:], b)
		}
		if !s.contains(&d1, &d32) {
			t.Fatalf("digestSet with %q does not contain %x", in, b)
		}
	})
}

func FuzzParseSPKI(f *testing.F) {
	for _, s := range []string{
		"OZ2D8ykuv3FqyV0D3Yd8wl6Ij5dxcF7JoOxWTJyOJPo=",
		base64.StdEncoding.EncodeToString(vtSPKI[:]),
		base64.RawURLEncoding.EncodeToString(vtSPKI[:]),
		"sha256/" + base64.StdEncoding.EncodeToString(vtSPKI[:]),
		"sha256//" + base64.RawStdEncoding.EncodeToString(vtSPKI[:]),
		hex.EncodeToString(vtSPKI[:]),
		vtColons(vtSPKI[:]),
		"", "sha256/", "=", strings.Repeat("A", 44), strings.Repeat("A", 43) + "\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		d, err := parseSPKI(in)
		if err != nil {
			if d != ([32]byte{}) {
				t.Fatalf("parseSPKI(%q) returned %x with error %v", in, d, err)
			}
			return
		}
		std := base64.StdEncoding.EncodeToString(d[:])
		forms := []string{
			std,
			base64.RawURLEncoding.EncodeToString(d[:]),
			"sha256//" + std, // curl's --pinnedpubkey form
			hex.EncodeToString(d[:]),
			vtColons(d[:]),
		}
		// OkHttp's "sha256/" form, also when the base64 starts with '/'
		// (see TestValuesRegressions).
		forms = append(forms, "sha256/"+std)
		for _, again := range forms {
			d2, err := parseSPKI(again)
			if err != nil || d2 != d {
				t.Fatalf("parseSPKI(%q) = %x, but reparsing %q gives %x, %v", in, d, again, d2, err)
			}
		}
	})
}

func FuzzParseSerial(f *testing.F) {
	for _, s := range []string{
		"0A:1B:2C", "0a1b2c", "00:00:01", "0", "00", "1234", "\u200e0a 1b",
		strings.Repeat("F", 40), strings.Repeat("1", 128), strings.Repeat("1", 129),
		"", " ", "0x10", "-1", "g", "ı", "ſ", "\u212a",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := parseSerial(in)
		if err != nil {
			if s != "" {
				t.Fatalf("parseSerial(%q) returned %q with error %v", in, s, err)
			}
			return
		}
		if s == "" {
			t.Fatalf("parseSerial(%q) = empty string", in)
		}
		for _, r := range s {
			if !(r >= '0' && r <= '9' || r >= 'A' && r <= 'F') {
				t.Fatalf("parseSerial(%q) = %q: not upper-case hex", in, s)
			}
		}
		if s != "0" && s[0] == '0' {
			t.Fatalf("parseSerial(%q) = %q: leading zero", in, s)
		}
		again, err := parseSerial(s)
		if err != nil || again != s {
			t.Fatalf("parseSerial(%q) = %q, but parseSerial(%q) = %q, %v", in, s, s, again, err)
		}
		if lower, err := parseSerial(strings.ToLower(s)); err != nil || lower != s {
			t.Fatalf("parseSerial(%q) = %q, %v; want %q", strings.ToLower(s), lower, err, s)
		}
	})
}

func FuzzParseIPPrefix(f *testing.F) {
	for _, s := range []string{
		"10.42.0.7", "2001:db8::1", "::ffff:10.42.0.7", "10.42.0.0/16", "10.42.3.4/16",
		"2001:db8::/32", "::ffff:10.0.0.0/104", "::ffff:0:0/80", "::ffff:1.2.3.4/95",
		"fe80::1%eth0", "fe80::1%eth0/64", "10.0.0.1/33", "", "/", "::/0", "0.0.0.0/0",
		"::ffff:10.0.0.0/96", "1.2.3.4/032",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parseIPPrefix(in)
		if err != nil {
			if p.IsValid() {
				t.Fatalf("parseIPPrefix(%q) returned %v with error %v", in, p, err)
			}
			return
		}
		if !p.IsValid() {
			t.Fatalf("parseIPPrefix(%q) = invalid prefix %v", in, p)
		}
		if p != p.Masked() {
			t.Fatalf("parseIPPrefix(%q) = %v, not masked (%v)", in, p, p.Masked())
		}
		if p.Addr().Zone() != "" {
			t.Fatalf("parseIPPrefix(%q) = %v has a zone", in, p)
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			t.Fatalf("parseIPPrefix(%q) = %v: a v4-mapped prefix that should be IPv4", in, p)
		}
		again, err := parseIPPrefix(p.String())
		if err != nil || again != p {
			t.Fatalf("parseIPPrefix(%q) = %v, but reparsing gives %v, %v", in, p, again, err)
		}
	})
}

func FuzzParseDNSPattern(f *testing.F) {
	for _, s := range []string{
		"station-042.example.com", "Station-042.Example.COM.", "*.example.com", "*.Example.COM.",
		"*", "*.", ".", "", "a..b", "*.*.example.com", "bücher.example", "_srv.example.com",
		vtLongName(253), "*." + vtLongName(251), "\u212aelvin.example", " a.b ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parseDNSPattern(in)
		if err != nil {
			if p != (dnsPattern{}) {
				t.Fatalf("parseDNSPattern(%q) returned %+v with error %v", in, p, err)
			}
			return
		}
		if p.name == "" || strings.HasSuffix(p.name, ".") || p.name != strings.ToLower(p.name) {
			t.Fatalf("parseDNSPattern(%q) = %+v: name not normalised", in, p)
		}
		for _, r := range p.name {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				t.Fatalf("parseDNSPattern(%q) = %+v: name has %q", in, p, r)
			}
		}
		written := p.name
		if p.wildcard {
			written = "*" + p.name
			if p.name[0] != '.' {
				t.Fatalf("parseDNSPattern(%q) = %+v: wildcard name must start with '.'", in, p)
			}
			if !p.match("x"+p.name) || !p.match(written) {
				t.Fatalf("wildcard %+v does not match x%s or %s", p, p.name, written)
			}
			if p.match(p.name[1:]) || p.match("x.y"+p.name) {
				t.Fatalf("wildcard %+v matches its bare suffix or two labels", p)
			}
		} else if !p.match(p.name) || !p.match(normalizeDNSName(strings.ToUpper(p.name)+".")) {
			t.Fatalf("exact %+v does not match its own name", p)
		}
		again, err := parseDNSPattern(written)
		if err != nil || again != p {
			t.Fatalf("parseDNSPattern(%q) = %+v, but reparsing %q gives %+v, %v", in, p, written, again, err)
		}
	})
}

func FuzzParseURIPattern(f *testing.F) {
	for _, s := range []string{
		"spiffe://td/ns/prod/sa/api", "spiffe://td/ns/prod/*", "spiffe://td/*", "/*", "*",
		"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", "/ns/prod", "spiffe://td/ns prod",
		"https://example.com/x?y#z", "a:/*", "spiffe://[::1]/*", "", "%", "a:%zz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p, err := parseURIPattern(in)
		if err != nil {
			if p != (uriPattern{}) {
				t.Fatalf("parseURIPattern(%q) returned %+v with error %v", in, p, err)
			}
			return
		}
		written := p.uri
		if p.prefix {
			written += "*"
			if !strings.HasSuffix(p.uri, "/") {
				t.Fatalf("parseURIPattern(%q) = %+v: prefix not ending in '/'", in, p)
			}
			if p.match(p.uri) || !p.match(p.uri+"x") || !p.match(p.uri+"x/y") {
				t.Fatalf("prefix %+v: wrong match of %q / %q", p, p.uri, p.uri+"x")
			}
			if p.match(strings.TrimSuffix(p.uri, "/")) {
				t.Fatalf("prefix %+v matches its parent", p)
			}
		} else {
			// Patterns are kept in the form certificate SANs take:
			// url.Parse, then String() (the scheme lower-cased).
			u, _ := url.Parse(in)
			if p.uri != u.String() || !p.match(u.String()) {
				t.Fatalf("exact %+v does not match its input %q in certificate form %q", p, in, u.String())
			}
			if p.match(p.uri+"x") || p.match(p.uri+"/") {
				t.Fatalf("exact %+v matches longer strings", p)
			}
		}
		again, err := parseURIPattern(written)
		if err != nil || again != p {
			t.Fatalf("parseURIPattern(%q) = %+v, but reparsing %q gives %+v, %v", in, p, written, again, err)
		}
	})
}

func TestURIPrefixRejectsDotSegments(t *testing.T) {
	p, err := parseURIPattern("spiffe://td/ns/prod/*")
	if err != nil {
		t.Fatal(err)
	}
	for san, want := range map[string]bool{
		"spiffe://td/ns/prod/api":          true,
		"spiffe://td/ns/prod/a/b":          true,
		"spiffe://td/ns/prod/../admin":     false,
		"spiffe://td/ns/prod/./api":        false,
		"spiffe://td/ns/prod/%2e%2E/admin": false,
		"spiffe://td/ns/prod/a/..":         false,
		"spiffe://td/ns/prod/..a":          true,
	} {
		if got := p.match(san); got != want {
			t.Errorf("match(%q) = %v, want %v", san, got, want)
		}
	}
}

// add parses one thumbprint and adds it to the set, as compile does.
func (s *digestSet) add(value string) error {
	b, err := parseThumbprint(value)
	if err != nil {
		return err
	}
	s.insert(b)
	return nil
}
