// metrics_test.go: the decision metric: the closed set of reasons and its
// numbering, the series a policy creates at Provision, counting and
// releasing across module instances and registries, the series covering
// every decision a table of policies gives, and the benchmarks of the
// handler, the matcher and the verifier with metrics on.

package clientcertificate

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// decisionSeriesIn returns the series of caddy_client_certificate_decisions_total
// that g serves, with their values.
func decisionSeriesIn(t testing.TB, g prometheus.Gatherer) map[seriesLabels]float64 {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	out := make(map[seriesLabels]float64)
	for _, f := range families {
		if f.GetName() != "caddy_client_certificate_decisions_total" {
			continue
		}
		if f.GetType() != dto.MetricType_COUNTER {
			t.Fatalf("type %v, want a counter", f.GetType())
		}
		for _, m := range f.GetMetric() {
			var l seriesLabels
			for _, p := range m.GetLabel() {
				switch p.GetName() {
				case "module":
					l.module = p.GetValue()
				case "result":
					l.result = p.GetValue()
				case "reason":
					l.reason = p.GetValue()
				case "identity":
					l.identity = p.GetValue()
				default:
					t.Fatalf("unexpected label %s", p.GetName())
				}
			}
			out[l] = m.GetCounter().GetValue()
		}
	}
	return out
}

// seriesOf lists the series of one module in s, as "result reason identity" lines, sorted.
func seriesOf(s map[seriesLabels]float64, module string) []string {
	var out []string
	for l := range s {
		if l.module == module {
			out = append(out, fmt.Sprintf("%s %s %s", l.result, l.reason, l.identity))
		}
	}
	sort.Strings(out)
	return out
}

// Every reason in the closed set is numbered by reasonIndex as its position
// in reasonNames, whether it is a fixed reason or a condition's mismatch;
// nothing else is.
func TestReasonIndex(t *testing.T) {
	if len(reasonNames) != len(fixedReasons)+len(conditionTable) {
		t.Fatalf("%d reasons, want %d fixed + %d conditions", len(reasonNames), len(fixedReasons), len(conditionTable))
	}
	for i, name := range fixedReasons {
		if got := reasonIndex(&Decision{Reason: name}); got != i || reasonNames[got] != name {
			t.Errorf("reasonIndex(%s) = %d, want %d", name, got, i)
		}
	}
	for _, c := range conditionTable {
		d := Decision{Reason: c.reason, failed: &conditionTest{cond: c}}
		if got := reasonIndex(&d); got < 0 || reasonNames[got] != c.reason {
			t.Errorf("reasonIndex(%s) = %d", c.reason, got)
		}
	}
	seen := map[string]bool{}
	for _, name := range reasonNames {
		if seen[name] {
			t.Errorf("reason %s twice", name)
		}
		seen[name] = true
	}
	for _, other := range []string{"", "subject_mismatch ", "NO_TLS", "denied"} {
		if got := reasonIndex(&Decision{Reason: other}); got != -1 {
			t.Errorf("reasonIndex(%q) = %d, want -1", other, got)
		}
	}
}

