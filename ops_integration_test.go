// ops_integration_test.go: metrics, report_only and RFC 9440 forwarding
// through a real in-process Caddy: /metrics scraped from the admin endpoint
// after allowed and denied curl requests and after two reloads; the WARN
// entries of report_only in Caddy's log; Client-Cert and Client-Cert-Chain
// as a Go upstream behind reverse_proxy receives them, and never when a
// client tries to set them.

package clientcertificate_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// upstream is the Go backend behind reverse_proxy. It reads the body to
// its end and records, per X-Case, every header field whose name reads as
// Client-Cert or Client-Cert-Chain (any case, '_' or '.' for '-'), and
// every trailer (all of them: X-Other shows that trailers reach it at
// all), and answers with the status Caddy's error route passes in
// X-Error-Status (200 otherwise).
type upstream struct {
	*httptest.Server
	mu       sync.Mutex
	seen     map[string]http.Header
	trailers map[string]http.Header
}

// certFieldName reports whether name reads as Client-Cert or
// Client-Cert-Chain to some server behind a proxy: any case, '_' or '.'
// for '-'.
func certFieldName(name string) bool {
	n := strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(name))
	return n == "client-cert" || n == "client-cert-chain"
}

func newUpstream(t *testing.T) *upstream {
	u := &upstream{seen: map[string]http.Header{}, trailers: map[string]http.Header{}}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := http.Header{}
		for name, v := range r.Header {
			if n := strings.ToLower(name); certFieldName(name) || n == "x-decision" || n == "x-reason" {
				got[name] = v
			}
		}
		io.Copy(io.Discard, r.Body) // the trailers are in r.Trailer once the body ended
		u.mu.Lock()
		u.seen[r.Header.Get("X-Case")] = got
		u.trailers[r.Header.Get("X-Case")] = r.Trailer.Clone()
		u.mu.Unlock()
		status := http.StatusOK
		if s, err := strconv.Atoi(r.Header.Get("X-Error-Status")); err == nil {
			status = s
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "upstream %s", r.Header.Get("X-Decision"))
	}))
	t.Cleanup(u.Close)
	return u
}

// receivedTrailers returns the trailers the upstream saw for a case.
func (u *upstream) receivedTrailers(id string) http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.trailers[id]
}

// received returns what the upstream saw for a case, and whether the
// request reached it.
func (u *upstream) received(id string) (http.Header, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	h, ok := u.seen[id]
	return h, ok
}

// opsCaddyfile serves, on HTTPS under mode request (9443) and on plain HTTP
// (9080), an enforced handler (/enforced) and a report_only one (/report),
// both forwarding the chain to the upstream, with an error route that
// proxies denied requests to the upstream too; a matcher (/matcher); a
// verifier that enforces (9444, with a handler that forwards a chain the
// TLS layer verified) and one under report_only (9445).
func opsCaddyfile(f pkiFiles, upstream, logFile, identity, generation string) string {
	guarded := fmt.Sprintf(`
	handle /enforced {
		client_certificate {
			trust_pool file %[1]s
			identity %[3]s {
				common_name station-042
			}
			forward rfc9440 chain
		}
		reverse_proxy %[2]s {
			header_up X-Decision {http.client_certificate.decision}
		}
	}
	handle /report {
		client_certificate {
			trust_pool file %[1]s
			report_only
			identity %[3]s {
				common_name station-042
			}
			forward rfc9440 chain
		}
		reverse_proxy %[2]s {
			header_up X-Decision {http.client_certificate.decision}
			header_up X-Reason {http.client_certificate.reason}
		}
	}
	handle /matcher {
		@partner client_certificate {
			trust_pool file %[1]s
			common_name station-042
		}
		respond @partner "partner"
		respond "public"
	}
	handle_errors {
		reverse_proxy %[2]s {
			header_up X-Decision {http.client_certificate.decision}
			header_up X-Error-Status {err.status_code}
		}
	}`, f.path("root.pem"), upstream, identity)
	tlsBlock := func(clientAuth string) string { return tlsWithClientAuth(f, clientAuth) }
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	auto_https disable_redirects
	log {
		output file %[1]s
		format json
		level INFO
	}
}

