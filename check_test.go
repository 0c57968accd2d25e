// check_test.go: `caddy client-certificate check`: every row of the demo
// (scripts/demo.sh) against example.Caddyfile with the demo PKI, condition
// lines, --at, --json, revocation left unchecked, bad input, and that it
// opens no listener, contacts no upstream and leaves storage untouched.

package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // thumbprints
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// DemoPKI writes the demo PKI as internal/cmd/demopki does (the same
// testpki.Standard set, the same file names: NAME.pem is the certificate
// and its chain, NAME-key.pem its key) and sets the environment
// example.Caddyfile reads, as scripts/demo.sh does.
func DemoPKI(t testing.TB) (dir string, s *testpki.Set) {
	t.Helper()
	s, err := testpki.Standard()
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	write := func(name string, data []byte) {
		if err := testpki.WriteFile(filepath.Join(dir, name), data); err != nil {
			t.Fatal(err)
		}
	}
	write("root.pem", s.Root.CertPEM())
	write("intermediate.pem", s.Intermediate.CertPEM())
	for name, l := range DemoLeaves(s) {
		write(name+".pem", l.CertPEM())
		write(name+"-key.pem", l.KeyPEM())
	}
	sum := sha1.Sum(s.Other.Cert.Raw) //nolint:gosec // thumbprint
	t.Setenv("PKI", dir)
	t.Setenv("OPS_THUMBPRINT", strings.ToUpper(hex.EncodeToString(sum[:])))
	t.Setenv("API_PORT", "8443")
	t.Setenv("INGEST_PORT", "8444")
	t.Setenv("HTTP_PORT", "8080")
	t.Setenv("ADMIN_ADDR", "localhost:2019")
	return dir, s
}

// DemoLeaves are the demo PKI's certificates with keys, by file name
// (internal/cmd/demopki).
func DemoLeaves(s *testpki.Set) map[string]*testpki.Leaf {
	return map[string]*testpki.Leaf{
		"server": s.Server, "good": s.Good, "other": s.Other, "expired": s.Expired,
		"not-yet-valid": s.NotYetValid, "server-auth-only": s.ServerAuthOnly,
		"from-other-ca": s.FromOtherCA, "from-rogue-ca": s.FromRogueCA, "self-signed": s.SelfSignedGood,
		"comma-cn": s.CommaCN, "rogue-chain": s.RogueChain, "ca-as-client": s.CAAsClient,
	}
}

// DemoCase is one row of the demo's table (a run_case line of
// scripts/demo.sh): a certificate ("-" for none), a port, a path, and what
// curl must see ("CODE BODY-SUMMARY" or "handshake refused").
type DemoCase struct {
	Desc, Cert, Port, Path, Want string
}

var runCaseRE = regexp.MustCompile(`(?m)^run_case "([^"]+)" (\S+) "\$(API|ING)" (\S+) '([^']+)'$`)

// DemoCases reads the demo's rows from scripts/demo.sh, so the tests follow
// the demo.
func DemoCases(t testing.TB) []DemoCase {
	t.Helper()
	script, err := os.ReadFile("scripts/demo.sh")
	if err != nil {
		t.Fatal(err)
	}
	var out []DemoCase
	for _, m := range runCaseRE.FindAllStringSubmatch(string(script), -1) {
		port := "8443"
		if m[3] == "ING" {
			port = "8444"
		}
		out = append(out, DemoCase{Desc: m[1], Cert: m[2], Port: port, Path: m[4], Want: m[5]})
	}
	if len(out) < 13 {
		t.Fatalf("read %d demo cases from scripts/demo.sh, want at least 13", len(out))
	}
	return out
}

var stationRE = regexp.MustCompile(`"station":"([^"]*)"`)

// DemoSummary is demo.sh's summarize: identity=NAME for the API's JSON,
// else the body's first line, quoted and clipped to 64 characters.
func DemoSummary(body string) string {
	body = strings.ReplaceAll(body, "\r", "")
	if len(body) > 200 {
		body = body[:200]
	}
	if m := stationRE.FindStringSubmatch(body); m != nil {
		return "identity=" + m[1]
	}
	body, _, _ = strings.Cut(body, "\n")
	if len(body) > 64 {
		body = body[:61] + "..."
	}
	return `"` + body + `"`
}

// CheckSees is what check says curl would see, in the demo's words.
func CheckSees(rep *checkReport) string {
	if rep.Answer == nil {
		return "no answer"
	}
	if rep.Answer.Handshake != "" {
		return "handshake refused"
	}
	return fmt.Sprintf("%d %s", rep.Answer.Status, DemoSummary(rep.Answer.Body))
}

// checkJSON runs check --json and decodes its report.
func checkJSON(t *testing.T, args ...string) (*checkReport, int, string) {
	t.Helper()
	out, errOut, code := cli("", append([]string{"check", "--json"}, args...)...)
	if code == 2 {
		t.Fatalf("check %v: exit 2: %s", args, errOut)
	}
	var rep checkReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if rep.ExitStatus != code {
		t.Errorf("exit status %d, report says %d", code, rep.ExitStatus)
	}
	return &rep, code, errOut
}