// At Provision a module creates, at zero, exactly the series its policy
// can produce: allow per identity name (or without identity), and deny,
// or would_deny under report_only, per reason the policy can give there.
func TestDecisionMetricsSeriesFromProvision(t *testing.T) {
	s := pki(t)
	pool := compiled(t, Policy{
		RequireUnexpired: true,
		Conditions:       Conditions{Issuer: []string{issuingCA}},
		Identities: []Identity{
			{Name: "station-042", Conditions: Conditions{CommonName: []string{"station-042"}}},
			{Conditions: Conditions{CommonName: []string{"Contoso Weather, Inc"}}},
		},
	}, testpki.Pool(s.Root))
	pin := compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil)
	for _, c := range []struct {
		name       string
		p          *Policy
		module     string
		reportOnly bool
		want       []string
	}{
		{"handler, trust_pool and identities", pool, moduleHandler, false, []string{
			"allow  ", "allow  station-042",
			"deny ca_certificate ", "deny early_data ", "deny expired ", "deny issuer_mismatch ", "deny no_certificate ",
			"deny no_identity ", "deny no_tls ", "deny not_yet_valid ", "deny untrusted ",
		}},
		{"verifier, trust_pool and identities: no plain HTTP nor early data in a handshake", pool, moduleVerifier, false, []string{
			"allow  ", "allow  station-042",
			"deny ca_certificate ", "deny expired ", "deny issuer_mismatch ", "deny no_certificate ",
			"deny no_identity ", "deny not_yet_valid ", "deny untrusted ",
		}},
		{"handler, report_only", pin, moduleHandler, true, []string{
			"allow  ", "would_deny ca_certificate ", "would_deny early_data ", "would_deny no_certificate ",
			"would_deny no_tls ", "would_deny thumbprint_mismatch ", "would_deny unverified ",
		}},
		{"matcher, a pin", pin, moduleMatcher, false, []string{
			"allow  ", "deny ca_certificate ", "deny early_data ", "deny no_certificate ",
			"deny no_tls ", "deny thumbprint_mismatch ", "deny unverified ",
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := newDecisionMetrics(reg, c.module, c.p, c.reportOnly)
			if err != nil {
				t.Fatal(err)
			}
			defer m.release()
			got := decisionSeriesIn(t, reg)
			if lines := seriesOf(got, c.module); !slices.Equal(lines, c.want) {
				t.Errorf("series:\n got %q\nwant %q", lines, c.want)
			}
			for l, v := range got {
				if l.module == c.module && v != 0 {
					t.Errorf("%v = %v at Provision, want 0", l, v)
				}
			}
		})
	}
}

// Decisions count on their series; two modules naming the same series
// share its counter, and it leaves the registry only when both are
// released; the vector registers in several registries (one per loaded
// configuration) and twice in one.
func TestDecisionMetricsCountAndRelease(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Identities: []Identity{{Name: "metrics-test-a", Conditions: Conditions{CommonName: []string{"station-042"}}}}}, testpki.Pool(s.Root))
	reg1, reg2 := prometheus.NewPedanticRegistry(), prometheus.NewPedanticRegistry()
	h1 := &Handler{Policy: *p}
	h2 := &Handler{Policy: *p}
	var err error
	if h1.metrics, err = newDecisionMetrics(reg1, moduleHandler, &h1.Policy, false); err != nil {
		t.Fatal(err)
	}
	if h2.metrics, err = newDecisionMetrics(reg1, moduleHandler, &h2.Policy, false); err != nil {
		t.Fatalf("second module in the same registry: %v", err)
	}
	allowA := seriesLabels{moduleHandler, "allow", "", "metrics-test-a"}
	noIdentity := seriesLabels{moduleHandler, "deny", ReasonNoIdentity, ""}
	before := decisionSeriesIn(t, reg1)

	serve := func(h *Handler, l *testpki.Leaf) {
		r, _ := newRequest(state(l, false, nil))
		_ = h.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{})
	}
	serve(h1, s.Good)
	serve(h1, s.Good)
	serve(h2, s.Good)
	serve(h2, s.Other)
	after := decisionSeriesIn(t, reg1)
	if d := after[allowA] - before[allowA]; d != 3 {
		t.Errorf("allow identity=metrics-test-a grew by %v, want 3", d)
	}
	if d := after[noIdentity] - before[noIdentity]; d != 1 {
		t.Errorf("deny no_identity grew by %v, want 1", d)
	}

	// A second configuration's registry serves the same counters.
	h3 := &Handler{Policy: *p}
	if h3.metrics, err = newDecisionMetrics(reg2, moduleHandler, &h3.Policy, false); err != nil {
		t.Fatalf("second registry: %v", err)
	}
	if got := decisionSeriesIn(t, reg2)[allowA]; got != after[allowA] {
		t.Errorf("second registry: allow %v, want %v (counts carry over reloads)", got, after[allowA])
	}

	h1.metrics.release()
	h2.metrics.release()
	if _, ok := decisionSeriesIn(t, reg2)[allowA]; !ok {
		t.Fatal("the series went while a module still holds it")
	}
	h3.metrics.release()
	if _, ok := decisionSeriesIn(t, reg2)[allowA]; ok {
		t.Fatal("the series stayed after every module holding it was released")
	}

	// disable_metrics: nothing is created, and counting is a no-op.
	var none *decisionMetrics
	none.count(&Decision{Allowed: true})
	none.release()
}

