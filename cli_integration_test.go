// cli_integration_test.go: the commands against a real in-process Caddy
// and curl: a certificate made by openssl, inspected, its block pasted into
// a Caddyfile, allows it in check and with curl, and one changed field
// denies in both with the matching reason; and check agrees with curl on
// every row of the demo (example.Caddyfile).

package clientcertificate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	clientcertificate "github.com/caddy-mtls/caddy-client-certificate"
)

// checkJSONReport is the part of check --json these tests read.
type checkJSONReport struct {
	Verdict           string `json:"verdict"`
	Reason            string `json:"reason"`
	ExitStatus        int    `json:"exit_status"`
	ClientCertificate []struct {
		Kind      string `json:"kind"`
		Allowed   bool   `json:"allowed"`
		WouldDeny bool   `json:"would_deny"`
		Reason    string `json:"reason"`
		Identity  string `json:"identity"`
		Steps     []struct {
			Step       string `json:"step"`
			Name       string `json:"name"`
			Result     string `json:"result"`
			Conditions []struct {
				Condition   string   `json:"condition"`
				Match       bool     `json:"match"`
				Certificate []string `json:"certificate"`
				Policy      []string `json:"policy"`
			} `json:"conditions"`
		} `json:"steps"`
	} `json:"client_certificate"`
	Answer struct {
		Handshake string `json:"handshake"`
		Status    int    `json:"status"`
		Body      string `json:"body"`
	} `json:"answer"`
}

// sees is what check says a client would see: "CODE BODY", or "handshake".
func (r *checkJSONReport) sees() string {
	if r.Answer.Handshake != "" {
		return "handshake"
	}
	return fmt.Sprintf("%d %s", r.Answer.Status, r.Answer.Body)
}

func runCheckJSON(t *testing.T, args ...string) *checkJSONReport {
	t.Helper()
	var out, errOut bytes.Buffer
	code := clientcertificate.RunCLI(append([]string{"check", "--json"}, args...), strings.NewReader(""), &out, &errOut)
	if code == 2 || errOut.Len() > 0 {
		t.Fatalf("check %v: exit %d: %s", args, code, errOut.String())
	}
	var rep checkJSONReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out.String())
	}
	if rep.ExitStatus != code {
		t.Fatalf("exit %d, report says %d", code, rep.ExitStatus)
	}
	return &rep
}

// requireTool finds a tool the end-to-end tests need: skipped if missing,
// unless REQUIRE_OPENSSL is set (make test), which makes it a failure.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REQUIRE_OPENSSL") != "" {
			t.Fatalf("%s is not installed, and REQUIRE_OPENSSL is set", name)
		}
		t.Skipf("%s is not installed", name)
	}
	return p
}

