// caddyfile_test.go: the Caddyfile block (valid forms, every error with its
// line), JSON paths of compile errors, and FuzzUnmarshalCaddyfile.

package clientcertificate

import (
	"encoding/json"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/caddytls" // tls.ca_pool.source.* for trust_pool
)

// Values used by the Caddyfile tests.
const (
	cfSHA1   = "3F:2A:9B:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:01"
	cfSHA256 = "8d3c9e2f6b1a4d5e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6"
	cfSPKI   = "OZ2D8ykuv3FqyV0D3Yd8wl6Ij5dxcF7JoOxWTJyOJPo="
	cfDER    = "MIIBszCCAVmgAwIBAgIUWz" // trust_der is not decoded until Provision
)

// cfModules are the three modules sharing Policy.unmarshalCaddyfile; each
// parses the input and returns its policy.
var cfModules = []struct {
	name  string
	parse func(input string) (Policy, error)
}{
	{"handler", func(in string) (Policy, error) {
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in))
		return h.Policy, err
	}},
	{"matcher", func(in string) (Policy, error) {
		var m Matcher
		err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in))
		return m.Policy, err
	}},
	{"verifier", func(in string) (Policy, error) {
		var v Verifier
		err := v.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in))
		return v.Policy, err
	}},
}

// cfJSON renders a policy as a generic JSON value, so that TrustPoolRaw is
// compared by content rather than by byte layout.
func cfJSON(t *testing.T, p *Policy) any {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshalling policy: %v", err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshalling policy: %v", err)
	}
	return v
}

