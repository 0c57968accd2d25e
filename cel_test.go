// cel_test.go: client_certificate({...}) inside `expression` matchers,
// through Caddy's own CEL matcher: decisions on real chains, the same
// placeholders and log entries as the matcher module, errors at provision
// and validate, one policy compile per expression, and a library that
// costs configs that do not use it nothing (BenchmarkCELLibrary).

package clientcertificate

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"cel.dev/cel-go/cel"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// celConfigContext is a context with a (default, empty) Caddy config, so
// that modules log as in a server: at INFO, not every debug decision.
var celConfigContext = sync.OnceValues(func() (caddy.Context, error) { return caddy.ProvisionContext(nil) })

// provisionExpression provisions an `expression` matcher as Caddy does,
// with every http.matchers module's CEL library, ours included.
func provisionExpression(t testing.TB, expr string) (*caddyhttp.MatchExpression, error) {
	t.Helper()
	root, err := celConfigContext()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(root)
	t.Cleanup(cancel)
	m := &caddyhttp.MatchExpression{Expr: expr}
	return m, m.Provision(ctx)
}

func mustExpression(t testing.TB, expr string) *caddyhttp.MatchExpression {
	t.Helper()
	m, err := provisionExpression(t, expr)
	if err != nil {
		t.Fatalf("provisioning %s: %v", expr, err)
	}
	return m
}

// celRequest builds a request as Caddy's server hands it to matchers: a
// replacer and vars in its context.
func celRequest(path string, cs *tls.ConnectionState) (*http.Request, *caddy.Replacer) {
	r := httptest.NewRequest(http.MethodGet, "https://localhost"+path, nil)
	r.TLS = cs
	r.RemoteAddr = "192.0.2.7:5555"
	repl := caddy.NewReplacer()
	return caddyhttp.PrepareRequest(r, repl, nil, nil), repl
}