// curlSees requests url with curl, presenting cert and key ("" for none),
// and returns "CODE BODY", or "handshake" when the server refused the
// handshake.
func curlSees(t *testing.T, curl, cacert, cert, key, url string) string {
	t.Helper()
	bodyFile := filepath.Join(t.TempDir(), "body")
	args := []string{"-sS", "--noproxy", "*", "--max-time", "10", "--cacert", cacert, "-w", "%{http_code}", "-o", bodyFile}
	if cert != "" {
		args = append(args, "--cert", cert, "--key", key)
	}
	out, err := exec.Command(curl, append(args, url)...).CombinedOutput()
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

func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The loop: openssl makes a CA and a client certificate; inspect prints a
// block, which pasted into a Caddyfile allows that certificate in check and
// with curl against a real Caddy; a block with one field changed denies in
// both, with the reason of that field; check sees what curl sees, status
// and body.
func TestCLIInspectPasteCheckCurl(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	openssl := requireTool(t, "openssl")
	curl := requireTool(t, "curl")
	dir := t.TempDir()
	run(t, dir, openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/C=US/O=Loop Test/CN=Loop Test CA",
		"-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
	run(t, dir, openssl, "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", "leaf-key.pem", "-out", "leaf.csr", "-subj", "/C=US/O=Loop Test/OU=Sensors/CN=sensor-7")
	if err := os.WriteFile(filepath.Join(dir, "ext.cnf"), []byte("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\nsubjectAltName=DNS:sensor-7.loop.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, dir, openssl, "x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem",
		"-set_serial", "0x1234ABCD", "-days", "1", "-out", "leaf.pem", "-extfile", "ext.cnf")
	leaf, leafKey := filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "leaf-key.pem")

	// inspect agrees with openssl on what openssl prints.
	var out, errOut bytes.Buffer
	if code := clientcertificate.RunCLI([]string{"inspect", "--json", leaf}, strings.NewReader(""), &out, &errOut); code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, errOut.String())
	}
	var inspected struct {
		Certificates []struct {
			Thumbprint, Subject, Issuer, Serial, Caddyfile string
		} `json:"certificates"`
	}
	if err := json.Unmarshal(out.Bytes(), &inspected); err != nil {
		t.Fatal(err)
	}
	info := inspected.Certificates[0]
	fingerprint := run(t, dir, openssl, "x509", "-in", "leaf.pem", "-noout", "-fingerprint", "-sha1")
	if want := strings.ReplaceAll(strings.TrimSpace(fingerprint[strings.Index(fingerprint, "=")+1:]), ":", ""); info.Thumbprint != want {
		t.Errorf("thumbprint %s, openssl says %s", info.Thumbprint, want)
	}
	for _, c := range []struct{ got, arg, want string }{
		{info.Subject, "-subject", "subject=CN=sensor-7,OU=Sensors,O=Loop Test,C=US"},
		{info.Issuer, "-issuer", "issuer=CN=Loop Test CA,O=Loop Test,C=US"},
		{"serial=" + info.Serial, "-serial", "serial=1234ABCD"},
	} {
		args := []string{"x509", "-in", "leaf.pem", "-noout", c.arg}
		if c.arg != "-serial" {
			args = append(args, "-nameopt", "RFC2253")
		}
		printed := strings.TrimSpace(run(t, dir, openssl, args...))
		if printed != c.want || !strings.HasSuffix(printed, c.got) {
			t.Errorf("inspect %q, openssl %s prints %q (want %q)", c.got, c.arg, printed, c.want)
		}
	}

	f := writePKI(t) // the server's certificate, and the root curl trusts
	taken := map[int]bool{}
	ports := make([]int, 3)
	for i := range ports {
		p, err := pickFreePort(taken)
		if err != nil {
			t.Fatal(err)
		}
		taken[p], ports[i] = true, p
	}
	site := fmt.Sprintf("https://localhost:%d/loop", ports[0])
	caddyfile := func(block string) string {
		indented := "\t\t" + strings.ReplaceAll(strings.TrimSuffix(block, "\n"), "\n", "\n\t\t") + "\n"
		return fmt.Sprintf(`{
	admin %s
	http_port %d
	https_port %d
	skip_install_trust
	auto_https disable_redirects
}

https://localhost:%d {
	tls %s %s {
		client_auth {
			mode request
		}
	}
	handle /loop {
%s		respond "ok {http.client_certificate.identity}"
	}
	handle_errors {
		respond "denied {http.client_certificate.reason}" {err.status_code}
	}
}
`, remap("localhost:2999"), ports[1], ports[2], ports[0], f.path("server.pem"), f.path("server-key.pem"), indented)
	}

	block := info.Caddyfile
	thumb := info.Thumbprint
	otherThumb := thumb[:len(thumb)-1] + map[bool]string{true: "0", false: "1"}[thumb[len(thumb)-1] != '0']
	for _, c := range []struct {
		name, from, to string
		want           string // what curl and check see
		reason         string
		failing        string // the condition that does not hold
	}{
		{"as printed", "", "", "200 ok sensor-7", "", ""},
		{"thumbprint changed", "thumbprint " + thumb, "thumbprint " + otherThumb, "403 denied thumbprint_mismatch", "thumbprint_mismatch", "thumbprint"},
		{"subject changed", "CN=sensor-7,", "CN=sensor-8,", "403 denied no_identity", "no_identity", "subject"},
		{"issuer changed", `issuer "CN=Loop Test CA,`, `issuer "CN=Loop Test CA 2,`, "403 denied no_identity", "no_identity", "issuer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := block
			if c.from != "" {
				if !strings.Contains(b, c.from) {
					t.Fatalf("the block has no %q:\n%s", c.from, b)
				}
				b = strings.Replace(b, c.from, c.to, 1)
			}
			cfg := caddyfile(b)
			cfgFile := filepath.Join(t.TempDir(), "Caddyfile")
			if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			newTester(t).InitServer(cfg, "caddyfile")
			if t.Failed() {
				t.FailNow()
			}
			rep := runCheckJSON(t, "--config", cfgFile, "--cert", leaf, "--url", site)
			curlSaw := curlSees(t, curl, f.path("root.pem"), leaf, leafKey, site)
			if curlSaw != c.want || rep.sees() != curlSaw {
				t.Errorf("curl sees %q, check %q, want %q", curlSaw, rep.sees(), c.want)
			}
			if len(rep.ClientCertificate) != 1 {
				t.Fatalf("client_certificate decisions: %+v", rep.ClientCertificate)
			}
			d := rep.ClientCertificate[0]
			if c.reason == "" {
				if !d.Allowed || d.Identity != "sensor-7" || rep.ExitStatus != 0 {
					t.Errorf("check: %+v, exit %d", d, rep.ExitStatus)
				}
				return
			}
			if d.Allowed || d.Reason != c.reason || rep.Reason != c.reason || rep.ExitStatus != 1 {
				t.Errorf("check: allowed %v reason %q (%q), exit %d; want reason %q", d.Allowed, d.Reason, rep.Reason, rep.ExitStatus, c.reason)
			}
			// Exactly the changed field fails, and it is named with both
			// sides.
			var failing []string
			for _, st := range d.Steps {
				for _, cond := range st.Conditions {
					if !cond.Match {
						failing = append(failing, cond.Condition)
						if !strings.Contains(strings.Join(cond.Policy, ","), strings.TrimPrefix(strings.TrimPrefix(c.to, "thumbprint "), `issuer "`)) {
							t.Errorf("%s: policy side %q lacks the changed value %q", cond.Condition, cond.Policy, c.to)
						}
					}
				}
			}
			if strings.Join(failing, ",") != c.failing {
				t.Errorf("conditions that do not hold: %v, want %s", failing, c.failing)
			}
		})
	}
}