func TestUnmarshalCaddyfileValid(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  Policy
	}{
		{
			name:  "no block",
			input: `client_certificate`,
		},
		{
			name:  "empty block",
			input: "client_certificate {\n}",
		},
		{
			name: "every condition and option",
			input: `client_certificate {
	thumbprint ` + cfSHA1 + ` ` + cfSHA256 + `
	spki ` + cfSPKI + ` sha256/` + cfSPKI + `
	subject "CN=station-042, OU=Stations, O=Contoso Weather, C=US"
	issuer "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US" /C=US/O=Contoso/CN=Root
	common_name station-042 "Station 043"
	dns_name *.stations.example.com Station-044.Example.com.
	email station-042@Example.com
	uri spiffe://td/ns/prod/* spiffe://td/ns/dev/sa/api
	ip 10.42.0.0/16 2001:db8::1 ::ffff:10.0.0.0/104
	serial 0A:1B:2C 1234
	issuer_thumbprint ` + cfSHA256 + `
	require_unexpired
	allow_unverified
	verify_cache_size 10
}`,
			want: Policy{
				RequireUnexpired: true,
				AllowUnverified:  true,
				VerifyCacheSize:  10,
				Conditions: Conditions{
					Thumbprint:       []string{cfSHA1, cfSHA256},
					SPKI:             []string{cfSPKI, "sha256/" + cfSPKI},
					Subject:          []string{"CN=station-042, OU=Stations, O=Contoso Weather, C=US"},
					Issuer:           []string{"CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US", "/C=US/O=Contoso/CN=Root"},
					CommonName:       []string{"station-042", "Station 043"},
					DNSName:          []string{"*.stations.example.com", "Station-044.Example.com."},
					Email:            []string{"station-042@Example.com"},
					URI:              []string{"spiffe://td/ns/prod/*", "spiffe://td/ns/dev/sa/api"},
					IP:               []string{"10.42.0.0/16", "2001:db8::1", "::ffff:10.0.0.0/104"},
					Serial:           []string{"0A:1B:2C", "1234"},
					IssuerThumbprint: []string{cfSHA256},
				},
			},
		},
		{
			name: "condition repeated appends",
			input: `client_certificate {
	common_name a
	common_name b c
	ip 10.0.0.1
}`,
			want: Policy{Conditions: Conditions{CommonName: []string{"a", "b", "c"}, IP: []string{"10.0.0.1"}}},
		},
		{
			name: "identities named and unnamed",
			input: `client_certificate {
	require_unexpired
	issuer "CN=Contoso Weather Issuing CA"
	identity station-042 {
		common_name station-042
		dns_name station-042.example.com
	}
	identity {
		thumbprint ` + cfSHA1 + `
	}
	identity "ops team" {
		email ops@example.com
		uri spiffe://td/ops/*
		subject "CN=ops, O=Contoso"
		ip 192.0.2.0/24
	}
	identity station-043 {
		serial 01 02
		spki ` + cfSPKI + `
		issuer_thumbprint ` + cfSHA256 + `
		issuer "CN=Other CA"
	}
	identity {
		common_name anonymous
	}
}`,
			want: Policy{
				RequireUnexpired: true,
				Conditions:       Conditions{Issuer: []string{"CN=Contoso Weather Issuing CA"}},
				Identities: []Identity{
					{Name: "station-042", Conditions: Conditions{CommonName: []string{"station-042"}, DNSName: []string{"station-042.example.com"}}},
					{Conditions: Conditions{Thumbprint: []string{cfSHA1}}},
					{Name: "ops team", Conditions: Conditions{
						Email: []string{"ops@example.com"}, URI: []string{"spiffe://td/ops/*"},
						Subject: []string{"CN=ops, O=Contoso"}, IP: []string{"192.0.2.0/24"},
					}},
					{Name: "station-043", Conditions: Conditions{
						Serial: []string{"01", "02"}, SPKI: []string{cfSPKI},
						IssuerThumbprint: []string{cfSHA256}, Issuer: []string{"CN=Other CA"},
					}},
					{Conditions: Conditions{CommonName: []string{"anonymous"}}},
				},
			},
		},
		{
			name: "trust_pool inline",
			input: `client_certificate {
	trust_pool inline {
		trust_der ` + cfDER + `
	}
	subject "CN=station-042"
}`,
			want: Policy{
				TrustPoolRaw: json.RawMessage(`{"provider":"inline","trusted_ca_certs":["` + cfDER + `"]}`),
				Conditions:   Conditions{Subject: []string{"CN=station-042"}},
			},
		},
		{
			name: "trust_pool file",
			input: `client_certificate {
	trust_pool file /etc/caddy/partner-ca.pem /etc/caddy/other-ca.pem
	common_name station-042
}`,
			want: Policy{
				TrustPoolRaw: json.RawMessage(`{"provider":"file","pem_files":["/etc/caddy/partner-ca.pem","/etc/caddy/other-ca.pem"]}`),
				Conditions:   Conditions{CommonName: []string{"station-042"}},
			},
		},
		{
			name:  "verify_cache_size with plus sign",
			input: "client_certificate {\n\tverify_cache_size +4096\n}",
			want:  Policy{VerifyCacheSize: 4096},
		},
	}
	for _, tc := range tests {
		for _, mod := range cfModules {
			t.Run(tc.name+"/"+mod.name, func(t *testing.T) {
				got, err := mod.parse(tc.input)
				if err != nil {
					t.Fatalf("UnmarshalCaddyfile:\n%s\nerror: %v", tc.input, err)
				}
				if gj, wj := cfJSON(t, &got), cfJSON(t, &tc.want); !reflect.DeepEqual(gj, wj) {
					t.Errorf("policy\n got %v\nwant %v", gj, wj)
				}
				gotCopy, wantCopy := got, tc.want
				gotCopy.TrustPoolRaw, wantCopy.TrustPoolRaw = nil, nil
				if !reflect.DeepEqual(gotCopy, wantCopy) {
					t.Errorf("policy struct\n got %+v\nwant %+v", gotCopy, wantCopy)
				}
				// Every value the Caddyfile accepts must compile.
				if err := gotCopy.compile(); err != nil {
					t.Errorf("compile after UnmarshalCaddyfile: %v", err)
				}
				// And so must the JSON the adapter would emit.
				cfCheckJSONRoundTrip(t, &got)
			})
		}
	}
}