// A collector of another shape already registered under the metric's name
// is a Provision error, never a panic.
func TestDecisionMetricsRegistrationConflict(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "caddy_client_certificate_decisions_total", Help: "another"}))
	_, err := newDecisionMetrics(reg, moduleHandler, compiled(t, Policy{}, nil), false)
	if err == nil || !strings.Contains(err.Error(), "registering the client certificate metrics") {
		t.Fatalf("got %v, want a registration error", err)
	}
}

// unforeseenSeries returns the series of the vector no module holds: those
// countUnforeseen created because reasonsFor missed a reason.
func unforeseenSeries(t *testing.T) []seriesLabels {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(decisionsTotal)
	var out []seriesLabels
	decisionSeries.mu.Lock()
	defer decisionSeries.mu.Unlock()
	for l := range decisionSeriesIn(t, reg) {
		if decisionSeries.refs[l] == 0 {
			out = append(out, l)
		}
	}
	return out
}

// Every decision of a table of policies (pins, names, trust_pool,
// identities, require_unexpired, allow_unverified, revocation), in each
// module, on every certificate of the standard PKI and on plain HTTP,
// early data and no certificate, counts on a series created at Provision:
// reasonsFor misses nothing, so no decision is counted on a series that
// appears with it (invisible to rate()).
func TestReasonsForCoverDecisions(t *testing.T) {
	s := pki(t)
	pool := testpki.Pool(s.Root)
	crl := writeTemp(t, "issuing.crl", signedCRL(t, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	revocation := func(p Policy, pool *x509.CertPool) *Policy {
		cp, _ := revocationPolicy(t, p, pool, nil)
		return cp
	}
	policies := map[string]*Policy{
		"pin":              compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil),
		"spki and subject": compiled(t, Policy{Conditions: Conditions{SPKI: []string{spkiBase64(s.Good.Cert)}, Subject: []string{goodSubject}}}, nil),
		"names":            compiled(t, Policy{RequireUnexpired: true, Conditions: Conditions{Subject: []string{goodSubject}, Issuer: []string{issuingCA}}}, nil),
		"trust_pool":       compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, pool),
		"identities": compiled(t, Policy{Conditions: Conditions{DNSName: []string{"*.stations.contoso-weather.example"}}, Identities: []Identity{
			{Name: "pinned", Conditions: Conditions{Thumbprint: []string{sha1Hex(s.SelfSignedGood.Cert)}}},
			{Name: "names", Conditions: Conditions{CommonName: []string{"station-042"}}},
			{Conditions: Conditions{IssuerThumbprint: []string{sha1Hex(s.OtherRoot.Cert)}}},
		}}, nil),
		"allow_unverified":     compiled(t, Policy{AllowUnverified: true, Conditions: Conditions{Issuer: []string{issuingCA}}}, nil),
		"empty":                compiled(t, Policy{}, nil),
		"empty with pool":      compiled(t, Policy{RequireUnexpired: true}, pool),
		"revocation":           revocation(Policy{Revocation: &Revocation{CRL: []string{crl}}}, nil),
		"revocation and pin":   revocation(Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}, Revocation: &Revocation{CRL: []string{crl}, OnUnknown: "allow"}}, nil),
		"revocation with pool": revocation(Policy{Revocation: &Revocation{CRL: []string{crl}}}, pool),
	}
	leaves := clientLeavesOf(s)
	states := func(l *testpki.Leaf) []*tls.ConnectionState {
		return []*tls.ConnectionState{state(l, false, nil), state(l, true, s.Root), state(l, true, s.OtherRoot)}
	}
	if n := len(unforeseenSeries(t)); n != 0 {
		t.Fatalf("%d unforeseen series before the test", n)
	}
	reasons := map[string]bool{}
	for name, p := range policies {
		for _, module := range []string{moduleHandler, moduleMatcher, moduleVerifier} {
			m, err := newDecisionMetrics(nil, module, p, false)
			if err != nil {
				t.Fatal(err)
			}
			decide := func(cs *tls.ConnectionState) {
				var d Decision
				switch module {
				case moduleHandler:
					h := &Handler{Policy: *p, metrics: m}
					r, repl := newRequest(cs)
					_ = h.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{})
					reason, _ := repl.GetString(placeholderPrefix + "reason")
					d.Reason = reason
				case moduleMatcher:
					mt := &Matcher{Policy: *p, metrics: m}
					r, repl := newRequest(cs)
					_, _ = mt.MatchWithError(r)
					reason, _ := repl.GetString(placeholderPrefix + "reason")
					d.Reason = reason
				case moduleVerifier:
					if cs == nil || !cs.HandshakeComplete || len(cs.PeerCertificates) == 0 {
						return // Caddy calls verifiers only on a presented certificate
					}
					v := &Verifier{Policy: *p, metrics: m}
					var raw [][]byte
					for _, c := range cs.PeerCertificates {
						raw = append(raw, c.Raw)
					}
					if err := v.VerifyClientCertificate(raw, cs.VerifiedChains); err != nil {
						d.Reason = strings.TrimPrefix(err.Error(), "client certificate denied: ")
					}
				}
				reasons[d.Reason] = true
			}
			decide(nil)
			decide(&tls.ConnectionState{PeerCertificates: presented(s.Good)})
			decide(&tls.ConnectionState{HandshakeComplete: true})
			for _, l := range leaves {
				for _, cs := range states(l) {
					decide(cs)
				}
			}
			if got := unforeseenSeries(t); len(got) != 0 {
				t.Errorf("policy %s, %s: decisions counted on series not created at Provision: %v", name, module, got)
			}
			m.release()
		}
	}
	// The table reaches every reason, so the check above means something.
	for _, name := range reasonNames {
		if !reasons[name] && !strings.HasSuffix(name, "_mismatch") {
			t.Errorf("no decision of the table gave %s", name)
		}
	}
}

