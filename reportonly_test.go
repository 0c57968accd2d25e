// reportonly_test.go: report_only in the handler and the verifier: what
// the policy would deny goes on, logged at WARN and counted as would_deny,
// placeholders show the real outcome, nothing is forwarded; Provision says
// the policy is not enforced; and {http.client_certificate.decision} for
// every outcome.

package clientcertificate

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

func TestHandlerReportOnly(t *testing.T) {
	s := pki(t)
	core, logs := observer.New(zapcore.DebugLevel)
	h := &Handler{
		Policy:     *compiled(t, Policy{Identities: []Identity{{Name: "station-042", Conditions: Conditions{CommonName: []string{"station-042"}}}}}, testpki.Pool(s.Root)),
		ReportOnly: true,
		Forward:    &Forward{Format: forwardRFC9440, Chain: true},
	}
	if err := h.provision(caddy.Context{}, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.metrics.release)
	// Provision says, once, at WARN, that the policy is not enforced.
	if n := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessage(msgReportOnly).Len(); n != 1 {
		t.Fatalf("%d report_only warnings at Provision, want 1: %v", n, logs.All())
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(decisionsTotal)

	for _, c := range []struct {
		name       string
		cs         *tls.ConnectionState
		reason     string // "" for allowed
		thumbprint string
	}{
		{"allowed", state(s.Good, false, nil), "", sha1Hex(s.Good.Cert)},
		{"plain HTTP", nil, ReasonNoTLS, ""},
		{"early data", &tls.ConnectionState{PeerCertificates: presented(s.Good)}, ReasonEarlyData, ""},
		{"no certificate", &tls.ConnectionState{HandshakeComplete: true}, ReasonNoCertificate, ""},
		{"no identity", state(s.Other, false, nil), ReasonNoIdentity, sha1Hex(s.Other.Cert)},
		{"rogue CA", state(s.FromRogueCA, false, nil), ReasonUntrusted, sha1Hex(s.FromRogueCA.Cert)},
	} {
		t.Run(c.name, func(t *testing.T) {
			logs.TakeAll()
			before := decisionSeriesIn(t, reg)
			r, repl := newRequest(c.cs)
			spoofed(r.Header, s.Good)
			next := &nextRecorder{}
			if err := h.ServeHTTP(httptest.NewRecorder(), r, next); err != nil || !next.called {
				t.Fatalf("report_only: err=%v next=%v, want the request to go on", err, next.called)
			}
			get := func(key string) string { v, _ := repl.GetString(key); return v }
			after := decisionSeriesIn(t, reg)
			if c.reason == "" {
				if get(placeholderPrefix+"decision") != "allow" || get("http.auth.user.id") != "station-042" {
					t.Errorf("allowed: decision=%q user=%q", get(placeholderPrefix+"decision"), get("http.auth.user.id"))
				}
				if got := after[seriesLabels{moduleHandler, "allow", "", "station-042"}] - before[seriesLabels{moduleHandler, "allow", "", "station-042"}]; got != 1 {
					t.Errorf("allow counted %v times, want 1", got)
				}
				if len(r.Header.Values(clientCertField)) != 1 || len(r.Header.Values(clientCertChainField)) != 1 {
					t.Errorf("allowed under report_only: fields %v, want Client-Cert and Client-Cert-Chain", clientCertFields(r.Header))
				}
				if n := logs.FilterMessage(msgWouldDeny).Len(); n != 0 {
					t.Errorf("%d would-deny entries for an allowed request", n)
				}
				return
			}
			// The real outcome, as after a deny, but the request went on.
			if get(placeholderPrefix+"decision") != "would_deny" || get(placeholderPrefix+"reason") != c.reason ||
				get(placeholderPrefix+"identity") != "" || get(placeholderPrefix+"thumbprint") != "" || get("http.auth.user.id") != "" {
				t.Errorf("placeholders: decision=%q reason=%q identity=%q thumbprint=%q user=%q", get(placeholderPrefix+"decision"),
					get(placeholderPrefix+"reason"), get(placeholderPrefix+"identity"), get(placeholderPrefix+"thumbprint"), get("http.auth.user.id"))
			}
			if f := clientCertFields(r.Header); len(f) != 0 {
				t.Errorf("would-deny forwards %v, want nothing", f)
			}
			wouldDeny := seriesLabels{moduleHandler, "would_deny", c.reason, ""}
			if got := after[wouldDeny] - before[wouldDeny]; got != 1 {
				t.Errorf("would_deny %s counted %v times, want 1", c.reason, got)
			}
			for l := range after {
				if l.module == moduleHandler && l.result == "deny" && after[l] != before[l] {
					t.Errorf("report_only counted a deny: %v", l)
				}
			}
			entries := logs.FilterMessage(msgWouldDeny).AllUntimed()
			if len(entries) != 1 || entries[0].Level != zapcore.WarnLevel {
				t.Fatalf("would-deny entries: %v, want one at WARN", entries)
			}
			f := entries[0].ContextMap()
			if f["module"] != "handler" || f["reason"] != c.reason || f["identity"] != "" || f["thumbprint"] != c.thumbprint ||
				f["host"] != "localhost" || f["uri"] != r.RequestURI || r.RequestURI == "" {
				t.Errorf("would-deny entry: %v", f)
			}
			if _, ok := f["subject"]; !ok {
				t.Errorf("would-deny entry without subject: %v", f)
			}
			if n := logs.FilterMessage(msgDecision).Len(); n != 0 {
				t.Errorf("a would-deny was logged twice (also %d debug decision entries)", n)
			}
		})
	}
}

func TestVerifierReportOnly(t *testing.T) {
	s := pki(t)
	core, logs := observer.New(zapcore.DebugLevel)
	v := &Verifier{Policy: *compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, nil), ReportOnly: true}
	if err := v.provision(caddy.Context{}, zap.New(core)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.metrics.release)
	if n := logs.FilterLevelExact(zapcore.WarnLevel).FilterMessage(msgReportOnly).Len(); n != 1 {
		t.Fatalf("%d report_only warnings at Provision, want 1", n)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(decisionsTotal)
	wouldDeny := seriesLabels{moduleVerifier, "would_deny", "common_name_mismatch", ""}
	before := decisionSeriesIn(t, reg)
	if err := v.VerifyClientCertificate(rawChain(s.Other), tlsVerified(s.Other, testpki.Pool(s.Root))); err != nil {
		t.Fatalf("report_only verifier refused the handshake: %v", err)
	}
	if err := v.VerifyClientCertificate(rawChain(s.Good), tlsVerified(s.Good, testpki.Pool(s.Root))); err != nil {
		t.Fatalf("allowed: %v", err)
	}
	if got := decisionSeriesIn(t, reg)[wouldDeny] - before[wouldDeny]; got != 1 {
		t.Errorf("would_deny counted %v times, want 1", got)
	}
	entries := logs.FilterMessage(msgWouldDeny).AllUntimed()
	if len(entries) != 1 || entries[0].Level != zapcore.WarnLevel {
		t.Fatalf("would-deny entries %v, want one at WARN", entries)
	}
	f := entries[0].ContextMap()
	if f["module"] != "verifier" || f["reason"] != "common_name_mismatch" || f["thumbprint"] != sha1Hex(s.Other.Cert) ||
		f["subject"] != "CN=station-007,OU=Stations,O=Contoso Weather,C=US" {
		t.Errorf("would-deny entry: %v", f)
	}
	for _, k := range []string{"host", "uri", "remote_addr"} {
		if _, ok := f[k]; ok {
			t.Errorf("the verifier's entry has %s", k)
		}
	}
	// Enforced, the same handshake is refused.
	v.ReportOnly = false
	if err := v.VerifyClientCertificate(rawChain(s.Other), tlsVerified(s.Other, testpki.Pool(s.Root))); err == nil {
		t.Error("enforced verifier accepted the handshake")
	}
}

// {http.client_certificate.decision} is set by every decision: allow or
// deny in the handler and the matcher.
func TestDecisionPlaceholder(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, testpki.Pool(s.Root))
	for _, c := range []struct {
		leaf *testpki.Leaf
		want string
	}{{s.Good, "allow"}, {s.Other, "deny"}} {
		r, repl := newRequest(state(c.leaf, false, nil))
		_ = (&Handler{Policy: *p}).ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{})
		if got, _ := repl.GetString(placeholderPrefix + "decision"); got != c.want {
			t.Errorf("handler: decision = %q, want %q", got, c.want)
		}
		r, repl = newRequest(state(c.leaf, false, nil))
		_, _ = (&Matcher{Policy: *p}).MatchWithError(r)
		if got, _ := repl.GetString(placeholderPrefix + "decision"); got != c.want {
			t.Errorf("matcher: decision = %q, want %q", got, c.want)
		}
	}
}