// Every row of the demo: check says what the demo expects curl to see
// (status and body, or a refused handshake), and exits 0 exactly when the
// request is answered 2xx.
func TestCheckDemoRows(t *testing.T) {
	dir, _ := DemoPKI(t)
	for _, c := range DemoCases(t) {
		t.Run(c.Desc+"/"+c.Cert, func(t *testing.T) {
			args := []string{"--config", "example.Caddyfile", "--url", "https://localhost:" + c.Port + c.Path}
			if c.Cert != "-" {
				args = append(args, "--cert", filepath.Join(dir, c.Cert+".pem"))
			}
			rep, code, errOut := checkJSON(t, args...)
			if got := CheckSees(rep); got != c.Want {
				t.Errorf("check sees %q, the demo expects %q", got, c.Want)
			}
			wantCode := 1
			if strings.HasPrefix(c.Want, "2") {
				wantCode = 0
			}
			if code != wantCode || errOut != "" {
				t.Errorf("exit %d (stderr %q), want %d", code, errOut, wantCode)
			}
		})
	}
}

// The text report says, condition by condition, what held and what did
// not, with what the certificate has against what the policy wants.
func TestCheckConditionLines(t *testing.T) {
	dir, s := DemoPKI(t)
	out, errOut, code := cli("", "check", "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "other.pem"), "--url", "https://localhost:8444/")
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	sum := sha1.Sum(s.Other.Cert.Raw) //nolint:gosec // thumbprint
	for _, want := range []string{
		`tls          srv1.tls_connection_policies[0]: connection policy 0 of 2 for SNI "localhost": client_auth require_and_verify; verified against client_auth's trust pool: CN=station-007,`,
		"verifier     srv1.tls_connection_policies[0].client_authentication.verifiers[0]: client_certificate: denied: subject_mismatch\n",
		"               require_unexpired: holds: valid from ",
		"               verified_chain: holds: verified by the TLS layer (client_auth): ",
		"               conditions: does not hold\n",
		`                 subject: no match: certificate "CN=station-007,OU=Stations,O=Contoso Weather,C=US" vs policy "CN=station-042, OU=Stations, O=Contoso Weather, C=US"` + "\n",
		"answer       the TLS handshake fails\n",
		"result: denied (subject_mismatch) by client_certificate verifier at srv1.tls_connection_policies[0].client_authentication.verifiers[0]\n",
		"(SHA-1 " + strings.ToUpper(hex.EncodeToString(sum[:])) + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The handler's identities: which held, which did not, which named the
	// caller.
	out, _, code = cli("", "check", "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:8443/api/observations")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"client_certificate: allowed, identity station-042\n",
		"               trust_pool: holds: the chain verifies against the trust_pool: CN=station-042,OU=Stations,O=Contoso Weather,C=US <- CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US <- CN=Contoso Weather Root CA,O=Contoso Weather,C=US\n",
		"               identity station-042: holds: the first identity that holds: it names the caller\n",
		"               identity ops: does not hold\n",
		`                 thumbprint: no match: certificate one of "SHA-1 `,
		"               identity stations: holds: an earlier identity names the caller\n",
		`answer       200 "{\"station\":\"station-042\",\"cn\":\"station-042\",\"temperature_c\":11.5}" (static_response at `,
		"result: allowed: the request reaches static_response at srv0.routes[0].handle[0].routes[3].handle[0].routes[0].handle[1]\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// --at moves validity and path validation: the good certificate is
// expired after its NotAfter and not yet valid before its NotBefore, for
// the TLS layer (the ingest port) and the handler alike.
func TestCheckAt(t *testing.T) {
	dir, s := DemoPKI(t)
	good := filepath.Join(dir, "good.pem")
	late := s.Good.Cert.NotAfter.Add(time.Hour).UTC().Format(time.RFC3339)
	early := s.Good.Cert.NotBefore.Add(-time.Hour).UTC().Format(time.RFC3339)
	inside := s.Good.Cert.NotBefore.Add(time.Minute).UTC().Format(time.RFC3339)
	for _, c := range []struct {
		at, url, reason string
		code            int
	}{
		{inside, "https://localhost:8443/api/observations", "", 0},
		{late, "https://localhost:8443/api/observations", ReasonExpired, 1},
		{early, "https://localhost:8443/api/observations", ReasonNotYetValid, 1},
		{late, "https://localhost:8444/", "handshake refused: client_auth (require_and_verify): x509: certificate has expired or is not yet valid", 1},
	} {
		rep, code, _ := checkJSON(t, "--config", "example.Caddyfile", "--cert", good, "--url", c.url, "--at", c.at)
		if code != c.code || !strings.HasPrefix(rep.Reason, c.reason) || rep.At != c.at {
			t.Errorf("--at %s %s: exit %d reason %q at %q, want exit %d reason %q", c.at, c.url, code, rep.Reason, rep.At, c.code, c.reason)
		}
	}
}

// --json: the verdict, the answer, and every client_certificate module met
// with its steps.
func TestCheckJSON(t *testing.T) {
	dir, _ := DemoPKI(t)
	rep, code, _ := checkJSON(t, "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:8443/forecast")
	if code != 0 || rep.Verdict != "allowed" || rep.Answer.Status != 200 || rep.Answer.Body != "detailed forecast for station-042" {
		t.Fatalf("report: %+v", rep)
	}
	if len(rep.ClientCertificate) != 1 {
		t.Fatalf("client_certificate modules: %+v", rep.ClientCertificate)
	}
	m := rep.ClientCertificate[0]
	if m.Kind != "matcher" || !m.Allowed || !m.Verified || m.Where != "srv0.routes[0].handle[0].routes[1].handle[0].routes[0]" {
		t.Errorf("matcher: %+v", m)
	}
	var subject *conditionResult
	for i, st := range m.Steps {
		if st.Step == "conditions" {
			subject = &m.Steps[i].Conditions[0]
		}
	}
	if subject == nil || subject.Condition != "subject" || !subject.Match || subject.Policy[0] != "/C=US/O=Contoso Weather/OU=Stations/CN=station-042" {
		t.Errorf("subject condition: %+v", subject)
	}
	if rep.TLS == nil || rep.TLS.ClientAuth != "request" || !rep.TLS.CertificateSent || rep.Server != "srv0" {
		t.Errorf("tls: %+v", rep.TLS)
	}
}

// offlineCaddyfile serves one site on port with client_auth mode request,
// the given routes, and a storage directory.
func offlineCaddyfile(t *testing.T, dir string, port int, storage, routes string) string {
	t.Helper()
	cf := fmt.Sprintf(`{
	storage file_system %s
	metrics {
		otlp
	}
	skip_install_trust
	auto_https disable_redirects
	admin localhost:%d
}
https://localhost:%d {
	tls %s %s {
		client_auth {
			mode request
		}
	}
	%s
}
`, storage, port+1, port, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), routes)
	return writeTemp(t, "Caddyfile", []byte(cf))
}

// listen holds a TCP port and counts the connections it accepts.
func listen(t *testing.T) (int, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, &n
}

// check opens no listener (the site's port is held here: binding it would
// fail), contacts no upstream (a reverse_proxy with active health checks
// to a port held here: nothing connects), fetches no CRL (a revocation
// block whose CRL URL is a port held here), and leaves the configured
// storage untouched (empty, though a site with tls internal makes Caddy's
// internal CA, which provisioning stores).
func TestCheckOffline(t *testing.T) {
	dir, _ := DemoPKI(t)
	writeFile := func(name string, data []byte) {
		if err := testpki.WriteFile(filepath.Join(dir, name), data); err != nil {
			t.Fatal(err)
		}
	}
	s := pki(t)
	writeFile("server.pem", s.Server.CertPEM())
	writeFile("server-key.pem", s.Server.KeyPEM())
	sitePort, siteConns := listen(t)
	upstreamPort, upstreamConns := listen(t)
	crlPort, crlConns := listen(t)
	storage := t.TempDir()
	routes := fmt.Sprintf(`handle /proxy {
		client_certificate {
			trust_pool file %[1]s
			revocation {
				crl http://127.0.0.1:%[2]d/issuing.crl
			}
		}
		reverse_proxy 127.0.0.1:%[3]d {
			health_uri /health
			health_interval 1s
		}
	}
	handle /traced {
		tracing {
			span checked
		}
		respond "traced"
	}`, filepath.Join(dir, "root.pem"), crlPort, upstreamPort)
	cfg := offlineCaddyfile(t, dir, sitePort, storage, routes)
	// A second site with tls internal: its CA is made at provision.
	cfgText, _ := os.ReadFile(cfg)
	cfgText = append(cfgText, []byte(fmt.Sprintf("https://internal.localhost:%d {\n\ttls internal\n\trespond \"x\"\n}\n", sitePort))...)
	if err := os.WriteFile(cfg, cfgText, 0o600); err != nil {
		t.Fatal(err)
	}

	out, errOut, code := cli("", "check", "--config", cfg, "--cert", filepath.Join(dir, "good.pem"), "--url", fmt.Sprintf("https://localhost:%d/proxy", sitePort))
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"reverse_proxy: not run (check contacts no upstream)\n",
		"               revocation: not checked: CRLs and OCSP are not consulted offline",
		"note         revocation is not checked offline: the handler at ",
		"note         reverse_proxy active health checks are not started (they would contact the upstreams)\n",
		"note         tracing handlers are replaced by no-ops (they export spans over the network)\n",
		"result: allowed: the request reaches reverse_proxy at ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if entries, err := os.ReadDir(storage); err != nil || len(entries) != 0 {
		t.Errorf("storage %s: %v, %d entries, want it untouched", storage, err, len(entries))
	}
	if n := siteConns.Load() + upstreamConns.Load() + crlConns.Load(); n != 0 {
		t.Errorf("%d connections to the site, upstream or CRL ports", n)
	}
	// What provisioning would start is not in the configuration provisioned.
	offlineProvisioning.Store(true)
	oc, err := loadOffline(cfg, "")
	offlineProvisioning.Store(false)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.close()
	proxies := 0
	findRaw(oc.raw, func(m map[string]any) {
		if m["handler"] == "reverse_proxy" {
			proxies++
			if hc, _ := m["health_checks"].(map[string]any); hc == nil || hc["active"] != nil {
				t.Errorf("health checks of the provisioned reverse_proxy: %v", m["health_checks"])
			}
		}
	})
	if proxies != 1 {
		t.Errorf("%d reverse_proxy handlers in the provisioned configuration", proxies)
	}
	findRaw(oc.raw, func(m map[string]any) {
		if m["handler"] == "tracing" || m["otlp"] != nil {
			t.Errorf("left in the provisioned configuration: %v", m)
		}
	})
	if m := oc.http.Metrics; m == nil || m.OTLP {
		t.Errorf("http metrics: %+v", m)
	}
	var h *Handler
	for _, rt := range oc.http.Servers["srv0"].Routes {
		walkHandlers(rt.Handlers, func(x caddyhttp.MiddlewareHandler) {
			if hh, ok := x.(*Handler); ok {
				h = hh
			}
		})
	}
	if h == nil || h.Revocation == nil || h.revocation != nil {
		t.Errorf("the handler's revocation block: %+v", h)
	}
}

// findRaw calls f on every object of a JSON configuration.
func findRaw(v any, f func(map[string]any)) {
	switch v := v.(type) {
	case map[string]any:
		f(v)
		for _, x := range v {
			findRaw(x, f)
		}
	case []any:
		for _, x := range v {
			findRaw(x, f)
		}
	}
}

func walkHandlers(hs []caddyhttp.MiddlewareHandler, f func(caddyhttp.MiddlewareHandler)) {
	for _, h := range hs {
		f(h)
		if sr, ok := h.(*caddyhttp.Subroute); ok {
			for _, rt := range sr.Routes {
				walkHandlers(rt.Handlers, f)
			}
		}
	}
}

// Bad input to check: one line on stderr, exit 2, nothing on stdout.
func TestCheckBadInput(t *testing.T) {
	dir, _ := DemoPKI(t)
	good := filepath.Join(dir, "good.pem")
	garbage := writeTemp(t, "garbage.pem", []byte("not a certificate"))
	broken := writeTemp(t, "Caddyfile", []byte("localhost {\n\trespond \"x\"\n"))
	unknownDirective := writeTemp(t, "bad.caddyfile", []byte("localhost {\n\tno_such_directive\n}\n"))
	badPolicy := writeTemp(t, "policy.caddyfile", []byte("localhost {\n\tclient_certificate {\n\t\tthumbprint 3F2A\n\t}\n}\n"))
	noHTTP := writeTemp(t, "nohttp.json", []byte(`{"apps": {"tls": {}}}`))
	notJSON := writeTemp(t, "conf.json", []byte(`{"apps": `))
	httpPool := writeTemp(t, "pool.caddyfile", []byte("localhost {\n\ttls {\n\t\tclient_auth {\n\t\t\tmode require_and_verify\n\t\t\ttrust_pool http http://127.0.0.1:9/ca.pem\n\t\t}\n\t}\n\trespond x\n}\n"))
	base := []string{"check", "--config", "example.Caddyfile"}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"missing --config", []string{"check", "--url", "https://localhost:8443/"}, "--config is required"},
		{"missing --url", append(base, "--cert", good), "--url is required"},
		{"http URL", append(base, "--url", "http://localhost:8080/"), "must be https://"},
		{"bad port", append(base, "--url", "https://localhost:99999/"), "bad port"},
		{"bad --at", append(base, "--url", "https://localhost:8443/", "--at", "tomorrow"), "want an RFC 3339 time"},
		{"config file missing", []string{"check", "--config", filepath.Join(dir, "nope"), "--url", "https://localhost/"}, "no such file"},
		{"config does not adapt", []string{"check", "--config", broken, "--url", "https://localhost/"}, "adapting"},
		{"unknown directive", []string{"check", "--config", unknownDirective, "--url", "https://localhost/"}, "unrecognized directive: no_such_directive"},
		{"bad policy value", []string{"check", "--config", badPolicy, "--url", "https://localhost/"}, "thumbprint"},
		{"unknown adapter", append(base, "--adapter", "yaml", "--url", "https://localhost:8443/"), `unknown config adapter "yaml"`},
		{"not JSON", []string{"check", "--config", notJSON, "--url", "https://localhost/"}, "decoding the JSON configuration"},
		{"no http app", []string{"check", "--config", noHTTP, "--url", "https://localhost/"}, "no http app"},
		{"trust pool over HTTP", []string{"check", "--config", httpPool, "--url", "https://localhost/"}, "a trust pool is fetched over HTTP (provider http), which check does not do"},
		{"no server on the port", append(base, "--url", "https://localhost:9999/"), "no server listens on port 9999"},
		{"host no site serves", append(base, "--url", "https://other.example:8443/api/x"), `serves host "other.example"`},
		{"certificate garbage", append(base, "--cert", garbage, "--url", "https://localhost:8443/"), "--cert: " + garbage + ": not a certificate"},
		{"chain does not parse", append(base, "--cert", good, "--chain", garbage, "--url", "https://localhost:8443/"), "--chain: " + garbage + ": not a certificate"},
		{"chain without cert", append(base, "--chain", good, "--url", "https://localhost:8443/"), "--chain needs --cert"},
		{"positional argument", append(base, "--url", "https://localhost:8443/", "extra"), `unexpected argument "extra"`},
		{"unknown flag", append(base, "--url", "https://localhost:8443/", "--sni", "x"), "unknown flag: --sni"},
		{"flag without value", append(base, "--url"), "flag needs an argument"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errOut, code := cli("", c.args...)
			assertOneLineError(t, out, errOut, code, "caddy client-certificate check: ", c.want)
		})
	}
}