// clientLeavesOf lists every client certificate of the standard PKI.
func clientLeavesOf(s *testpki.Set) []*testpki.Leaf {
	return []*testpki.Leaf{s.Good, s.Other, s.Expired, s.NotYetValid, s.ServerAuthOnly, s.FromOtherCA, s.FromRogueCA,
		s.SelfSignedGood, s.CommaCN, s.RogueChain, s.CAAsClient}
}

// BenchmarkHandlerAuthorize is the handler's own per-request work on a
// warm connection, the request prepared once as Caddy would (its decision
// record then exists), metrics off: compare with
// BenchmarkHandlerAuthorizeMetrics.
func BenchmarkHandlerAuthorize(b *testing.B) {
	benchmarkAuthorize(b, false)
}

// BenchmarkHandlerAuthorizeMetrics is BenchmarkHandlerAuthorize with the
// decision counted: no allocation, one atomic add.
func BenchmarkHandlerAuthorizeMetrics(b *testing.B) {
	benchmarkAuthorize(b, true)
}

func benchmarkAuthorize(b *testing.B, metrics bool) {
	s := pki(b)
	h := benchHandler(b, s, metrics)
	r, _ := newRequest(state(s.Good, true, s.Root))
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		if err := h.authorize(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHandlerAllowMetrics is BenchmarkHandlerAllow with metrics on.
func BenchmarkHandlerAllowMetrics(b *testing.B) {
	s := pki(b)
	benchmarkHandlerServe(b, s, benchHandler(b, s, true))
}

// BenchmarkMatcherDeny and BenchmarkMatcherDenyMetrics: a denied request
// (a condition did not hold), where the counter is found by the reason's
// index.
func BenchmarkMatcherDeny(b *testing.B)        { benchmarkMatcherDeny(b, false) }
func BenchmarkMatcherDenyMetrics(b *testing.B) { benchmarkMatcherDeny(b, true) }

func benchmarkMatcherDeny(b *testing.B, metrics bool) {
	s := pki(b)
	m := &Matcher{Policy: *compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
	}}, nil), logger: zap.NewNop()}
	if metrics {
		var err error
		if m.metrics, err = newDecisionMetrics(prometheus.NewRegistry(), moduleMatcher, &m.Policy, false); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(m.metrics.release)
	}
	r, _ := newRequest(state(s.Other, true, s.Root))
	r = caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := m.MatchWithError(r); ok {
			b.Fatal("matched")
		}
	}
}