func TestCELDecisions(t *testing.T) {
	s := pki(t)
	pin := sha1Hex(s.Good.Cert)
	earlyData := &tls.ConnectionState{PeerCertificates: presented(s.Good)} // handshake not complete
	type request struct {
		path     string
		cs       *tls.ConnectionState
		match    bool
		reason   string // {http.client_certificate.reason} after it; "-": not checked
		verified string // {http.client_certificate.verified} after a match
		status   int    // the error's status; 0: no error
	}
	for _, c := range []struct {
		name     string
		expr     string
		requests []request
	}{
		{"thumbprint pin, list", `client_certificate({'thumbprint': ['` + pin + `']})`, []request{
			{path: "/x", cs: state(s.Good, false, nil), match: true, verified: "false"},
			{path: "/x", cs: state(s.Good, true, s.Root), match: true, verified: "true"},
			{path: "/x", cs: state(s.Other, true, s.Root), reason: "thumbprint_mismatch"},
			{path: "/x", cs: state(s.SelfSignedGood, false, nil), reason: "thumbprint_mismatch"},
			{path: "/x", cs: nil, reason: ReasonNoTLS},
			{path: "/x", cs: &tls.ConnectionState{HandshakeComplete: true}, reason: ReasonNoCertificate},
		}},
		{"thumbprint pin, one string, SHA-256", `client_certificate({'thumbprint': '` + sha256Hex(s.Good.Cert) + `'})`, []request{
			{path: "/x", cs: state(s.Good, false, nil), match: true, verified: "false"},
			{path: "/x", cs: state(s.Other, false, nil), reason: "thumbprint_mismatch"},
		}},
		{"subject and path", `client_certificate({'subject': ['` + goodSubject + `']}) && path('/admin/*')`, []request{
			{path: "/admin/users", cs: state(s.Good, true, s.Root), match: true, verified: "true"},
			{path: "/public", cs: state(s.Good, true, s.Root), reason: "-"},
			{path: "/admin/users", cs: state(s.Other, true, s.Root), reason: "subject_mismatch"},
			// names on a chain nobody verified: refused, however well they match
			{path: "/admin/users", cs: state(s.Good, false, nil), reason: ReasonUnverified},
			{path: "/admin/users", cs: state(s.SelfSignedGood, false, nil), reason: ReasonUnverified},
			{path: "/admin/users", cs: state(s.FromRogueCA, false, nil), reason: ReasonUnverified},
			// TLS early data: 425, as from the matcher module, when the rest
			// of the expression holds; CEL's && drops an error beside a false
			{path: "/admin/users", cs: earlyData, reason: ReasonEarlyData, status: http.StatusTooEarly},
			{path: "/public", cs: earlyData, reason: ReasonEarlyData},
		}},
		{"allow_unverified", `client_certificate({'subject': '` + goodSubject + `', 'allow_unverified': 'true'})`, []request{
			{path: "/x", cs: state(s.SelfSignedGood, false, nil), match: true, verified: "false"},
		}},
		{"allow_unverified false", `client_certificate({'subject': '` + goodSubject + `', 'allow_unverified': 'false'})`, []request{
			{path: "/x", cs: state(s.SelfSignedGood, false, nil), reason: ReasonUnverified},
		}},
		{"require_unexpired", `client_certificate({'thumbprint': '` + sha1Hex(s.Expired.Cert) + `', 'require_unexpired': 'true'})`, []request{
			{path: "/x", cs: state(s.Expired, false, nil), reason: ReasonExpired},
		}},
		{"require_unexpired false", `client_certificate({'thumbprint': '` + sha1Hex(s.Expired.Cert) + `', 'require_unexpired': 'false'})`, []request{
			{path: "/x", cs: state(s.Expired, false, nil), match: true, verified: "false"},
		}},
		{"issuer and common names", `client_certificate({'issuer': '` + issuingCA + `', 'common_name': ['station-043', 'station-042']})`, []request{
			{path: "/x", cs: state(s.Good, true, s.Root), match: true, verified: "true"},
			{path: "/x", cs: state(s.Other, true, s.Root), reason: "common_name_mismatch"},
			{path: "/x", cs: state(s.FromOtherCA, true, s.OtherRoot), reason: "issuer_mismatch"},
		}},
		{"two calls, two policies", `client_certificate({'thumbprint': '` + sha1Hex(s.Other.Cert) + `'}) || client_certificate({'thumbprint': '` + pin + `'})`, []request{
			{path: "/x", cs: state(s.Good, false, nil), match: true, verified: "false"},
			{path: "/x", cs: state(s.Other, false, nil), match: true, verified: "false"},
			{path: "/x", cs: state(s.SelfSignedGood, false, nil), reason: "thumbprint_mismatch"},
		}},
		{"empty map: any TLS-verified certificate", `client_certificate({})`, []request{
			{path: "/x", cs: state(s.Other, true, s.Root), match: true, verified: "true"},
			{path: "/x", cs: state(s.Good, false, nil), reason: ReasonUnverified},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mustExpression(t, c.expr)
			for i, rq := range c.requests {
				r, repl := celRequest(rq.path, rq.cs)
				match, err := m.MatchWithError(r)
				if match != rq.match {
					t.Errorf("request %d (%s): match = %v, want %v (err %v)", i, rq.path, match, rq.match, err)
				}
				var he caddyhttp.HandlerError
				var de DenyError
				switch {
				case rq.status == 0 && err != nil:
					t.Errorf("request %d (%s): unexpected error %v", i, rq.path, err)
				case rq.status != 0 && (!errors.As(err, &he) || he.StatusCode != rq.status || !errors.As(err, &de) || de.Reason != rq.reason):
					t.Errorf("request %d (%s): error %#v, want caddyhttp.Error(%d) with reason %s", i, rq.path, err, rq.status, rq.reason)
				}
				get := func(key string) string { v, _ := repl.GetString(key); return v }
				if rq.reason != "-" && get(placeholderPrefix+"reason") != rq.reason {
					t.Errorf("request %d (%s): reason = %q, want %q", i, rq.path, get(placeholderPrefix+"reason"), rq.reason)
				}
				if match && get(placeholderPrefix+"verified") != rq.verified {
					t.Errorf("request %d (%s): verified = %q, want %s", i, rq.path, get(placeholderPrefix+"verified"), rq.verified)
				}
			}
		})
	}
}

