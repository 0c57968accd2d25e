// integration_test.go: a real in-process Caddy (caddytest) driven by Go
// clients and curl with real mTLS handshakes: decisions, placeholders,
// keep-alive, JSON provision errors.

package clientcertificate_test

import (
	"crypto/sha1" //nolint:gosec // thumbprints
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// This file drives a real in-process Caddy (caddytest) with real mTLS
// handshakes from Go's crypto/tls and from curl, using a PKI generated at
// test time.

var integrationPKI = sync.OnceValues(testpki.Standard)

// pkiFiles writes the PKI to a temporary directory, as an operator's
// Caddyfile would reference it.
type pkiFiles struct {
	dir string
	set *testpki.Set
}

func (f pkiFiles) path(name string) string { return filepath.Join(f.dir, name) }

func writePKI(t *testing.T) pkiFiles {
	t.Helper()
	set, err := integrationPKI()
	if err != nil {
		t.Fatal(err)
	}
	f := pkiFiles{dir: t.TempDir(), set: set}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(testpki.WriteFile(f.path("root.pem"), set.Root.CertPEM()))
	must(testpki.WriteFile(f.path("other-root.pem"), set.OtherRoot.CertPEM()))
	must(testpki.WriteFile(f.path("server.pem"), set.Server.CertPEM()))
	must(testpki.WriteFile(f.path("server-key.pem"), set.Server.KeyPEM()))
	for name, leaf := range clientLeaves(set) {
		if leaf == nil {
			continue
		}
		must(testpki.WriteFile(f.path(name+".pem"), leaf.CertPEM()))
		must(testpki.WriteFile(f.path(name+"-key.pem"), leaf.KeyPEM()))
	}
	return f
}

func clientLeaves(s *testpki.Set) map[string]*testpki.Leaf {
	return map[string]*testpki.Leaf{
		"none":             nil,
		"good":             s.Good,
		"other":            s.Other,
		"expired":          s.Expired,
		"not-yet-valid":    s.NotYetValid,
		"server-auth-only": s.ServerAuthOnly,
		"from-other-ca":    s.FromOtherCA,
		"from-rogue-ca":    s.FromRogueCA,
		"rogue-chain":      s.RogueChain,
		"self-signed":      s.SelfSignedGood,
		"comma-cn":         s.CommaCN,
		"ca-as-client":     s.CAAsClient,
	}
}

func sha1Of(c *x509.Certificate) string { return strings.ToUpper(fmt.Sprintf("%x", sha1Sum(c.Raw))) }

const (
	goodDN   = "CN=station-042,OU=Stations,O=Contoso Weather,C=US"
	issuerDN = "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US"
)

// integrationCaddyfile serves one site per client_auth mode, each on its
// own port so each gets its own TLS connection policy.
// testGlobalOptions starts the Caddyfiles of the integration tests: the
// admin endpoint and the ports they name (remapped by remap), no trust
// store installation, no HTTP→HTTPS redirects.
const testGlobalOptions = `{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	auto_https disable_redirects
}
`

// tlsWithClientAuth is a site's tls directive with the test server
// certificate and the client_auth block clientAuth (its lines, indented).
func tlsWithClientAuth(f pkiFiles, clientAuth string) string {
	return fmt.Sprintf("tls %s %s {\n\t\tclient_auth {\n%s\n\t\t}\n\t}", f.path("server.pem"), f.path("server-key.pem"), clientAuth)
}

func integrationCaddyfile(f pkiFiles) string {
	s := f.set
	tlsLine := func(clientAuth string) string { return tlsWithClientAuth(f, clientAuth) }
	errors := `handle_errors {
		respond "denied {http.client_certificate.reason}" {err.status_code}
	}`
	return fmt.Sprintf(testGlobalOptions+`
# client_auth mode request: the TLS layer verifies nothing.
https://localhost:9443 {
	%[1]s
	handle /handler/pin {
		client_certificate {
			thumbprint %[5]s
		}
		respond "pin ok {http.client_certificate.verified}"
	}
	handle /handler/names {
		client_certificate {
			subject "%[6]s"
		}
		respond "names ok"
	}
	handle /handler/pool {
		client_certificate {
			trust_pool file %[7]s
			require_unexpired
			subject "%[6]s"
			issuer "%[8]s"
		}
		respond "pool ok"
	}
	handle /handler/identities {
		client_certificate {
			trust_pool file %[7]s
			identity station-042 {
				common_name station-042
			}
			identity weather-inc {
				subject "CN=Contoso Weather\, Inc,O=Contoso Weather,C=US"
			}
		}
		respond "{http.client_certificate.identity}|{http.auth.user.id}|{http.client_certificate.thumbprint}|{http.client_certificate.thumbprint_sha256}|{http.client_certificate.subject}|{http.client_certificate.issuer}|{http.client_certificate.common_name}|{http.client_certificate.serial}|{http.client_certificate.not_after}|{http.client_certificate.verified}"
	}
	handle /matcher {
		@partner client_certificate {
			trust_pool file %[7]s
			common_name station-042
		}
		respond @partner "partner"
		respond "public"
	}
	%[4]s
}

# client_auth verify_if_given: the TLS layer verifies a certificate if one is
# sent, and our verifier (issuer must be the issuing CA) runs on it.
https://localhost:9444 {
	%[2]s
	handle /handler/names {
		client_certificate {
			require_unexpired
			subject "%[6]s"
		}
		respond "names ok"
	}
	handle /matcher {
		@partner client_certificate {
			issuer "%[8]s"
			common_name station-042
		}
		respond @partner "partner"
		respond "public"
	}
	%[4]s
}

# client_auth require_and_verify with our verifier: rejected at the handshake.
https://localhost:9445 {
	%[3]s
	handle /handler/names {
		client_certificate {
			subject "%[6]s"
		}
		respond "names ok"
	}
	handle /matcher {
		@partner client_certificate {
			common_name station-042
		}
		respond @partner "partner"
		respond "public"
	}
	respond "verifier ok"
	%[4]s
}

# client_auth mode request with our verifier doing its own path validation.
https://localhost:9446 {
	%[9]s
	respond "verifier ok"
}

# No handle_errors: the deny reason must not reach the client.
https://localhost:9447 {
	%[10]s
	client_certificate {
		thumbprint %[5]s
	}
	respond "ok"
}
`,
		tlsLine("\t\t\tmode request"),
		tlsLine(fmt.Sprintf("\t\t\tmode verify_if_given\n\t\t\ttrust_pool file %s\n\t\t\tverifier client_certificate {\n\t\t\t\tissuer \"%s\"\n\t\t\t}", f.path("root.pem"), issuerDN)),
		tlsLine(fmt.Sprintf(`			mode require_and_verify
			trust_pool file %s
			verifier client_certificate {
				require_unexpired
				identity station-042 {
					subject "%s"
				}
				identity comma {
					common_name "Contoso Weather, Inc"
				}
			}`, f.path("root.pem"), goodDN)),
		errors,
		sha1Of(s.Good.Cert),
		goodDN,
		f.path("root.pem"),
		issuerDN,
		tlsLine(fmt.Sprintf(`			mode request
			verifier client_certificate {
				trust_pool file %s
				issuer "%s"
			}`, f.path("root.pem"), issuerDN)),
		tlsLine("\t\t\tmode request"),
	)
}

// The config and the cases below name fixed ports for readability;
// remap turns them into ports free on this machine, so that a concurrent
// test run (Caddy listens with SO_REUSEPORT) can never answer for us.
var symbolicPorts = []string{"2999", "9080", "9443", "9444", "9445", "9446", "9447", "9480"}

var portReplacer = sync.OnceValue(func() *strings.Replacer {
	var pairs []string
	taken := map[int]bool{}
	for _, p := range symbolicPorts {
		port, err := pickFreePort(taken)
		if err != nil {
			panic(err)
		}
		taken[port] = true
		pairs = append(pairs, ":"+p, fmt.Sprintf(":%d", port), " "+p+"\n", fmt.Sprintf(" %d\n", port))
	}
	return strings.NewReplacer(pairs...)
})

func remap(s string) string { return portReplacer().Replace(s) }

// newTester returns a caddytest tester talking to the remapped admin port.
func newTester(t *testing.T) *caddytest.Tester {
	var admin int
	fmt.Sscanf(strings.TrimPrefix(remap(":2999"), ":"), "%d", &admin)
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: admin})
}