// BenchmarkVerifierHandshakeMetrics is BenchmarkVerifierHandshake with
// metrics on.
func BenchmarkVerifierHandshakeMetrics(b *testing.B) {
	v, raw, verified := benchVerifier(b)
	var err error
	if v.metrics, err = newDecisionMetrics(prometheus.NewRegistry(), moduleVerifier, &v.Policy, false); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(v.metrics.release)
	benchmarkVerifierHandshake(b, v, raw, verified)
}

// benchHandler is BenchmarkHandlerAllow's handler, with or without metrics.
func benchHandler(b *testing.B, s *testpki.Set, metrics bool) *Handler {
	h := &Handler{Policy: *compiled(b, Policy{RequireUnexpired: true, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)}, Subject: []string{goodSubject}, Issuer: []string{issuingCA},
	}}, nil), logger: zap.NewNop()}
	if metrics {
		var err error
		if h.metrics, err = newDecisionMetrics(prometheus.NewRegistry(), moduleHandler, &h.Policy, false); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(h.metrics.release)
	}
	return h
}

// Counting a decision takes the counter resolved at Provision for its
// series, and allocates nothing, whatever the decision: an allow with or
// without an identity, a deny by a condition or by another reason.
func TestCountingUsesResolvedCounters(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{Issuer: []string{issuingCA}}, Identities: []Identity{
		{Name: "metrics-resolved", Conditions: Conditions{CommonName: []string{"station-042"}}},
	}}, nil)
	noIdentities := compiled(t, Policy{Conditions: Conditions{Issuer: []string{issuingCA}}}, nil)
	for _, c := range []struct {
		name   string
		p      *Policy
		cs     *tls.ConnectionState
		series seriesLabels
	}{
		{"allow, identity", p, state(s.Good, true, s.Root), seriesLabels{moduleHandler, "allow", "", "metrics-resolved"}},
		{"allow, no identity blocks", noIdentities, state(s.Good, true, s.Root), seriesLabels{moduleHandler, "allow", "", ""}},
		{"deny, condition", p, state(s.FromOtherCA, true, s.OtherRoot), seriesLabels{moduleHandler, "deny", "issuer_mismatch", ""}},
		{"deny, no identity", p, state(s.Other, true, s.Root), seriesLabels{moduleHandler, "deny", ReasonNoIdentity, ""}},
		{"deny, no certificate", p, &tls.ConnectionState{HandshakeComplete: true}, seriesLabels{moduleHandler, "deny", ReasonNoCertificate, ""}},
	} {
		t.Run(c.name, func(t *testing.T) {
			reg := prometheus.NewPedanticRegistry()
			m, err := newDecisionMetrics(reg, moduleHandler, c.p, false)
			if err != nil {
				t.Fatal(err)
			}
			defer m.release()
			d := c.p.Evaluate(c.cs)
			counter := m.resolved(&d)
			if counter == nil {
				t.Fatalf("no counter resolved for %s (reason %q)", c.name, d.Reason)
			}
			before := decisionSeriesIn(t, reg)[c.series]
			counter.Inc()
			if got := decisionSeriesIn(t, reg)[c.series]; got != before+1 {
				t.Errorf("the resolved counter is not the series %v", c.series)
			}
			if n := testing.AllocsPerRun(100, func() { m.count(&d) }); n != 0 {
				t.Errorf("%v allocations per count, want 0", n)
			}
		})
	}
}