// Each key of the map is the condition of that name: alone, it holds for
// Good and fails for a certificate that differs there, with that
// condition's reason.
func TestCELEveryCondition(t *testing.T) {
	s := pki(t)
	good := map[string]string{
		"thumbprint":        sha1Hex(s.Good.Cert),
		"spki":              spkiBase64(s.Good.Cert),
		"subject":           goodSubject,
		"issuer":            issuingCA,
		"common_name":       "station-042",
		"dns_name":          "station-042.stations.contoso-weather.example",
		"email":             "station-042@contoso-weather.example",
		"uri":               "spiffe://contoso-weather.example/stations/042",
		"ip":                "10.42.0.42",
		"serial":            s.Good.Cert.SerialNumber.Text(16),
		"issuer_thumbprint": sha1Hex(s.Intermediate.Cert),
	}
	if len(good) != len(conditionTable) {
		t.Fatalf("%d conditions here, %d in conditionTable", len(good), len(conditionTable))
	}
	for _, cond := range conditionTable {
		t.Run(cond.name, func(t *testing.T) {
			m := mustExpression(t, `client_certificate({'`+cond.name+`': ['`+good[cond.name]+`']})`)
			r, _ := celRequest("/", state(s.Good, true, s.Root))
			if ok, err := m.MatchWithError(r); !ok || err != nil {
				t.Errorf("Good: match %v, err %v", ok, err)
			}
			other, roots := s.Other, s.Root
			if cond.name == "issuer" || cond.name == "issuer_thumbprint" {
				other, roots = s.FromOtherCA, s.OtherRoot
			}
			r, repl := celRequest("/", state(other, true, roots))
			if ok, _ := m.MatchWithError(r); ok {
				t.Error("a certificate that differs matched")
			}
			if got, _ := repl.GetString(placeholderPrefix + "reason"); got != cond.reason {
				t.Errorf("reason %q, want %q", got, cond.reason)
			}
		})
	}
}

// A decision inside an expression leaves exactly what the matcher module's
// leaves: every placeholder, after an allow and after a deny.
func TestCELPlaceholdersAsTheMatcher(t *testing.T) {
	s := pki(t)
	expr := mustExpression(t, `client_certificate({'common_name': 'station-042'})`)
	module := &Matcher{Policy: *compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, nil), logger: zap.NewNop()}
	keys := []string{"identity", "thumbprint", "thumbprint_sha256", "subject", "issuer", "common_name", "serial", "not_after", "verified", "reason", "revocation"}
	for _, c := range []struct {
		name string
		cs   *tls.ConnectionState
	}{
		{"allowed", state(s.Good, true, s.Root)},
		{"denied", state(s.Other, true, s.Root)},
		{"unverified", state(s.Good, false, nil)},
	} {
		t.Run(c.name, func(t *testing.T) {
			r1, viaCEL := celRequest("/", c.cs)
			r2, viaModule := celRequest("/", c.cs)
			m1, _ := expr.MatchWithError(r1)
			m2, _ := module.MatchWithError(r2)
			if m1 != m2 {
				t.Fatalf("expression %v, module %v", m1, m2)
			}
			for _, k := range append(keys, "http.auth.user.id") {
				if !strings.HasPrefix(k, "http.") {
					k = placeholderPrefix + k
				}
				a, _ := viaCEL.GetString(k)
				b, _ := viaModule.GetString(k)
				if a != b {
					t.Errorf("%s: expression %q, module %q", k, a, b)
				}
			}
			if got, _ := viaCEL.GetString(placeholderPrefix + "thumbprint"); m1 && got != sha1Hex(s.Good.Cert) {
				t.Errorf("thumbprint placeholder %q after an allow", got)
			}
		})
	}
}