// Every row of the demo, against a real Caddy serving example.Caddyfile:
// check sees what curl sees, and both see what the demo expects.
func TestCLIAgreesWithCurlOnDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	curl := requireTool(t, "curl")
	dir, _ := clientcertificate.DemoPKI(t)
	taken := map[int]bool{}
	port := func() string {
		p, err := pickFreePort(taken)
		if err != nil {
			t.Fatal(err)
		}
		taken[p] = true
		return fmt.Sprint(p)
	}
	ports := map[string]string{"8443": port(), "8444": port()}
	t.Setenv("API_PORT", ports["8443"])
	t.Setenv("INGEST_PORT", ports["8444"])
	t.Setenv("HTTP_PORT", port())
	t.Setenv("ADMIN_ADDR", remap("localhost:2999"))
	example, err := os.ReadFile("example.Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	newTester(t).InitServer(string(example), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range clientcertificate.DemoCases(t) {
		t.Run(c.Desc+"/"+c.Cert, func(t *testing.T) {
			url := "https://localhost:" + ports[c.Port] + c.Path
			args := []string{"--config", "example.Caddyfile", "--url", url}
			cert, key := "", ""
			if c.Cert != "-" {
				cert, key = filepath.Join(dir, c.Cert+".pem"), filepath.Join(dir, c.Cert+"-key.pem")
				args = append(args, "--cert", cert)
			}
			rep := runCheckJSON(t, args...)
			curlSaw := curlSees(t, curl, filepath.Join(dir, "root.pem"), cert, key, url)
			if rep.sees() != curlSaw {
				t.Errorf("check sees %q, curl %q", rep.sees(), curlSaw)
			}
			if got := demoWords(curlSaw); got != c.Want {
				t.Errorf("curl sees %q (%q), the demo expects %q", curlSaw, got, c.Want)
			}
		})
	}
	// Beyond the demo: by IP address curl sends no SNI, and Caddy's
	// strict_sni_host answers 421.
	url := "https://127.0.0.1:" + ports["8443"] + "/api/observations"
	rep := runCheckJSON(t, "--config", "example.Caddyfile", "--url", url, "--cert", filepath.Join(dir, "good.pem"))
	curlSaw := curlSees(t, curl, filepath.Join(dir, "root.pem"), filepath.Join(dir, "good.pem"), filepath.Join(dir, "good-key.pem"), url)
	if rep.sees() != curlSaw || curlSaw != "421 " {
		t.Errorf("by IP address: check sees %q, curl %q, want \"421 \"", rep.sees(), curlSaw)
	}
}