// Caddy calls Cleanup on the modules of a configuration it unloads (a
// module's ctx.OnCancel, on the copy of the context Provision receives,
// is never called): each module gives back its series there, and its
// revocation sources; twice is harmless.
func TestCleanupReleases(t *testing.T) {
	s := pki(t)
	crl := writeTemp(t, "issuing.crl", signedCRL(t, s.Intermediate, testpki.CRLOptions{}))
	policy := func(module, name string) (Policy, *decisionMetrics) {
		p, _ := revocationPolicy(t, Policy{
			Identities: []Identity{{Name: name, Conditions: Conditions{CommonName: []string{"station-042"}}}},
			Revocation: &Revocation{CRL: []string{crl}},
		}, nil, nil)
		m, err := newDecisionMetrics(nil, module, p, false)
		if err != nil {
			t.Fatal(err)
		}
		return *p, m
	}
	h, m, v := &Handler{}, &Matcher{}, &Verifier{}
	h.Policy, h.metrics = policy(moduleHandler, "cleanup-handler")
	m.Policy, m.metrics = policy(moduleMatcher, "cleanup-matcher")
	v.Policy, v.metrics = policy(moduleVerifier, "cleanup-verifier")
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(decisionsTotal)
	series := []seriesLabels{
		{moduleHandler, "allow", "", "cleanup-handler"},
		{moduleMatcher, "allow", "", "cleanup-matcher"},
		{moduleVerifier, "allow", "", "cleanup-verifier"},
	}
	got := decisionSeriesIn(t, reg)
	for _, l := range series {
		if _, ok := got[l]; !ok {
			t.Fatalf("%v missing after Provision", l)
		}
	}
	for _, c := range []caddy.CleanerUpper{h, m, v, h} {
		if err := c.Cleanup(); err != nil {
			t.Fatal(err)
		}
	}
	got = decisionSeriesIn(t, reg)
	for _, l := range series {
		if _, ok := got[l]; ok {
			t.Errorf("%v still served after Cleanup", l)
		}
	}
	for _, p := range []*Policy{&h.Policy, &m.Policy, &v.Policy} {
		p.revocation.mu.Lock()
		released := p.revocation.released
		p.revocation.mu.Unlock()
		if !released {
			t.Error("revocation sources not released by Cleanup")
		}
	}
}

// The verifier counts once per call, and a server calls it, as Caddy's
// client_auth does (tls.Config.VerifyConnection), on every handshake,
// resumed ones included: three handshakes, the last two resumed, count
// three. (Caddy turns session tickets off where client auth is on, so
// through Caddy every handshake is a full one.)
func TestVerifierCountsResumedHandshakes(t *testing.T) {
	s := pki(t)
	v := &Verifier{Policy: *compiled(t, Policy{Identities: []Identity{{Name: "metrics-resumption", Conditions: Conditions{CommonName: []string{"station-042"}}}}}, nil)}
	var err error
	if v.metrics, err = newDecisionMetrics(nil, moduleVerifier, &v.Policy, false); err != nil {
		t.Fatal(err)
	}
	defer v.metrics.release()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(decisionsTotal)
	allow := seriesLabels{moduleVerifier, "allow", "", "metrics-resumption"}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	serverCfg := &tls.Config{
		Certificates: []tls.Certificate{s.Server.TLSCertificate()},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    testpki.Pool(s.Root),
		VerifyConnection: func(cs tls.ConnectionState) error {
			raw := make([][]byte, len(cs.PeerCertificates))
			for i, c := range cs.PeerCertificates {
				raw[i] = c.Raw
			}
			return v.VerifyClientCertificate(raw, cs.VerifiedChains)
		},
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conn := tls.Server(c, serverCfg)
			if conn.Handshake() == nil {
				_, _ = conn.Write([]byte("ok")) // after the session ticket
			}
			conn.Close()
		}
	}()
	clientCfg := &tls.Config{
		RootCAs:            testpki.Pool(s.Root),
		ServerName:         "localhost",
		Certificates:       []tls.Certificate{s.Good.TLSCertificate()},
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	before := decisionSeriesIn(t, reg)[allow]
	var resumed []bool
	for range 3 {
		c, err := tls.Dial("tcp", ln.Addr().String(), clientCfg)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		resumed = append(resumed, c.ConnectionState().DidResume)
		c.Close()
	}
	if !slices.Equal(resumed, []bool{false, true, true}) {
		t.Fatalf("resumed %v, want a full handshake then two resumed ones", resumed)
	}
	if got := decisionSeriesIn(t, reg)[allow] - before; got != 3 {
		t.Errorf("%v handshakes counted, want 3", got)
	}
}