// TestUnmarshalCaddyfileRegressions pins Caddyfile bugs found by review.
func TestUnmarshalCaddyfileRegressions(t *testing.T) {
	t.Run("quoted empty identity name after an unnamed identity", func(t *testing.T) {
		// compile() treats Name "" as unnamed and allows any number of them.
		in := "client_certificate {\n\tidentity {\n\t\tcommon_name a\n\t}\n\tidentity \"\" {\n\t\tcommon_name b\n\t}\n}"
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err != nil {
			t.Errorf("UnmarshalCaddyfile: %v", err)
		}
	})
}

// cfCheckJSONRoundTrip encodes p as the Caddyfile adapter would, decodes it
// into a Handler as Caddy does when loading the config, and compiles it.
func cfCheckJSONRoundTrip(t testing.TB, p *Policy) {
	t.Helper()
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("marshalling policy: %v", err)
	}
	var h Handler
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("unmarshalling %s: %v", b, err)
	}
	h.TrustPoolRaw = nil
	if err := h.compile(); err != nil {
		t.Fatalf("compile of the adapted JSON %s: %v", b, err)
	}
}

func TestUnmarshalCaddyfileErrors(t *testing.T) {
	block := func(lines ...string) string {
		return "client_certificate {\n\t" + strings.Join(lines, "\n\t") + "\n}"
	}
	// What users read in the messages, in this order.
	const allConditionNames = "thumbprint, spki, subject, issuer, common_name, dns_name, email, uri, ip, serial, issuer_thumbprint"
	tests := []struct {
		name  string
		input string
		line  int
		want  []string
	}{
		{"argument on directive line", "client_certificate /api/* {\n\tcommon_name x\n}", 1,
			[]string{"unexpected argument '/api/*'", "in a block"}},
		{"argument without block", "client_certificate " + cfSHA1, 1,
			[]string{"unexpected argument '" + cfSHA1 + "'"}},
		{"unknown subdirective", block("common_name x", "thumbprints "+cfSHA1), 3,
			[]string{"unrecognized subdirective 'thumbprints'", "trust_pool", "identity", allConditionNames}},
		{"condition without value", block("subject"), 2, []string{"subject needs at least one value"}},
		{"condition followed by a block", block("common_name {", "x", "}"), 2, []string{"common_name needs at least one value"}},

		{"bad thumbprint", block("thumbprint 3F2A9B"), 2, []string{"thumbprint '3F2A9B'", "40 hex digits", "got 6"}},
		{"thumbprint not hex", block("thumbprint ZZ2A9B00112233445566778899AABBCCDDEEFF01"), 2,
			[]string{"thumbprint 'ZZ2A9B00112233445566778899AABBCCDDEEFF01'", "not hexadecimal"}},
		{"bad spki", block("spki not-a-digest"), 2, []string{"spki 'not-a-digest'", "44 base64 characters", "64 hex digits"}},
		{"bad subject", block(`subject "FOO=bar"`), 2, []string{"subject 'FOO=bar'", "unknown attribute type"}},
		{"unquoted subject", block("subject CN=station-042, O=Contoso Weather"), 2,
			[]string{"subject 'CN=station-042,'", "empty RDN", `quote a DN that contains spaces`}},
		{"bad issuer", block(`issuer "CN=a,,O=b"`), 2, []string{"issuer 'CN=a,,O=b'", "empty RDN"}},
		{"empty common name", block(`common_name ""`), 2, []string{"common_name ''", "empty common name"}},
		{"bad dns name", block("dns_name station.*.example.com"), 2,
			[]string{"dns_name 'station.*.example.com'", "'*' not allowed"}},
		{"bad email", block("email station-042"), 2, []string{"email 'station-042'", "want an e-mail address"}},
		{"relative uri", block("uri /stations/042"), 2, []string{"uri '/stations/042'", "want an absolute URI"}},
		{"bad cidr", block("ip 10.42.0.0/33"), 2, []string{"ip '10.42.0.0/33'", "IP address or a CIDR range"}},
		{"bad second value", block("ip 10.0.0.1 fe80::1%eth0"), 2, []string{"ip 'fe80::1%eth0'"}},
		{"bad serial", block("serial 12345G"), 2, []string{"serial '12345G'", "not hexadecimal", "decimal serials are not accepted"}},
		{"bad issuer_thumbprint", block("issuer_thumbprint 1234"), 2, []string{"issuer_thumbprint '1234'", "got 4"}},

		{"require_unexpired with argument", block("require_unexpired yes"), 2,
			[]string{"wrong argument count", "after 'yes'"}},
		{"allow_unverified with argument", block("allow_unverified true"), 2,
			[]string{"wrong argument count", "after 'true'"}},
		{"verify_cache_size 0", block("verify_cache_size 0"), 2, []string{"verify_cache_size '0'", "positive number"}},
		{"verify_cache_size abc", block("verify_cache_size abc"), 2, []string{"verify_cache_size 'abc'", "positive number"}},
		{"verify_cache_size negative", block("verify_cache_size -5"), 2, []string{"verify_cache_size '-5'"}},
		{"verify_cache_size missing", block("verify_cache_size"), 2, []string{"wrong argument count", "after 'verify_cache_size'"}},
		{"verify_cache_size two values", block("verify_cache_size 10 20"), 2, []string{"wrong argument count", "after '20'"}},

		{"trust_pool given twice", block("trust_pool inline {", "\ttrust_der "+cfDER, "}", "trust_pool file /etc/ca.pem"), 5,
			[]string{"trust_pool given twice"}},
		{"trust_pool without module", block("trust_pool"), 2, []string{"wrong argument count", "after 'trust_pool'"}},
		{"trust_pool unknown module", block("trust_pool nope"), 2, []string{"tls.ca_pool.source.nope"}},
		{"trust_pool inline without certificates", block("trust_pool inline {", "}"), 2, []string{"no certificates specified"}},
		{"trust_pool inline unknown directive", block("trust_pool inline {", "\ttrust_pem x", "}"), 3,
			[]string{"unrecognized directive: trust_pem"}},

		{"empty identity", block("identity station {", "}"), 3,
			[]string{"identity 'station' has no conditions", allConditionNames}},
		{"identity without block", block("identity station", "common_name x"), 2,
			[]string{"identity 'station' has no conditions"}},
		{"empty unnamed identity", block("identity {", "}"), 3, []string{"identity '' has no conditions"}},
		{"identity with two names", block("identity a b {", "\tcommon_name x", "}"), 2,
			[]string{"at most one name", "got 2"}},
		{"duplicate identity name", block("identity station {", "\tcommon_name a", "}", "identity station {", "\tcommon_name b", "}"), 5,
			[]string{"duplicate identity name 'station'", "unique"}},
		{"unknown subdirective in identity", block("identity station {", "\tcommon_name a", "\trequire_unexpired", "}"), 4,
			[]string{"unrecognized identity condition 'require_unexpired'", allConditionNames}},
		{"identity nested in identity", block("identity a {", "\tidentity b {", "\t\tcommon_name x", "\t}", "}"), 3,
			[]string{"unrecognized identity condition 'identity'"}},
		{"bad value in identity", block("identity a {", "\tcommon_name x", "\tdns_name a..b", "}"), 4,
			[]string{"dns_name 'a..b'", "empty or over-long label"}},
		{"identity condition without value", block("identity a {", "\turi", "}"), 3, []string{"uri needs at least one value"}},

		{"same module given twice (two segments)", "client_certificate {\n\tcommon_name a\n}\nclient_certificate {\n\tcommon_name b\n}", 4,
			[]string{"client_certificate given twice here"}},
	}
	for _, tc := range tests {
		for _, mod := range cfModules {
			t.Run(tc.name+"/"+mod.name, func(t *testing.T) {
				_, err := mod.parse(tc.input)
				if err == nil {
					t.Fatalf("UnmarshalCaddyfile accepted:\n%s", tc.input)
				}
				msg := err.Error()
				if loc := "Testfile:" + strconv.Itoa(tc.line); !strings.HasSuffix(msg, loc) && !strings.Contains(msg, loc+" ") {
					t.Errorf("error %q does not name %s", msg, loc)
				}
				for _, w := range tc.want {
					if !strings.Contains(msg, w) {
						t.Errorf("error %q does not contain %q", msg, w)
					}
				}
			})
		}
	}
}