// A decision inside an expression is logged as the matcher module's: by
// the logger http.matchers.client_certificate, and so is Provision's
// warning about a map without conditions.
func TestCELLogsAsTheMatcher(t *testing.T) {
	s := pki(t)
	var cfg caddy.Config
	if err := json.Unmarshal([]byte(`{"logging": {"logs": {"cel": {"writer": {"output": "cel_test_capture"}, "level": "DEBUG",
		"include": ["http.matchers.client_certificate"]}}}}`), &cfg); err != nil {
		t.Fatal(err)
	}
	root, err := caddy.ProvisionContext(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	celCaptured.reset()
	for _, expr := range []string{`client_certificate({'common_name': 'station-042'})`, `client_certificate({})`} {
		ctx, cancel := caddy.NewContext(root)
		t.Cleanup(cancel)
		m := &caddyhttp.MatchExpression{Expr: expr}
		if err := m.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		r, _ := celRequest("/", state(s.Good, true, s.Root))
		if ok, err := m.MatchWithError(r); !ok || err != nil {
			t.Fatalf("%s: match %v, err %v", expr, ok, err)
		}
	}
	var decisions, warnings int
	for _, line := range strings.Split(strings.TrimSpace(celCaptured.String()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if e["logger"] != "http.matchers.client_certificate" {
			t.Errorf("logged by %v: %s", e["logger"], line)
		}
		switch {
		case e["msg"] == msgDecision && e["module"] == "matcher" && e["allowed"] == true && e["subject"] == goodSubject:
			decisions++
		case e["level"] == "warn" && strings.Contains(fmt.Sprint(e["msg"]), "without conditions"):
			warnings++
		}
	}
	if decisions != 2 || warnings != 1 {
		t.Errorf("%d decisions and %d warnings logged, want 2 and 1:\n%s", decisions, warnings, celCaptured.String())
	}
}

// celLogCapture is a log writer (caddy.logging.writers.cel_test_capture)
// that keeps what is written, in celCaptured.
type celLogCapture struct{}

func init() { caddy.RegisterModule(celLogCapture{}) }

var celCaptured lockedBuffer

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Close() error { return nil }

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *lockedBuffer) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (celLogCapture) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{ID: "caddy.logging.writers.cel_test_capture", New: func() caddy.Module { return new(celLogCapture) }}
}
func (celLogCapture) String() string                      { return "cel_test_capture" }
func (celLogCapture) WriterKey() string                   { return "cel_test_capture" }
func (celLogCapture) OpenWriter() (io.WriteCloser, error) { return &celCaptured, nil }

var _ caddy.WriterOpener = celLogCapture{}

// The policy is compiled when the expression is, once per call in it, and
// never per request (Caddy's decorator calls the factory once, at
// planning; a map that is not a constant would be left to run per request,
// and is refused: TestCELProvisionErrors).
func TestCELCompilesOncePerExpression(t *testing.T) {
	s := pki(t)
	before := policyIDs.Load()
	m := mustExpression(t, `client_certificate({'thumbprint': '`+sha1Hex(s.Good.Cert)+`'}) || client_certificate({'common_name': 'x'})`)
	if n := policyIDs.Load() - before; n != 2 {
		t.Fatalf("provisioning compiled %d policies, want 2 (one per call)", n)
	}
	before = policyIDs.Load()
	for range 100 {
		r, _ := celRequest("/", state(s.Good, false, nil))
		if ok, err := m.MatchWithError(r); !ok || err != nil {
			t.Fatalf("match %v, err %v", ok, err)
		}
	}
	if n := policyIDs.Load() - before; n != 0 {
		t.Fatalf("100 requests compiled %d policies, want 0", n)
	}
}