// demoWords puts "CODE BODY" as the demo's table does.
func demoWords(saw string) string {
	if saw == "handshake" {
		return "handshake refused"
	}
	code, body, _ := strings.Cut(saw, " ")
	return code + " " + clientcertificate.DemoSummary(body)
}

// check provisions a configuration in the process it runs in; it must
// leave nothing behind in Caddy's process-wide state. Here check
// provisions example.Caddyfile, whose site is localhost with one PKI's
// server certificate, and then a Caddy of the same process serves
// localhost with another PKI's: it must present its own, before and after
// more checks.
func TestCheckLeavesNoCertificateBehind(t *testing.T) {
	dir, _ := clientcertificate.DemoPKI(t)
	check := func() {
		t.Helper()
		rep := runCheckJSON(t, "--config", "example.Caddyfile", "--cert", filepath.Join(dir, "good.pem"), "--url", "https://localhost:8443/api/x")
		if rep.Verdict != "allowed" {
			t.Fatalf("check: %+v", rep)
		}
	}
	check()
	f := startCaddy(t)
	s := f.set
	for i := range 3 {
		if got := request(t, s, s.Good, "https://localhost:9443/handler/pool", false); got != "200 pool ok" {
			t.Fatalf("request %d: %q", i, got)
		}
		check()
	}
}

// report_only, against the real thing: the in-process Caddy lets a
// certificate the policy denies through a report_only handler and a
// report_only verifier, and check says the same (allowed, exit 0, the
// module's would_deny recorded).
func TestCLIReportOnlyAgreesWithCaddy(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	s := f.set
	cfg := remap(fmt.Sprintf(testGlobalOptions+`https://localhost:9443 {
	tls %[1]s %[2]s {
		client_auth {
			mode request
		}
	}
	client_certificate {
		thumbprint %[3]s
		report_only
	}
	respond "handler ok"
}
https://localhost:9445 {
	tls %[1]s %[2]s {
		client_auth {
			mode require_and_verify
			trust_pool file %[4]s
			verifier client_certificate {
				thumbprint %[3]s
				report_only
			}
		}
	}
	respond "verifier ok"
}
`, f.path("server.pem"), f.path("server-key.pem"), sha1Of(s.Good.Cert), f.path("root.pem")))
	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	newTester(t).InitServer(cfg, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range []struct{ port, want string }{{"9443", "200 handler ok"}, {"9445", "200 verifier ok"}} {
		url := "https://localhost:" + c.port + "/"
		if got := request(t, s, s.Other, url, false); got != c.want {
			t.Fatalf("Caddy answers %s with %q, want %q", url, got, c.want)
		}
		rep := runCheckJSON(t, "--config", file, "--cert", f.path("other.pem"), "--url", remap(url))
		if rep.sees() != c.want || rep.ExitStatus != 0 || rep.Verdict != "allowed" || len(rep.ClientCertificate) != 1 || !rep.ClientCertificate[0].WouldDeny || rep.ClientCertificate[0].Allowed {
			t.Errorf("%s: check sees %q (exit %d, verdict %q, decisions %+v); Caddy answers %q", url, rep.sees(), rep.ExitStatus, rep.Verdict, rep.ClientCertificate, c.want)
		}
	}
}