https://localhost:9443 {
	%[2]s
	header X-Generation %[8]s
	%[3]s
}

http://localhost:9080 {
	handle /metrics {
		metrics
	}
	%[3]s
}

https://localhost:9444 {
	%[4]s
	handle /tls-forward {
		client_certificate {
			issuer "%[6]s"
			forward rfc9440 chain
		}
		reverse_proxy %[7]s
	}
	handle /header-up {
		reverse_proxy %[7]s {
			header_up -Client-Cert
			header_up -Client-Cert-Chain
		}
	}
	respond "verifier ok"
}

https://localhost:9445 {
	%[5]s
	respond "verifier report-only ok"
}
`, logFile,
		tlsBlock("\t\t\tmode request"),
		guarded,
		tlsBlock(fmt.Sprintf("\t\t\tmode require_and_verify\n\t\t\ttrust_pool file %s\n\t\t\tverifier client_certificate {\n\t\t\t\tcommon_name station-042\n\t\t\t}", f.path("root.pem"))),
		tlsBlock(fmt.Sprintf("\t\t\tmode require_and_verify\n\t\t\ttrust_pool file %s\n\t\t\tverifier client_certificate {\n\t\t\t\treport_only\n\t\t\t\tcommon_name station-042\n\t\t\t}", f.path("root.pem"))),
		issuerDN,
		upstream,
		generation,
	)
}

// startOps loads opsCaddyfile into the in-process Caddy.
func startOps(t *testing.T, identity string) (pkiFiles, *upstream, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	up := newUpstream(t)
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	loadOps(t, f, up, logFile, identity, "gen-0")
	return f, up, logFile
}

// loadOps loads opsCaddyfile; generation tells loads apart (Caddy ignores
// a load of the configuration it runs).
func loadOps(t *testing.T, f pkiFiles, up *upstream, logFile, identity, generation string) {
	t.Helper()
	newTester(t).InitServer(remap(opsCaddyfile(f, strings.TrimPrefix(up.URL, "http://"), logFile, identity, generation)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
}

// decisionSample is one series of caddy_client_certificate_decisions_total
// as /metrics prints it.
type decisionSample struct{ module, result, reason, identity string }

var sampleLine = regexp.MustCompile(`^caddy_client_certificate_decisions_total\{([^}]*)\} (\S+)$`)

// scrapeDecisions reads the admin endpoint's /metrics and returns the
// decision series and the raw lines of the metric.
func scrapeDecisions(t *testing.T) (map[decisionSample]float64, []string) {
	t.Helper()
	return scrapeDecisionsAt(t, "http://"+remap("localhost:2999")+"/metrics")
}

// scrapeDecisionsAt is scrapeDecisions on another URL (the metrics handler).
func scrapeDecisionsAt(t *testing.T, url string) (map[decisionSample]float64, []string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	out := map[decisionSample]float64{}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_client_certificate_decisions_total") {
			continue
		}
		lines = append(lines, line)
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("unexpected line %q", line)
		}
		labels := map[string]string{}
		for _, pair := range strings.Split(m[1], ",") {
			k, v, _ := strings.Cut(pair, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		if len(labels) != 4 {
			t.Fatalf("labels of %q: want module, result, reason, identity", line)
		}
		value, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatal(err)
		}
		out[decisionSample{labels["module"], labels["result"], labels["reason"], labels["identity"]}] = value
	}
	return out, lines
}

// closedLabelValues fails on any label value outside the closed sets: the
// modules, the results, the deny reasons (empty on allow) and the
// identity names of the configuration (or empty). No certificate data can
// be among them.
func closedLabelValues(t *testing.T, samples map[decisionSample]float64, identities ...string) {
	t.Helper()
	reasons := map[string]bool{"": true, "no_tls": true, "early_data": true, "no_certificate": true, "unverified": true,
		"untrusted": true, "expired": true, "not_yet_valid": true, "no_identity": true, "ca_certificate": true,
		"revoked": true, "revocation_unknown": true}
	for _, c := range []string{"thumbprint", "spki", "subject", "issuer", "common_name", "dns_name", "email", "uri", "ip", "serial", "issuer_thumbprint"} {
		reasons[c+"_mismatch"] = true
	}
	for s := range samples {
		okIdentity := s.identity == ""
		for _, id := range identities {
			okIdentity = okIdentity || s.identity == id
		}
		if (s.module != "handler" && s.module != "matcher" && s.module != "verifier") ||
			(s.result != "allow" && s.result != "deny" && s.result != "would_deny") ||
			!reasons[s.reason] || (s.result == "allow") != (s.reason == "") || !okIdentity {
			t.Errorf("series outside the closed label sets: %+v", s)
		}
	}
}

// curlStatus makes one request with curl, presenting client (a name of
// writePKI, or "none"), and returns "status body", or "handshake".
func curlStatus(t *testing.T, curl string, f pkiFiles, client, url string) string {
	t.Helper()
	bodyFile := filepath.Join(t.TempDir(), "body")
	args := []string{"-sS", "--max-time", "10", "--cacert", f.path("root.pem"), "-w", "%{http_code}", "-o", bodyFile}
	if client != "none" {
		args = append(args, "--cert", f.path(client+".pem"), "--key", f.path(client+"-key.pem"))
	}
	out, err := exec.Command(curl, append(args, remap(url))...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		body, _ := os.ReadFile(bodyFile)
		return strings.TrimSpace(string(out)) + " " + string(body)
	case errors.As(err, &exit) && curlHandshakeRefused[exit.ExitCode()]:
		return "handshake"
	}
	t.Fatalf("curl %s: %v: %s", url, err, out)
	return ""
}

// TestIntegrationMetrics scrapes /metrics on the admin endpoint: the
// series each policy can produce exist at zero after the load; after a mix
// of allowed and denied curl requests every series grew by exactly its
// decisions; a reload of the same configuration keeps every count, and a
// reload that renames an identity drops its series and creates the new
// one at zero, the others unchanged; no label carries certificate data.
func TestIntegrationMetrics(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed")
	}
	f, up, logFile := startOps(t, "station-042")
	start, _ := scrapeDecisions(t)
	closedLabelValues(t, start, "station-042")
	for _, s := range []decisionSample{
		{"handler", "allow", "", "station-042"},
		{"handler", "deny", "no_identity", ""},
		{"handler", "deny", "untrusted", ""},
		{"handler", "would_deny", "no_tls", ""},
		{"matcher", "deny", "common_name_mismatch", ""},
		{"verifier", "deny", "common_name_mismatch", ""},
		{"verifier", "would_deny", "common_name_mismatch", ""},
	} {
		if _, ok := start[s]; !ok {
			t.Errorf("series %+v missing after the load", s)
		}
	}

	for _, c := range []struct{ client, url, want string }{
		{"good", "https://localhost:9443/enforced", "200 upstream allow"},
		{"good", "https://localhost:9443/enforced", "200 upstream allow"},
		{"other", "https://localhost:9443/enforced", "403 upstream deny"},
		{"none", "https://localhost:9443/enforced", "403 upstream deny"},
		{"from-rogue-ca", "https://localhost:9443/enforced", "403 upstream deny"},
		{"none", "http://localhost:9080/enforced", "403 upstream deny"},
		{"other", "https://localhost:9443/report", "200 upstream would_deny"},
		{"none", "http://localhost:9080/report", "200 upstream would_deny"},
		{"good", "https://localhost:9443/report", "200 upstream allow"},
		{"good", "https://localhost:9443/matcher", "200 partner"},
		{"other", "https://localhost:9443/matcher", "200 public"},
		{"good", "https://localhost:9444/", "200 verifier ok"},
		{"other", "https://localhost:9444/", "handshake"},
		{"other", "https://localhost:9445/", "200 verifier report-only ok"},
	} {
		if got := curlStatus(t, curl, f, c.client, c.url); got != c.want {
			t.Errorf("%s %s: got %q, want %q", c.client, c.url, got, c.want)
		}
	}
	after, lines := scrapeDecisions(t)
	closedLabelValues(t, after, "station-042")
	// The metrics handler serves the same registry.
	if handler, _ := scrapeDecisionsAt(t, remap("http://localhost:9080/metrics")); !maps.Equal(handler, after) {
		t.Errorf("the metrics handler serves %d decision series, the admin endpoint %d, or other values", len(handler), len(after))
	}
	want := map[decisionSample]float64{
		{"handler", "allow", "", "station-042"}:                3,
		{"handler", "deny", "no_identity", ""}:                 1,
		{"handler", "deny", "no_certificate", ""}:              1,
		{"handler", "deny", "untrusted", ""}:                   1,
		{"handler", "deny", "no_tls", ""}:                      1,
		{"handler", "would_deny", "no_identity", ""}:           1,
		{"handler", "would_deny", "no_tls", ""}:                1,
		{"matcher", "allow", "", ""}:                           1,
		{"matcher", "deny", "common_name_mismatch", ""}:        1,
		{"verifier", "allow", "", ""}:                          1,
		{"verifier", "deny", "common_name_mismatch", ""}:       1,
		{"verifier", "would_deny", "common_name_mismatch", ""}: 1,
	}
	for s, v := range after {
		if got := v - start[s]; got != want[s] {
			t.Errorf("%+v grew by %v, want %v", s, got, want[s])
		}
	}
	var excerpt []string
	for _, l := range lines {
		if strings.Contains(l, `reason="no_identity"`) || strings.Contains(l, `identity="station-042"`) || strings.Contains(l, `result="would_deny"`) {
			excerpt = append(excerpt, l)
		}
	}
	t.Logf("/metrics after the requests (excerpt):\n%s", strings.Join(excerpt, "\n"))

	// Reload the same policies: every count stays.
	loadOps(t, f, up, logFile, "station-042", "gen-1")
	reloaded, _ := scrapeDecisions(t)
	for s, v := range after {
		if reloaded[s] != v {
			t.Errorf("after a reload of the same policies, %+v = %v, want %v", s, reloaded[s], v)
		}
	}
	// Reload with the identity renamed: its series goes, the new one
	// starts at zero, the others keep their counts.
	loadOps(t, f, up, logFile, "station-042-renamed", "gen-2")
	renamed, _ := scrapeDecisions(t)
	closedLabelValues(t, renamed, "station-042-renamed")
	if _, ok := renamed[decisionSample{"handler", "allow", "", "station-042"}]; ok {
		t.Error("the series of an identity no configuration names any more is still served")
	}
	if v, ok := renamed[decisionSample{"handler", "allow", "", "station-042-renamed"}]; !ok || v != 0 {
		t.Errorf("renamed identity: %v (present %v), want 0", v, ok)
	}
	for s, v := range after {
		if s.identity == "" && renamed[s] != v {
			t.Errorf("after the second reload, %+v = %v, want %v", s, renamed[s], v)
		}
	}
	if got := curlStatus(t, curl, f, "good", "https://localhost:9443/enforced"); got != "200 upstream allow" {
		t.Fatalf("after two reloads: %q", got)
	}
	final, _ := scrapeDecisions(t)
	if v := final[decisionSample{"handler", "allow", "", "station-042-renamed"}]; v != 1 {
		t.Errorf("allow for the renamed identity = %v, want 1", v)
	}

	// Each load said once per report_only module (two handlers, one
	// verifier) that the policy is not enforced.
	entries := readLog(t, logFile)
	if n := countEntries(entries, "warn", "client_certificate report_only: the policy is not enforced"); n != 3*3 {
		t.Errorf("%d report_only warnings over 3 loads, want 9", n)
	}
}

// readLog returns the JSON entries of Caddy's log file.
func readLog(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e map[string]any
		if err := json.Unmarshal(line, &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		e["_raw"] = string(line)
		out = append(out, e)
	}
	return out
}

func countEntries(entries []map[string]any, level, msgPrefix string) int {
	n := 0
	for _, e := range entries {
		if e["level"] == level && strings.HasPrefix(fmt.Sprint(e["msg"]), msgPrefix) {
			n++
		}
	}
	return n
}

// opsClient is a Go client presenting certs (nil: none).
func opsRequest(t *testing.T, s *testpki.Set, url, caseID string, cert *tls.Certificate, spoof bool) string {
	t.Helper()
	var names []string
	if spoof {
		names = []string{"Client-Cert", "Client-Cert-Chain", "client_cert", "CLIENT-CERT-CHAIN", "Client.Cert", "client.cert.chain"}
	}
	return opsRequestSpoofing(t, s, url, caseID, cert, names...)
}

// opsRequestSpoofing makes one request with a header field of each name in
// spoof, holding another client's certificate as RFC 9440 would.
func opsRequestSpoofing(t *testing.T, s *testpki.Set, url, caseID string, cert *tls.Certificate, spoof ...string) string {
	t.Helper()
	cfg := &tls.Config{RootCAs: testpki.Pool(s.Root), ServerName: "localhost"}
	if cert != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	tr := &http.Transport{TLSClientConfig: cfg, DisableKeepAlives: true}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, remap(url), nil)
	req.Header.Set("X-Case", caseID)
	v := ":" + base64.StdEncoding.EncodeToString(s.Other.Cert.Raw) + ":"
	for _, name := range spoof {
		req.Header[name] = []string{v}
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s: %v", caseID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// opsTrailerRequest makes one chunked POST, over HTTP/1.1 written by
// hand, that sends another client's certificate as trailers: Client-Cert
// declared in the Trailer field, Client_cert_chain and Client.Cert not
// (net/http adds undeclared trailers to the same map once one is
// declared), and X-Other, declared, which reverse_proxy is to pass on.
func opsTrailerRequest(t *testing.T, s *testpki.Set, rawURL, caseID string, cert *tls.Certificate) string {
	t.Helper()
	u, err := neturl.Parse(remap(rawURL))
	if err != nil {
		t.Fatal(err)
	}
	var conn net.Conn
	if u.Scheme == "https" {
		cfg := &tls.Config{RootCAs: testpki.Pool(s.Root), ServerName: "localhost", NextProtos: []string{"http/1.1"}}
		if cert != nil {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		conn, err = tls.Dial("tcp", u.Host, cfg)
	} else {
		conn, err = net.Dial("tcp", u.Host)
	}
	if err != nil {
		t.Fatalf("%s: %v", caseID, err)
	}
	defer conn.Close()
	v := ":" + base64.StdEncoding.EncodeToString(s.Other.Cert.Raw) + ":"
	req := "POST " + u.Path + " HTTP/1.1\r\nHost: " + u.Host + "\r\nX-Case: " + caseID +
		"\r\nTrailer: Client-Cert, X-Other\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
		"4\r\nbody\r\n0\r\nClient-Cert: " + v + "\r\nClient_cert_chain: " + v + "\r\nClient.Cert: " + v +
		"\r\nX-Other: passed\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("%s: %v", caseID, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s: %v", caseID, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// checkTrailers fails unless the upstream received, for a case, X-Other
// (so trailers do reach it) and no trailer read as a Client-Cert field.
func checkTrailers(t *testing.T, up *upstream, id string) {
	t.Helper()
	tr := up.receivedTrailers(id)
	if tr.Get("X-Other") != "passed" {
		t.Errorf("%s: the upstream got trailers %v, without X-Other the test proves nothing", id, tr)
	}
	if names := fieldNames(tr); len(names) != 0 {
		t.Errorf("%s: the upstream received the trailers %v", id, names)
	}
}

// byteSequences decodes an RFC 8941 list of byte sequences into
// certificates.
func byteSequences(t *testing.T, v string) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for _, m := range strings.Split(v, ", ") {
		if len(m) < 2 || m[0] != ':' || m[len(m)-1] != ':' {
			t.Fatalf("%q is not an RFC 8941 byte sequence", m)
		}
		der, err := base64.StdEncoding.Strict().DecodeString(m[1 : len(m)-1])
		if err != nil {
			t.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// TestIntegrationForwardRFC9440: a Go upstream behind reverse_proxy
// receives, on an allowed request, Client-Cert holding the presented leaf
// (its SHA-256 checked) and Client-Cert-Chain holding the verified chain's
// issuing CA only (not the leaf, not the trust anchor, not a certificate
// the client presented besides its chain), whether the policy's trust_pool
// or the TLS layer verified it. It never receives the fields a client
// sends: not on plain HTTP, TLS without a certificate or a denied
// certificate, whether the request reaches it through report_only or
// through the error route of an enforced handler, nor on an allowed
// request (replaced by the real values).
func TestIntegrationForwardRFC9440(t *testing.T) {
	f, up, logFile := startOps(t, "station-042")
	s := f.set
	good := s.Good.TLSCertificate()
	goodWithExtra := s.Good.TLSCertificate()
	goodWithExtra.Certificate = append(goodWithExtra.Certificate, s.OtherRoot.Cert.Raw)
	other := s.Other.TLSCertificate()
	wantLeaf := sha256.Sum256(s.Good.Cert.Raw)

	allowed := []struct{ id, url string }{
		{"trust_pool", "https://localhost:9443/enforced"},
		{"trust_pool, report_only", "https://localhost:9443/report"},
		{"TLS-verified", "https://localhost:9444/tls-forward"},
	}
	for _, c := range allowed {
		for _, extra := range []bool{false, true} {
			id := fmt.Sprintf("%s extra=%v", c.id, extra)
			cert := &good
			if extra {
				cert = &goodWithExtra
			}
			if got := opsRequest(t, s, c.url, id, cert, true); !strings.HasPrefix(got, "200 upstream") {
				t.Fatalf("%s: %q", id, got)
			}
			h, ok := up.received(id)
			if !ok {
				t.Fatalf("%s: the upstream saw nothing", id)
			}
			if len(fieldNames(h)) != 2 || len(h.Values("Client-Cert")) != 1 || len(h.Values("Client-Cert-Chain")) != 1 {
				t.Fatalf("%s: upstream saw %v, want exactly one Client-Cert and one Client-Cert-Chain", id, fieldNames(h))
			}
			leaf := byteSequences(t, h.Get("Client-Cert"))
			if len(leaf) != 1 || sha256.Sum256(leaf[0].Raw) != wantLeaf {
				t.Errorf("%s: Client-Cert is not the presented certificate (SHA-256)", id)
			}
			chain := byteSequences(t, h.Get("Client-Cert-Chain"))
			if len(chain) != 1 || !chain[0].Equal(s.Intermediate.Cert) {
				t.Errorf("%s: Client-Cert-Chain holds %d certificates, want the issuing CA alone", id, len(chain))
			}
		}
		// The same, with the other client's certificate in trailers: the
		// upstream sees the genuine header fields and no such trailer.
		id := c.id + " trailers"
		if got := opsTrailerRequest(t, s, c.url, id, &good); !strings.HasPrefix(got, "200 upstream") {
			t.Fatalf("%s: %q", id, got)
		}
		h, _ := up.received(id)
		if len(fieldNames(h)) != 2 || len(h.Values("Client-Cert")) != 1 {
			t.Errorf("%s: upstream saw %v, want Client-Cert and Client-Cert-Chain", id, fieldNames(h))
		} else if leaf := byteSequences(t, h.Get("Client-Cert")); len(leaf) != 1 || sha256.Sum256(leaf[0].Raw) != wantLeaf {
			t.Errorf("%s: Client-Cert is not the presented certificate (SHA-256)", id)
		}
		checkTrailers(t, up, id)
	}

	// Spoofing: the upstream is reached (report_only lets the request go
	// on; an enforced handler's error route proxies it) and sees none of
	// the fields the client sent.
	for _, c := range []struct {
		id, url string
		cert    *tls.Certificate
		want    string
	}{
		{"plain HTTP, report_only", "http://localhost:9080/report", nil, "200 upstream would_deny"},
		{"no certificate, report_only", "https://localhost:9443/report", nil, "200 upstream would_deny"},
		{"denied certificate, report_only", "https://localhost:9443/report", &other, "200 upstream would_deny"},
		{"plain HTTP, enforced", "http://localhost:9080/enforced", nil, "403 upstream deny"},
		{"no certificate, enforced", "https://localhost:9443/enforced", nil, "403 upstream deny"},
		{"denied certificate, enforced", "https://localhost:9443/enforced", &other, "403 upstream deny"},
	} {
		if got := opsRequest(t, s, c.url, c.id, c.cert, true); got != c.want {
			t.Errorf("%s: got %q, want %q", c.id, got, c.want)
			continue
		}
		h, ok := up.received(c.id)
		if !ok {
			t.Errorf("%s: the upstream was not reached, so the test proves nothing", c.id)
			continue
		}
		if names := fieldNames(h); len(names) != 0 {
			t.Errorf("%s: the upstream received %v", c.id, names)
		}
		// The same, with the fields as trailers of a chunked POST.
		id := c.id + " trailers"
		if got := opsTrailerRequest(t, s, c.url, id, c.cert); got != c.want {
			t.Errorf("%s: got %q, want %q", id, got, c.want)
			continue
		}
		if h, ok := up.received(id); !ok || len(fieldNames(h)) != 0 {
			t.Errorf("%s: reached=%v, the upstream received %v", id, ok, fieldNames(h))
		}
		checkTrailers(t, up, id)
	}

	// A route without the handler, proxying with header_up -Client-Cert and
	// -Client-Cert-Chain (the README's Keycloak recipe): what a client sends
	// under those names, in any case, does not reach the upstream.
	if got := opsRequestSpoofing(t, s, "https://localhost:9444/header-up", "header_up", &good,
		"Client-Cert", "client-cert-chain", "CLIENT-CERT"); got != "200 upstream " {
		t.Errorf("header_up route: %q", got)
	}
	if h, ok := up.received("header_up"); !ok || len(fieldNames(h)) != 0 {
		t.Errorf("header_up route: reached=%v, the upstream received %v", ok, fieldNames(h))
	}

	// The would-be denials above, in Caddy's log at WARN.
	var wouldDeny []map[string]any
	for _, e := range readLog(t, logFile) {
		if e["msg"] == "client certificate would be denied" {
			wouldDeny = append(wouldDeny, e)
		}
	}
	if len(wouldDeny) != 6 {
		t.Fatalf("%d would-deny entries, want 6 (3 cases, each with header fields and with trailers)", len(wouldDeny))
	}
	for _, e := range wouldDeny {
		if e["level"] != "warn" || !strings.HasPrefix(fmt.Sprint(e["host"]), "localhost:") || e["uri"] != "/report" || e["module"] != "handler" {
			t.Errorf("would-deny entry: %s", e["_raw"])
		}
	}
	if e := wouldDeny[4]; e["reason"] != "no_identity" || e["subject"] != "CN=station-007,OU=Stations,O=Contoso Weather,C=US" {
		t.Errorf("would-deny entry of the denied certificate: %s", e["_raw"])
	}
	t.Logf("report_only log line: %s", wouldDeny[4]["_raw"])
}

// fieldNames lists the Client-Cert fields of h, in any spelling.
func fieldNames(h http.Header) []string {
	var out []string
	for name := range h {
		if certFieldName(name) {
			out = append(out, name)
		}
	}
	return out
}

// twoHandlersCaddyfile serves on HTTPS a site-wide handler that forwards
// the chain and, under /admin/*, a stricter one that does not forward, and
// under /own/* one that forwards of its own without the chain; denied
// requests reach the upstream through the error route.
func twoHandlersCaddyfile(f pkiFiles, upstream string) string {
	return fmt.Sprintf(testGlobalOptions+`