// Every bad map fails when the expression is compiled (Provision, so
// `caddy validate` and a config load), naming the key and value and what
// is accepted.
func TestCELProvisionErrors(t *testing.T) {
	s := pki(t)
	pin := sha1Hex(s.Good.Cert)
	for _, c := range []struct{ expr, want string }{
		{`client_certificate({'thumbprnt': ['` + pin + `']})`,
			`client_certificate: unknown key "thumbprnt"; want a condition (thumbprint, spki, subject, issuer, common_name, dns_name, email, uri, ip, serial, issuer_thumbprint) or a flag (require_unexpired, allow_unverified)`},
		{`client_certificate({'thumbprint': ['` + pin + `', 'abc']})`, `client_certificate: thumbprint[1] "abc": want 40 hex digits`},
		{`client_certificate({'thumbprint': 'abc'})`, `client_certificate: thumbprint "abc": want 40 hex digits`},
		{`client_certificate({'subject': 'CN=a,,O=b'})`, `client_certificate: subject "CN=a,,O=b": empty RDN`},
		{`client_certificate({'ip': ['10.0.0.0/40']})`, `client_certificate: ip[0] "10.0.0.0/40": want an IP address or a CIDR range`},
		{`client_certificate({'thumbprint': []})`, `client_certificate: thumbprint: empty list; give at least one value`},
		{`client_certificate({'require_unexpired': 'yes'})`, `client_certificate: require_unexpired "yes": want 'true' or 'false'`},
		{`client_certificate({'thumbprint': '` + pin + `', 'require_unexpired': ['true']})`, `client_certificate: require_unexpired (list): want 'true' or 'false'`},
		// Caddy's map macro takes only string and list values
		{`client_certificate({'require_unexpired': true})`, `matcher map values must be string or list literals`},
		{`client_certificate('` + pin + `')`, `matcher requires a map literal argument`},
		{`client_certificate({'trust_pool': 'file'})`, `client_certificate: trust_pool is not available in an expression`},
		{`client_certificate({'identities': ['a']})`, `client_certificate: identities is not available in an expression`},
		{`client_certificate({'identity': 'a'})`, `client_certificate: identity is not available in an expression`},
		{`client_certificate({'revocation': 'ocsp'})`, `client_certificate: revocation is not available in an expression`},
		{`client_certificate({'verify_cache_size': '10'})`, `client_certificate: verify_cache_size is not available in an expression`},
		{`client_certificate({'thumbprint': ['` + pin + `'], 'thumbprint': ['abc']})`, `client_certificate: key "thumbprint" given twice`},
		// a policy built per request, from request data: never
		{`client_certificate({'thumbprint': [{http.request.header.X-Pin}]})`, `client_certificate: the map and its values must be literals`},
		{`client_certificate({'thumbprint': '` + pin[:20] + `' + '` + pin[20:] + `'})`, `client_certificate: the map and its values must be literals`},
		{`client_certificate({{http.request.header.X-Key}: '` + pin + `'})`, `client_certificate: the map and its values must be literals`},
		// the policy's own Validate
		{`client_certificate({'allow_unverified': 'true'})`, `allow_unverified without any condition would allow every certificate`},
		// the function the macro expands to, called directly
		{`client_certificate_request_map(req, {'thumbprint': [1]})`, `client_certificate: thumbprint[0] (int): want a string`},
		{`client_certificate_request_map(req, {'thumbprint': 1})`, `client_certificate: thumbprint (int): want a list of strings or one string`},
	} {
		_, err := provisionExpression(t, c.expr)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant an error containing %s", c.expr, err, c.want)
		}
	}
}

// The expressions of the golden adapt test compile: `caddy validate`
// would accept what the Caddyfile adapts to.
func TestCELGoldenExpressionsCompile(t *testing.T) {
	data, err := os.ReadFile("testdata/caddyfile_adapt/matcher_cel.caddyfiletest")
	if err != nil {
		t.Fatal(err)
	}
	_, golden, _ := strings.Cut(string(data), "----------")
	var config any
	if err := json.Unmarshal([]byte(golden), &config); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, child := range v {
				if k != "expression" {
					walk(child)
					continue
				}
				if obj, ok := child.(map[string]any); ok {
					child = obj["expr"]
				}
				exprs = append(exprs, child.(string))
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(config)
	if len(exprs) != 3 {
		t.Fatalf("%d expressions in the golden JSON, want 3: %q", len(exprs), exprs)
	}
	for _, e := range exprs {
		if _, err := provisionExpression(t, e); err != nil {
			t.Errorf("%s: %v", e, err)
		}
	}
}

// `caddy adapt` does not compile expressions, so a bad map adapts; `caddy
// validate` (caddy.Validate, also behind `caddy adapt --validate`) refuses
// it, naming the key.
func TestCELAdaptThenValidate(t *testing.T) {
	caddyfile := "http://localhost:8080 {\n\t@x expression client_certificate({'thumbprnt': 'x'}) && path('/x')\n\trespond @x \"x\"\n}\n"
	adapted, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatalf("adapt: %v", err)
	}
	var cfg caddy.Config
	if err := json.Unmarshal(adapted, &cfg); err != nil {
		t.Fatal(err)
	}
	if err := caddy.Validate(&cfg); err == nil || !strings.Contains(err.Error(), `client_certificate: unknown key "thumbprnt"`) {
		t.Errorf("validate: %v", err)
	}
}