// TestCompileJSONPaths checks that a policy loaded from JSON (as Caddy does)
// with a bad value fails compile with the JSON path of that value.
func TestCompileJSONPaths(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string
	}{
		{"top thumbprint", `{"thumbprint":["xyz"]}`, []string{`thumbprint[0] "xyz"`, "40 hex digits"}},
		{"top second ip", `{"ip":["10.0.0.0/8","10.0.0.1/33"]}`, []string{`ip[1] "10.0.0.1/33"`, "CIDR range"}},
		{"top spki", `{"spki":["abc"]}`, []string{`spki[0] "abc"`, "SubjectPublicKeyInfo"}},
		{"top subject", `{"subject":["CN=ok","FOO=bar"]}`, []string{`subject[1] "FOO=bar"`, "unknown attribute type"}},
		{"top issuer", `{"issuer":["CN=a,,O=b"]}`, []string{`issuer[0] "CN=a,,O=b"`, "empty RDN"}},
		{"top common_name", `{"common_name":["  "]}`, []string{`common_name[0] "  "`, "empty common name"}},
		{"top dns_name", `{"dns_name":["a..b"]}`, []string{`dns_name[0] "a..b"`}},
		{"top email", `{"email":["nobody"]}`, []string{`email[0] "nobody"`, "e-mail address"}},
		{"top uri", `{"uri":["/relative/*"]}`, []string{`uri[0] "/relative/*"`, "absolute URI"}},
		{"top serial", `{"serial":["0x12"]}`, []string{`serial[0] "0x12"`, "not hexadecimal"}},
		{"top issuer_thumbprint", `{"issuer_thumbprint":["` + cfSHA256 + `","12"]}`, []string{`issuer_thumbprint[1] "12"`}},
		{"identity subject", `{"identities":[{"name":"a","common_name":["x"]},{"name":"b","subject":["FOO=bar"]}]}`,
			[]string{`identities[1].subject[0] "FOO=bar"`, "unknown attribute type"}},
		{"identity uri", `{"identities":[{"uri":["spiffe://td/x","ns/*"]}]}`, []string{`identities[0].uri[1] "ns/*"`}},
		{"identity thumbprint", `{"common_name":["x"],"identities":[{"common_name":["y"]},{"common_name":["z"]},{"thumbprint":["00"]}]}`,
			[]string{`identities[2].thumbprint[0] "00"`}},
		{"duplicate identity name", `{"identities":[{"name":"a","common_name":["x"]},{"name":"a","common_name":["y"]}]}`,
			[]string{`identities[1].name: duplicate identity name "a" (also identities[0])`}},
		{"empty identity", `{"identities":[{"name":"x"}]}`, []string{`identities[0]: identity "x" has no conditions`}},
		{"negative verify_cache_size", `{"verify_cache_size":-1}`, []string{"verify_cache_size", "negative"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Handler
			if err := json.Unmarshal([]byte(tc.json), &h); err != nil {
				t.Fatalf("json: %v", err)
			}
			err := h.compile()
			if err == nil {
				t.Fatalf("compile accepted %s", tc.json)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("compile error %q does not contain %q", err, w)
				}
			}
		})
	}

	// The same JSON loads into the matcher and the verifier.
	for _, p := range []*Policy{&new(Matcher).Policy, &new(Verifier).Policy} {
		if err := json.Unmarshal([]byte(`{"identities":[{"name":"a","common_name":["x"]},{"name":"b","subject":["FOO=bar"]}]}`), p); err != nil {
			t.Fatal(err)
		}
		if err := p.compile(); err == nil || !strings.Contains(err.Error(), `identities[1].subject[0] "FOO=bar"`) {
			t.Errorf("compile error %v, want the JSON path", err)
		}
	}

	// And a valid JSON policy compiles.
	var h Handler
	if err := json.Unmarshal([]byte(`{"thumbprint":["`+cfSHA1+`"],"identities":[{"name":"a","ip":["::ffff:10.0.0.0/104"]},{"dns_name":["*.example.com"]}],"verify_cache_size":3}`), &h); err != nil {
		t.Fatal(err)
	}
	if err := h.compile(); err != nil {
		t.Fatalf("compile: %v", err)
	}
	if len(h.identities) != 2 || h.identities[0].name != "a" || len(h.identities[0].cond.tests) != 1 {
		t.Fatalf("compiled identities %+v", h.identities)
	}
	// ::ffff:10.0.0.0/104 is 10.0.0.0/8, as certificates carry IPv4 SANs.
	ip := h.identities[0].cond.tests[0]
	for addr, want := range map[string]bool{"10.1.2.3": true, "11.0.0.1": false} {
		if got := ip.holds(&contentFacts{ips: []netip.Addr{netip.MustParseAddr(addr)}}, nil); got != want {
			t.Errorf("identity a on SAN IP %s: holds %v, want %v", addr, got, want)
		}
	}
}