https://localhost:9443 {
	tls %[1]s %[2]s {
		client_auth {
			mode request
		}
	}
	client_certificate {
		trust_pool file %[3]s
		forward rfc9440 chain
	}
	handle /admin/* {
		client_certificate {
			trust_pool file %[3]s
			identity admin {
				common_name station-042
			}
		}
		reverse_proxy %[4]s
	}
	handle /own/* {
		client_certificate {
			trust_pool file %[3]s
			identity admin {
				common_name station-042
			}
			forward rfc9440
		}
		reverse_proxy %[4]s
	}
	handle_errors {
		reverse_proxy %[4]s {
			header_up X-Error-Status {err.status_code}
		}
	}
	reverse_proxy %[4]s
}
`, f.path("server.pem"), f.path("server-key.pem"), f.path("root.pem"), upstream)
}

// TestIntegrationForwardTwoHandlers: with a site-wide handler that
// forwards and a stricter handler later in the same route chain, the
// upstream under the stricter one receives the site-wide handler's
// Client-Cert and Client-Cert-Chain (the later handler does not take them
// for the client's), and under a later handler that forwards of its own,
// that handler's Client-Cert and no Client-Cert-Chain; what the client
// sends, as header fields or trailers, never reaches it.
func TestIntegrationForwardTwoHandlers(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	up := newUpstream(t)
	newTester(t).InitServer(remap(twoHandlersCaddyfile(f, strings.TrimPrefix(up.URL, "http://"))), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	s := f.set
	good := s.Good.TLSCertificate()
	wantLeaf := sha256.Sum256(s.Good.Cert.Raw)
	for _, c := range []struct {
		id, url   string
		wantChain bool
	}{
		{"stricter handler", "https://localhost:9443/admin/x", true},
		{"stricter handler forwarding its own", "https://localhost:9443/own/x", false},
	} {
		for _, trailers := range []bool{false, true} {
			id := fmt.Sprintf("%s trailers=%v", c.id, trailers)
			var got string
			if trailers {
				got = opsTrailerRequest(t, s, c.url, id, &good)
			} else {
				got = opsRequest(t, s, c.url, id, &good, true)
			}
			if got != "200 upstream " {
				t.Errorf("%s: %q", id, got)
				continue
			}
			h, _ := up.received(id)
			wantFields := 1
			if c.wantChain {
				wantFields = 2
			}
			if len(fieldNames(h)) != wantFields || len(h.Values("Client-Cert")) != 1 || len(h.Values("Client-Cert-Chain")) != wantFields-1 {
				t.Errorf("%s: upstream saw %v, want Client-Cert once and Client-Cert-Chain %d times", id, fieldNames(h), wantFields-1)
				continue
			}
			if leaf := byteSequences(t, h.Get("Client-Cert")); len(leaf) != 1 || sha256.Sum256(leaf[0].Raw) != wantLeaf {
				t.Errorf("%s: Client-Cert is not the presented certificate (SHA-256)", id)
			}
			if c.wantChain {
				if chain := byteSequences(t, h.Get("Client-Cert-Chain")); len(chain) != 1 || !chain[0].Equal(s.Intermediate.Cert) {
					t.Errorf("%s: Client-Cert-Chain is not the issuing CA alone", id)
				}
			}
			if trailers {
				checkTrailers(t, up, id)
			}
		}
	}
	// Denied by the site-wide handler: the error route's upstream gets
	// nothing the client sent.
	for _, trailers := range []bool{false, true} {
		id := fmt.Sprintf("no certificate trailers=%v", trailers)
		var got string
		if trailers {
			got = opsTrailerRequest(t, s, "https://localhost:9443/admin/x", id, nil)
		} else {
			got = opsRequest(t, s, "https://localhost:9443/admin/x", id, nil, true)
		}
		if got != "403 upstream " {
			t.Errorf("%s: %q", id, got)
			continue
		}
		if h, ok := up.received(id); !ok || len(fieldNames(h)) != 0 {
			t.Errorf("%s: reached=%v, the upstream received %v", id, ok, fieldNames(h))
		}
		if trailers {
			checkTrailers(t, up, id)
		}
	}
}