// A JSON configuration, with the deprecated trusted_leaf_certs (Caddy
// still honours it) and a client_certificate verifier after a leaf
// verifier of Caddy's: verifiers run in order, and the first that refuses
// fails the handshake.
func TestCheckJSONConfigVerifiers(t *testing.T) {
	s := pki(t)
	dir := t.TempDir()
	for name, data := range map[string][]byte{"server.pem": s.Server.CertPEM(), "server-key.pem": s.Server.KeyPEM(), "good.pem": s.Good.CertPEM(), "other.pem": s.Other.CertPEM(), "comma.pem": s.CommaCN.CertPEM(), "from-other-ca.pem": s.FromOtherCA.CertPEM()} {
		if err := testpki.WriteFile(filepath.Join(dir, name), data); err != nil {
			t.Fatal(err)
		}
	}
	b64 := func(l *testpki.Leaf) string { return fmt.Sprintf("%q", base64Std(l.Cert.Raw)) }
	cfg := fmt.Sprintf(`{"apps": {
	"tls": {"certificates": {"load_files": [{"certificate": %q, "key": %q}]}},
	"http": {"servers": {"api": {"listen": [":7443"],
		"routes": [{"handle": [{"handler": "static_response", "body": "hello {http.request.tls.client.subject}"}]}],
		"tls_connection_policies": [{"client_authentication": {"mode": "require", "trusted_leaf_certs": [%s, %s],
			"verifiers": [{"verifier": "client_certificate", "thumbprint": [%q, %q]}]}}]}}}}}`,
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"), b64(s.Good), b64(s.CommaCN), sha1Hex(s.Good.Cert), sha1Hex(s.Other.Cert))
	file := writeTemp(t, "caddy.json", []byte(cfg))
	for _, c := range []struct {
		cert, sees, reason string
		ours               int // client_certificate decisions made
	}{
		{"good", "200 \"hello CN=station-042,OU=Stations,O=Contoso Weather,C=US\"", "", 1},
		// The verifier pins station-007; trusted_leaf_certs (first) refuses it.
		{"other", "handshake refused", "handshake refused: trusted_leaf_certs verifier: client leaf certificate failed validation", 0},
		// trusted_leaf_certs allows it; the verifier (after it) refuses.
		{"comma", "handshake refused", "thumbprint_mismatch", 1},
		// Both would refuse: Caddy runs trusted_leaf_certs first, which
		// fails the handshake, and never calls the verifier.
		{"from-other-ca", "handshake refused", "handshake refused: trusted_leaf_certs verifier: client leaf certificate failed validation", 0},
	} {
		rep, code, _ := checkJSON(t, "--config", file, "--cert", filepath.Join(dir, c.cert+".pem"), "--url", "https://localhost:7443/")
		if CheckSees(rep) != c.sees || rep.Reason != c.reason || (code == 0) != (c.reason == "") || len(rep.ClientCertificate) != c.ours {
			t.Errorf("%s: sees %q, reason %q, exit %d, %d client_certificate decisions; want %q, %q, %d", c.cert, CheckSees(rep), rep.Reason, code, len(rep.ClientCertificate), c.sees, c.reason, c.ours)
		}
		if c.ours == 0 && c.reason != "" && (rep.DeniedBy != "" || strings.Join(rep.TLS.Verifiers, ",") != "trusted_leaf_certs") {
			t.Errorf("%s: denied by %q, verifiers run %v; want trusted_leaf_certs alone to refuse", c.cert, rep.DeniedBy, rep.TLS.Verifiers)
		}
	}
	if rep, _, _ := checkJSON(t, "--config", file, "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:7443/"); strings.Join(rep.TLS.Verifiers, ",") != "trusted_leaf_certs,client_certificate" {
		t.Errorf("verifiers: %v", rep.TLS.Verifiers)
	}
}

// report_only: a handler or verifier whose policy denies does not deny.
// Caddy logs the would-be denial and lets the request or handshake go on
// (reportonly_test.go); check says so (would_deny, with the reason and
// the conditions) and answers as Caddy would, exit 0.
func TestCheckReportOnly(t *testing.T) {
	dir, s := DemoPKI(t)
	cfg := writeTemp(t, "Caddyfile", []byte(fmt.Sprintf(`{
	skip_install_trust
}
https://localhost:7443 {
	tls %[1]s/server.pem %[1]s/server-key.pem {
		client_auth {
			mode request
		}
	}
	client_certificate {
		thumbprint %[2]s
		report_only
	}
	respond "handler ok"
}
https://localhost:7444 {
	tls %[1]s/server.pem %[1]s/server-key.pem {
		client_auth {
			mode require_and_verify
			trust_pool file %[1]s/root.pem
			verifier client_certificate {
				thumbprint %[2]s
				report_only
			}
		}
	}
	respond "verifier ok"
}
`, dir, sha1Hex(s.Good.Cert))))
	for _, c := range []struct {
		port, kind, sees string
	}{
		{"7443", "handler", `200 "handler ok"`},
		{"7444", "verifier", `200 "verifier ok"`},
	} {
		rep, code, errOut := checkJSON(t, "--config", cfg, "--cert", filepath.Join(dir, "other.pem"), "--url", "https://localhost:"+c.port+"/")
		if code != 0 || errOut != "" || rep.Verdict != "allowed" || CheckSees(rep) != c.sees || rep.DeniedBy != "" {
			t.Errorf("%s: exit %d (%q), verdict %q by %q, sees %q; want exit 0, allowed, %q", c.kind, code, errOut, rep.Verdict, rep.DeniedBy, CheckSees(rep), c.sees)
		}
		if len(rep.ClientCertificate) != 1 {
			t.Fatalf("%s: client_certificate decisions %+v", c.kind, rep.ClientCertificate)
		}
		m := rep.ClientCertificate[0]
		if m.Kind != c.kind || m.Allowed || !m.ReportOnly || !m.WouldDeny || m.Reason != "thumbprint_mismatch" || len(rep.WouldDeny) != 1 || !strings.HasSuffix(rep.WouldDeny[0], ": "+"thumbprint_mismatch") {
			t.Errorf("%s: decision %+v, would_deny %v", c.kind, m, rep.WouldDeny)
		}
		// The good certificate: allowed, nothing would be denied.
		rep, code, _ = checkJSON(t, "--config", cfg, "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:"+c.port+"/")
		if code != 0 || len(rep.WouldDeny) != 0 || rep.ClientCertificate[0].WouldDeny || !rep.ClientCertificate[0].Allowed {
			t.Errorf("%s, good: exit %d, would_deny %v", c.kind, code, rep.WouldDeny)
		}
	}
	out, _, code := cli("", "check", "--config", cfg, "--cert", filepath.Join(dir, "other.pem"), "--url", "https://localhost:7444/")
	for _, want := range []string{
		"client_certificate: would deny (report_only, not enforced): thumbprint_mismatch\n",
		"                 thumbprint: no match: certificate ",
		"note         report_only: the client_certificate verifier at srv1.tls_connection_policies[0].client_authentication.verifiers[0] would deny (thumbprint_mismatch); Caddy does not enforce it (the handshake goes on",
		"result: allowed: the request reaches static_response at ",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("exit %d, output lacks %q:\n%s", code, want, out)
		}
	}
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// Routes of a group (handle blocks) are exclusive: once one matched, the
// others are skipped, even when it answered nothing.
func TestCheckRouteGroups(t *testing.T) {
	dir, _ := DemoPKI(t)
	cfg := writeTemp(t, "Caddyfile", []byte(fmt.Sprintf(`{
	skip_install_trust
}
https://localhost:7443 {
	tls %[1]s/server.pem %[1]s/server-key.pem
	handle /quiet* {
		vars quiet yes
	}
	handle {
		respond "fallback"
	}
}
`, dir)))
	for path, want := range map[string]string{"/quiet": `200 ""`, "/other": `200 "fallback"`} {
		rep, code, _ := checkJSON(t, "--config", cfg, "--url", "https://localhost:7443"+path)
		if CheckSees(rep) != want || code != 0 {
			t.Errorf("%s: %q (exit %d), want %q", path, CheckSees(rep), code, want)
		}
	}
}

// strict_sni_host (on when client_auth is configured): a request whose
// Host is not its SNI is answered 421; curl sends no SNI for an IP
// address.
func TestCheckStrictSNIHost(t *testing.T) {
	dir, _ := DemoPKI(t)
	rep, code, _ := checkJSON(t, "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "good.pem"), "--url", "https://127.0.0.1:8443/api/observations")
	if rep.SNI != "" || CheckSees(rep) != `421 ""` || code != 1 || !strings.Contains(rep.Reason, "strict host matching") {
		t.Errorf("sni %q, sees %q, exit %d, reason %q", rep.SNI, CheckSees(rep), code, rep.Reason)
	}
}

// --chain presents more certificates after the leaf: the leaf alone does
// not chain to the demo's root, with the intermediate it does (for the
// handler's trust_pool and the TLS layer alike).
func TestCheckChainFlag(t *testing.T) {
	dir, s := DemoPKI(t)
	leaf := writeTemp(t, "leaf.der", s.Good.Cert.Raw)
	inter := filepath.Join(dir, "intermediate.pem")
	for _, c := range []struct {
		url, chain, reason string
	}{
		{"https://localhost:8443/api/observations", "", ReasonUntrusted},
		{"https://localhost:8443/api/observations", inter, ""},
		{"https://localhost:8444/", "", "handshake refused: client_auth (require_and_verify): x509: certificate signed by unknown authority"},
		{"https://localhost:8444/", inter, ""},
	} {
		args := []string{"--config", "example.Caddyfile", "--cert", leaf, "--url", c.url}
		if c.chain != "" {
			args = append(args, "--chain", c.chain)
		}
		rep, code, _ := checkJSON(t, args...)
		if !strings.HasPrefix(rep.Reason, c.reason) || (code == 0) != (c.reason == "") || rep.Certificate.Chain != map[bool]int{true: 1, false: 0}[c.chain != ""] {
			t.Errorf("%s chain %q: exit %d reason %q (chain %d), want reason %q", c.url, c.chain, code, rep.Reason, rep.Certificate.Chain, c.reason)
		}
	}
}

// A handler other than client_certificate that fails the request (here
// basic_auth, without credentials: 401) is a deny too.
func TestCheckOtherHandlerErrors(t *testing.T) {
	dir, _ := DemoPKI(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := writeTemp(t, "Caddyfile", []byte(fmt.Sprintf(`https://localhost:7443 {
	tls %[1]s/server.pem %[1]s/server-key.pem
	basic_auth {
		ops %[2]s
	}
	respond "secret stuff"
}
`, dir, hash)))
	rep, code, _ := checkJSON(t, "--config", cfg, "--url", "https://localhost:7443/")
	if CheckSees(rep) != `401 ""` || code != 1 || rep.Verdict != "denied" || !strings.HasPrefix(rep.DeniedBy, "authentication handler at srv0.routes[0]") {
		t.Errorf("sees %q, exit %d, verdict %q by %q", CheckSees(rep), code, rep.Verdict, rep.DeniedBy)
	}
}

// The server is the one listening on the URL's port; when several do, one
// whose listener names the host (localhost standing for loopback).
func TestCheckServerByListener(t *testing.T) {
	dir, _ := DemoPKI(t)
	cfg := writeTemp(t, "caddy.json", []byte(fmt.Sprintf(`{"apps": {
	"tls": {"certificates": {"load_files": [{"certificate": %q, "key": %q}]}},
	"http": {"servers": {
		"a": {"listen": ["127.0.0.1:7443"], "routes": [{"handle": [{"handler": "static_response", "body": "a"}]}], "tls_connection_policies": [{}]},
		"b": {"listen": ["127.0.0.2:7443"], "routes": [{"handle": [{"handler": "static_response", "body": "b"}]}], "tls_connection_policies": [{}]},
		"c": {"listen": [":7444"], "routes": [{"handle": [{"handler": "static_response", "body": "c"}]}], "tls_connection_policies": [{}]}
	}}}}`, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))))
	for url, want := range map[string]string{
		"https://127.0.0.2:7443/": "b", "https://127.0.0.1:7443/": "a", "https://localhost:7443/": "a", "https://anything.example:7444/": "c",
	} {
		rep, code, _ := checkJSON(t, "--config", cfg, "--url", url)
		if rep.Answer.Body != want || code != 0 {
			t.Errorf("%s: server %s answers %q (exit %d), want %q", url, rep.Server, rep.Answer.Body, code, want)
		}
	}
}

// A connection policy with drop: Caddy drops the connection, a refusal
// (exit 1, with the reason), not a configuration error.
func TestCheckDropPolicy(t *testing.T) {
	dir, _ := DemoPKI(t)
	cfg := writeTemp(t, "caddy.json", []byte(fmt.Sprintf(`{"apps": {
	"tls": {"certificates": {"load_files": [{"certificate": %q, "key": %q}]}},
	"http": {"servers": {"a": {"listen": [":7443"], "routes": [{"handle": [{"handler": "static_response", "body": "a"}]}],
		"tls_connection_policies": [{"match": {"sni": ["blocked.localhost"]}, "drop": true}, {}]}}}}}`,
		filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))))
	rep, code, errOut := checkJSON(t, "--config", cfg, "--cert", filepath.Join(dir, "good.pem"), "--url", "https://blocked.localhost:7443/")
	if code != 1 || errOut != "" || rep.Verdict != "denied" || CheckSees(rep) != "handshake refused" || !strings.Contains(rep.Reason, "has drop") || rep.TLS.Policy != 0 {
		t.Errorf("exit %d (%q), verdict %q, sees %q, reason %q, tls %+v", code, errOut, rep.Verdict, CheckSees(rep), rep.Reason, rep.TLS)
	}
	if rep, code, _ := checkJSON(t, "--config", cfg, "--url", "https://localhost:7443/"); code != 0 || rep.Answer.Body != "a" {
		t.Errorf("another SNI: exit %d, %+v", code, rep.Answer)
	}
}

// Storage is read as Caddy reads it, and never written: a client_auth
// trust pool pki_root local takes the internal CA stored in the
// configured storage (the demo's root, so the demo's good certificate is
// allowed), as does a CA with its own storage; provisioning writes
// nothing there, nor in the storage of a CA it makes (no file added, none changed, mtimes kept).
func TestCheckStorageReadThrough(t *testing.T) {
	dir, s := DemoPKI(t)
	keyPEM := func(k any) []byte {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	storeCA := func(root, id string) {
		for name, data := range map[string][]byte{
			"root.crt": s.Root.CertPEM(), "root.key": keyPEM(s.Root.Key),
			"intermediate.crt": s.Intermediate.CertPEM(), "intermediate.key": keyPEM(s.Intermediate.Key),
		} {
			if err := os.MkdirAll(filepath.Join(root, "pki", "authorities", id), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := testpki.WriteFile(filepath.Join(root, "pki", "authorities", id, name), data); err != nil {
				t.Fatal(err)
			}
		}
	}
	storage, caStorage, freshStorage := t.TempDir(), t.TempDir(), t.TempDir()
	storeCA(storage, "local")
	storeCA(caStorage, "own")
	snapshot := func(root string) map[string]string {
		out := map[string]string{}
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			info, _ := d.Info()
			out[p] = fmt.Sprintf("%v %d %v", info.Mode(), info.Size(), info.ModTime().UnixNano())
			return nil
		})
		return out
	}
	before, caBefore := snapshot(storage), snapshot(caStorage)
	cfg := writeTemp(t, "caddy.json", []byte(fmt.Sprintf(`{
	"storage": {"module": "file_system", "root": %q},
	"apps": {
	"pki": {"certificate_authorities": {"own": {"install_trust": false, "intermediate_lifetime": "1h", "storage": {"module": "file_system", "root": %q}}, "local": {"install_trust": false, "intermediate_lifetime": "1h"},
		"fresh": {"install_trust": false, "storage": {"module": "file_system", "root": %q}}}},
	"tls": {"certificates": {"load_files": [{"certificate": %q, "key": %q}]}},
	"http": {"servers": {
		"a": {"listen": [":7443"], "routes": [{"handle": [{"handler": "static_response", "body": "local ok"}]}],
			"tls_connection_policies": [{"client_authentication": {"mode": "require_and_verify", "ca": {"provider": "pki_root", "authority": ["local"]}}}]},
		"b": {"listen": [":7444"], "routes": [{"handle": [{"handler": "static_response", "body": "own ok"}]}],
			"tls_connection_policies": [{"client_authentication": {"mode": "require_and_verify", "ca": {"provider": "pki_root", "authority": ["own"]}}}]}
	}}}}`, storage, caStorage, freshStorage, filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem"))))
	for _, c := range []struct{ port, body string }{{"7443", "local ok"}, {"7444", "own ok"}} {
		rep, code, errOut := checkJSON(t, "--config", cfg, "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:"+c.port+"/")
		if code != 0 || errOut != "" || rep.Answer.Body != c.body {
			t.Errorf("port %s: exit %d (%q), reason %q, answer %+v; want the stored CA to verify good.pem", c.port, code, errOut, rep.Reason, rep.Answer)
		}
	}
	if after := snapshot(storage); !reflect.DeepEqual(after, before) {
		t.Errorf("storage changed:\nbefore %v\nafter  %v", before, after)
	}
	if after := snapshot(caStorage); !reflect.DeepEqual(after, caBefore) {
		t.Errorf("the CA's storage changed:\nbefore %v\nafter  %v", caBefore, after)
	}
	// A CA with nothing stored is made at provision, in check's overlay.
	if entries, err := os.ReadDir(freshStorage); err != nil || len(entries) != 0 {
		t.Errorf("the new CA's storage %s: %v, %d entries, want it untouched", freshStorage, err, len(entries))
	}
}

// client_certificate({...}) in an expression matcher is evaluated as
// Caddy does, at the current time: the report says so (not --at, not
// explained).
func TestCheckExpressionNote(t *testing.T) {
	dir, s := DemoPKI(t)
	cfg := writeTemp(t, "Caddyfile", []byte(fmt.Sprintf(`{
	skip_install_trust
}
https://localhost:7443 {
	tls %[1]s/server.pem %[1]s/server-key.pem {
		client_auth {
			mode request
		}
	}
	@pinned expression client_certificate({'thumbprint': ['%[2]s']})
	respond @pinned "pinned"
	respond "other"
}
`, dir, sha1Hex(s.Good.Cert))))
	rep, code, _ := checkJSON(t, "--config", cfg, "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:7443/")
	found := false
	for _, n := range rep.Notes {
		found = found || strings.Contains(n, "calls client_certificate(): check evaluates it as Caddy would, at the current time (not --at)")
	}
	if code != 0 || rep.Answer.Body != "pinned" || !found {
		t.Errorf("exit %d, answer %+v, notes %q", code, rep.Answer, rep.Notes)
	}
}