// startCaddy loads the integration config into the in-process Caddy.
func startCaddy(t *testing.T) pkiFiles {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	newTester(t).InitServer(remap(integrationCaddyfile(f)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	return f
}

// request makes one HTTPS request on a new connection, presenting leaf
// (always sent, as curl or an attacker would, even if the server did not
// list its issuer). It returns "status body", or "handshake" when the TLS
// handshake failed.
func request(t *testing.T, s *testpki.Set, leaf *testpki.Leaf, url string, h2 bool) string {
	t.Helper()
	cfg := &tls.Config{RootCAs: testpki.Pool(s.Root), ServerName: "localhost"}
	if leaf != nil {
		cert := leaf.TLSCertificate()
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	if h2 {
		cfg.NextProtos = []string{"h2"}
	} else {
		cfg.NextProtos = []string{"http/1.1"}
	}
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := client.Get(remap(url))
	if err != nil {
		var certErr *tls.CertificateVerificationError
		if errors.As(err, &certErr) {
			t.Fatalf("client rejected the server certificate: %v", err)
		}
		if strings.Contains(err.Error(), "connection refused") || strings.Contains(err.Error(), "timeout") {
			t.Fatalf("not a refused handshake: %v", err)
		}
		return "handshake"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if h2 && resp.ProtoMajor != 2 {
		t.Fatalf("wanted HTTP/2, got %s", resp.Proto)
	}
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

func TestIntegrationDecisions(t *testing.T) {
	f := startCaddy(t)
	s := f.set
	const (
		ok403unverified = "403 denied unverified"
		hs              = "handshake"
	)
	type expect map[string]string
	cases := []struct {
		url    string
		expect expect
	}{
		{"https://localhost:9443/handler/pin", expect{
			"none": "403 denied no_certificate", "good": "200 pin ok false", "other": "403 denied thumbprint_mismatch",
			"self-signed": "403 denied thumbprint_mismatch", "from-rogue-ca": "403 denied thumbprint_mismatch",
			"expired": "403 denied thumbprint_mismatch",
		}},
		{"https://localhost:9443/handler/names", expect{
			"none": "403 denied no_certificate", "good": ok403unverified, "self-signed": ok403unverified,
			"from-rogue-ca": ok403unverified, "rogue-chain": ok403unverified,
		}},
		{"https://localhost:9443/handler/pool", expect{
			"none": "403 denied no_certificate", "good": "200 pool ok", "other": "403 denied subject_mismatch",
			"expired": "403 denied expired", "not-yet-valid": "403 denied not_yet_valid",
			"server-auth-only": "403 denied untrusted", "from-other-ca": "403 denied untrusted",
			"from-rogue-ca": "403 denied untrusted", "rogue-chain": "403 denied untrusted",
			"self-signed": "403 denied untrusted", "comma-cn": "403 denied subject_mismatch",
			"ca-as-client": "403 denied ca_certificate",
		}},
		{"https://localhost:9443/handler/identities", expect{
			"other": "403 denied no_identity", "from-rogue-ca": "403 denied untrusted",
		}},
		{"https://localhost:9443/matcher", expect{
			"none": "200 public", "good": "200 partner", "other": "200 public", "self-signed": "200 public",
			"from-rogue-ca": "200 public", "rogue-chain": "200 public", "expired": "200 public",
		}},
		{"https://localhost:9444/handler/names", expect{
			"none": "403 denied no_certificate", "good": "200 names ok", "other": "403 denied subject_mismatch",
			"comma-cn": "403 denied subject_mismatch",
			// the TLS layer refuses what does not chain to its pool
			"self-signed": hs, "from-rogue-ca": hs, "rogue-chain": hs, "from-other-ca": hs, "expired": hs,
			"not-yet-valid": hs, "server-auth-only": hs,
			// the verifier refuses a CA certificate; no certificate is left to the mode
			"ca-as-client": hs,
		}},
		{"https://localhost:9444/matcher", expect{
			"none": "200 public", "good": "200 partner", "other": "200 public", "comma-cn": "200 public",
		}},
		{"https://localhost:9445/", expect{
			"none": hs, "good": "200 verifier ok", "comma-cn": "200 verifier ok", "other": hs,
			"self-signed": hs, "from-rogue-ca": hs, "rogue-chain": hs, "from-other-ca": hs, "expired": hs,
			"ca-as-client": hs,
		}},
		{"https://localhost:9445/handler/names", expect{
			"good": "200 names ok", "comma-cn": "403 denied subject_mismatch",
		}},
		{"https://localhost:9445/matcher", expect{
			"good": "200 partner", "comma-cn": "200 public",
		}},
		{"https://localhost:9446/", expect{
			// no certificate: the verifier defers to mode request
			"none": "200 verifier ok", "good": "200 verifier ok", "other": "200 verifier ok",
			"self-signed": hs, "from-rogue-ca": hs, "rogue-chain": hs, "from-other-ca": hs, "expired": hs,
			"server-auth-only": hs, "ca-as-client": hs,
		}},
		{"https://localhost:9447/", expect{
			"good": "200 ok", "other": "403 ", "none": "403 ",
		}},
	}
	leaves := clientLeaves(s)
	for _, c := range cases {
		for client, want := range c.expect {
			for _, h2 := range []bool{false, true} {
				proto := "h1"
				if h2 {
					proto = "h2"
				}
				t.Run(fmt.Sprintf("%s/%s/%s", strings.TrimPrefix(c.url, "https://localhost:"), client, proto), func(t *testing.T) {
					got := request(t, s, leaves[client], c.url, h2)
					if got != want {
						t.Errorf("got %q, want %q", got, want)
					}
				})
			}
		}
	}
}

func TestIntegrationPlaceholders(t *testing.T) {
	f := startCaddy(t)
	s := f.set
	got := request(t, s, s.Good, "https://localhost:9443/handler/identities", false)
	want := fmt.Sprintf("200 station-042|station-042|%s|%x|%s|%s|station-042|%s|%s|true",
		sha1Of(s.Good.Cert), sha256Sum(s.Good.Cert.Raw), goodDN, issuerDN, strings.ToUpper(s.Good.Cert.SerialNumber.Text(16)),
		s.Good.Cert.NotAfter.UTC().Format(time.RFC3339))
	if got != want {
		t.Errorf("placeholders:\n got %q\nwant %q", got, want)
	}
	got = request(t, s, s.CommaCN, "https://localhost:9443/handler/identities", false)
	if !strings.HasPrefix(got, `200 weather-inc|weather-inc|`) || !strings.Contains(got, `|CN=Contoso Weather\, Inc,O=Contoso Weather,C=US|`) {
		t.Errorf("comma CN placeholders: got %q", got)
	}
}

// Several requests on one keep-alive connection: the decision is made per
// request and the caches must not leak one client's result to another.
func TestIntegrationKeepAlive(t *testing.T) {
	f := startCaddy(t)
	s := f.set
	for _, leaf := range []*testpki.Leaf{s.Good, s.Other} {
		cert := leaf.TLSCertificate()
		tr := &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: testpki.Pool(s.Root), ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		}, ForceAttemptHTTP2: true}
		client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		want := "200 pool ok"
		if leaf == s.Other {
			want = "403 denied subject_mismatch"
		}
		for i := 0; i < 20; i++ {
			resp, err := client.Get(remap("https://localhost:9443/handler/pool"))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := fmt.Sprintf("%d %s", resp.StatusCode, body); got != want {
				t.Fatalf("request %d: got %q, want %q", i, got, want)
			}
		}
		tr.CloseIdleConnections()
	}
}

// curl is the client operators test with; it must see the same decisions.
func TestIntegrationCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	f := startCaddy(t)
	for _, c := range []struct {
		client, url, want string
	}{
		{"good", "https://localhost:9443/handler/pool", "200 pool ok"},
		{"other", "https://localhost:9443/handler/pool", "403 denied subject_mismatch"},
		{"from-rogue-ca", "https://localhost:9443/handler/pool", "403 denied untrusted"},
		{"none", "https://localhost:9443/handler/pool", "403 denied no_certificate"},
		{"good", "https://localhost:9443/matcher", "200 partner"},
		{"other", "https://localhost:9443/matcher", "200 public"},
		{"good", "https://localhost:9445/", "200 verifier ok"},
		{"other", "https://localhost:9445/", "handshake"},
	} {
		t.Run(c.client+" "+c.url, func(t *testing.T) {
			bodyFile := filepath.Join(t.TempDir(), "body")
			args := []string{"-sS", "--max-time", "10", "--cacert", f.path("root.pem"), "-w", "%{http_code}", "-o", bodyFile}
			if c.client != "none" {
				args = append(args, "--cert", f.path(c.client+".pem"), "--key", f.path(c.client+"-key.pem"))
			}
			out, err := exec.Command(curl, append(args, remap(c.url))...).CombinedOutput()
			var got string
			var exit *exec.ExitError
			switch {
			case err == nil:
				body, _ := os.ReadFile(bodyFile)
				got = strings.TrimSpace(string(out)) + " " + string(body)
			case errors.As(err, &exit) && curlHandshakeRefused[exit.ExitCode()]:
				got = "handshake"
			default:
				t.Fatalf("curl failed for another reason than a refused handshake: %v: %s", err, out)
			}
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// curlHandshakeRefused are curl's exit codes for a server that refuses the
// client certificate: during the handshake (35), or, in TLS 1.3, where the
// client learns of it only when it next sends or reads (55, 56).
var curlHandshakeRefused = map[int]bool{35: true, 55: true, 56: true}

func sha1Sum(b []byte) [20]byte   { return sha1.Sum(b) } //nolint:gosec // thumbprint
func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// assertLoadError is caddytest.AssertLoadError on the remapped admin port.
func assertLoadError(t *testing.T, cfg, want string) {
	t.Helper()
	resp, err := http.Post("http://"+remap("localhost:2999")+"/load", "application/json", strings.NewReader(cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), want) {
		t.Errorf("loading config: got %d %s, want an error containing %s", resp.StatusCode, body, want)
	}
}

// A JSON config (no Caddyfile adapter to catch typos) fails at Provision,
// naming the field and the value. The admin API returns the error JSON-encoded,
// hence the escaped quotes.
func TestIntegrationJSONProvisionErrors(t *testing.T) {
	startCaddy(t) // a running Caddy, whose good config survives the bad loads
	for _, c := range []struct{ module, want string }{
		{`"handle": [{"handler": "client_certificate", "identities": [{"name": "a", "common_name": ["x"]}, {"name": "b", "subject": ["CN=a,,O=b"]}]}]`,
			`identities[1].subject[0] \"CN=a,,O=b\": empty RDN`},
		{`"match": [{"client_certificate": {"thumbprint": ["3F2A9B"]}}], "handle": [{"handler": "static_response"}]`,
			`thumbprint[0] \"3F2A9B\": want 40 hex digits`},
		// report_only is the handler's and the verifier's, never the matcher's
		{`"match": [{"client_certificate": {"common_name": ["x"], "report_only": true}}], "handle": [{"handler": "static_response"}]`,
			`unknown field \"report_only\"`},
		{`"handle": [{"handler": "client_certificate", "common_name": ["x"], "forward": {"format": "pem"}}]`,
			`forward: format \"pem\": want \"rfc9440\"`},
	} {
		cfg := fmt.Sprintf(`{"admin": {"listen": "localhost:2999"}, "apps": {"http": {"servers": {"srv0": {"listen": [":9480"], "routes": [{%s}]}}}}}`, c.module)
		assertLoadError(t, remap(cfg), c.want)
	}
	cfg := `{"admin": {"listen": "localhost:2999"}, "apps": {"http": {"servers": {"srv0": {"listen": [":9443"], "routes": [{"handle": [{"handler": "static_response"}]}],
		"tls_connection_policies": [{"client_authentication": {"mode": "request", "verifiers": [{"verifier": "client_certificate", "ip": ["10.0.0.0/40"]}]}}]}}}}}`
	assertLoadError(t, remap(cfg), `ip[0] \"10.0.0.0/40\": want an IP address or a CIDR range`)
}