func FuzzUnmarshalCaddyfile(f *testing.F) {
	for _, s := range []string{
		"",
		"thumbprint " + cfSHA1,
		"spki " + cfSPKI + "\nrequire_unexpired\nallow_unverified",
		`subject "CN=station-042, O=Contoso Weather"`,
		"subject CN=station-042, O=Contoso Weather",
		`issuer "/C=US/O=Contoso/CN=Root"`,
		"common_name station-042 \"Station 043\"",
		"dns_name *.example.com Example.COM.",
		"email a@Example.com",
		"uri spiffe://td/ns/prod/* urn:x",
		"ip 10.0.0.0/8 ::ffff:10.0.0.0/104 2001:db8::1",
		"serial 0A:1B:2C 1234",
		"issuer_thumbprint " + cfSHA256,
		"verify_cache_size 10",
		"verify_cache_size 0",
		"trust_pool inline {\n\ttrust_der " + cfDER + "\n}",
		"trust_pool file /etc/ca.pem",
		"identity a {\n\tcommon_name a\n}\nidentity {\n\tthumbprint " + cfSHA1 + "\n}",
		"identity a {\n}",
		"identity a {\n\tcommon_name x\n}\nidentity a {\n\tcommon_name y\n}",
		"identity {\n\tcommon_name x\n}\nidentity \"\" {\n\tcommon_name y\n}",
		"common_name a }",
		"common_name {\n\tx\n}",
		"}\nclient_certificate {",
		"identity a {\n\tidentity b {\n\t\tcommon_name c\n\t}\n}",
		"revocation {\n\tcrl /etc/ca.crl http://pki.example/ca.crl\n\tcheck chain\n\ton_unknown allow\n\tstale_grace 0s\n\trefresh 1s\n\trecheck 1m\n\ttimeout 2s\n\tmax_crl_size 1MiB\n}",
		"revocation {\n\tocsp http://ocsp.example\n\tcrl_from_cdp\n}",
		"revocation {\n\tocsp\n\tocsp\n}",
		"revocation {\n}",
		"revocation {\n\tmax_crl_size 0\n\tocsp\n}",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		input := "client_certificate {\n" + body + "\n}"
		// NewTestDispenser would log.Fatal on input the lexer rejects
		// (an unterminated quote); tokenize here and skip such input.
		tokens, err := caddyfile.Tokenize([]byte(input), "Testfile")
		if err != nil {
			return
		}
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens)); err != nil {
			if !strings.Contains(err.Error(), "Testfile:") {
				t.Fatalf("error without file:line: %v", err)
			}
			return
		}
		p := h.Policy
		p.TrustPoolRaw = nil
		if err := p.compile(); err != nil {
			t.Fatalf("Caddyfile accepted\n%s\nbut compile fails: %v", input, err)
		}
		cfCheckJSONRoundTrip(t, &h.Policy)
	})
}