// Every `expression` matcher of every config asks us for our library: it
// must work without a configured context and never fail, and an
// expression that does not call client_certificate() is unaffected.
func TestCELLibraryForExpressionsThatDoNotUseIt(t *testing.T) {
	lib, err := new(Matcher).CELLibrary(caddy.Context{})
	if err != nil || lib == nil || len(lib.CompileOptions()) == 0 {
		t.Fatalf("CELLibrary: %v, %v", lib, err)
	}
	m := mustExpression(t, `{http.request.uri.path} == '/x'`)
	for path, want := range map[string]bool{"/x": true, "/y": false} {
		r, repl := celRequest(path, nil)
		if ok, err := m.MatchWithError(r); ok != want || err != nil {
			t.Errorf("%s: match %v, err %v", path, ok, err)
		}
		if v, ok := repl.Get(placeholderPrefix + "reason"); ok {
			t.Errorf("%s: an expression without client_certificate() made a decision (reason %v)", path, v)
		}
	}
}

// Were Caddy's CELMatcherImpl to fail, only expressions that call
// client_certificate() would fail.
func TestCELLibraryFailureStaysWithItsUsers(t *testing.T) {
	t.Cleanup(func() { celMatcherImpl = caddyhttp.CELMatcherImpl })
	celMatcherImpl = func(string, string, []*cel.Type, any) (cel.Library, error) {
		return nil, errors.New("no such type")
	}
	if _, err := provisionExpression(t, `{http.request.uri.path} == '/x' && path('/x')`); err != nil {
		t.Errorf("an expression that does not use client_certificate(): %v", err)
	}
	if _, err := provisionExpression(t, `client_certificate({'common_name': 'x'})`); err == nil || !strings.Contains(err.Error(), "undeclared reference to 'client_certificate'") {
		t.Errorf("an expression that uses it: %v", err)
	}
}

// The library is as cheap as Caddy's own header() library: no policy is
// compiled, nothing is parsed, until an expression calls
// client_certificate().
func TestCELLibraryIsCheap(t *testing.T) {
	ctx := caddy.Context{Context: context.Background()}
	allocs := func(p caddyhttp.CELLibraryProducer) float64 {
		return testing.AllocsPerRun(100, func() {
			if _, err := p.CELLibrary(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	ours, header := allocs(new(Matcher)), allocs(new(caddyhttp.MatchHeader))
	if ours > 2*header {
		t.Errorf("CELLibrary allocates %v times, Caddy's header() %v", ours, header)
	}
}

// BenchmarkCELLibrary is what every `expression` matcher of every config
// pays for this plugin, next to Caddy's own header() library and to the
// whole provision of an expression (every matcher's library, the CEL
// environment, the compile) for scale.
func BenchmarkCELLibrary(b *testing.B) {
	root, err := celConfigContext()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []struct {
		name     string
		producer caddyhttp.CELLibraryProducer
	}{
		{"client_certificate", new(Matcher)},
		{"caddy_header", new(caddyhttp.MatchHeader)},
	} {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.producer.CELLibrary(root); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("whole_expression_provision", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ctx, cancel := caddy.NewContext(root)
			m := &caddyhttp.MatchExpression{Expr: `{http.request.uri.path} == '/x'`}
			if err := m.Provision(ctx); err != nil {
				b.Fatal(err)
			}
			cancel()
		}
	})
}
