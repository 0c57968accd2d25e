// module_test.go: the handler and the matcher on requests built as Caddy
// builds them, placeholders, and the handler's benchmarks.

package clientcertificate

import (
	"context"
	"crypto/tls"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// newRequest builds a request as Caddy hands it to a handler: with a
// replacer in its context and the given TLS state.
func newRequest(cs *tls.ConnectionState) (*http.Request, *caddy.Replacer) {
	r := httptest.NewRequest(http.MethodGet, "https://localhost/api/x", nil)
	r.TLS = cs
	r.RemoteAddr = "192.0.2.7:5555"
	repl := caddy.NewReplacer()
	r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
	return r, repl
}

func state(l *testpki.Leaf, verified bool, roots *testpki.CA) *tls.ConnectionState {
	cs := &tls.ConnectionState{HandshakeComplete: true, PeerCertificates: presented(l)}
	if verified {
		cs.VerifiedChains = tlsVerified(l, testpki.Pool(roots))
	}
	return cs
}

type nextRecorder struct{ called bool }

func (n *nextRecorder) ServeHTTP(http.ResponseWriter, *http.Request) error {
	n.called = true
	return nil
}

func TestHandlerServeHTTP(t *testing.T) {
	s := pki(t)
	core, logs := observer.New(zapcore.DebugLevel)
	h := &Handler{Policy: *compiled(t, Policy{
		RequireUnexpired: true,
		Conditions:       Conditions{Issuer: []string{issuingCA}},
		Identities:       []Identity{{Name: "station-042", Conditions: Conditions{CommonName: []string{"station-042"}}}, {Conditions: Conditions{CommonName: []string{"Contoso Weather, Inc"}}}},
	}, nil), logger: zap.New(core)}

	for _, c := range []struct {
		name     string
		cs       *tls.ConnectionState
		status   int // 0: allowed
		reason   string
		userID   string
		identity string
	}{
		{name: "allowed, named identity", cs: state(s.Good, true, s.Root), userID: "station-042", identity: "station-042"},
		{name: "allowed, unnamed identity: user id is the CN", cs: state(s.CommaCN, true, s.Root), userID: "Contoso Weather, Inc"},
		{name: "plain HTTP", cs: nil, status: 403, reason: ReasonNoTLS},
		{name: "early data", cs: &tls.ConnectionState{PeerCertificates: presented(s.Good)}, status: 425, reason: ReasonEarlyData},
		{name: "no certificate", cs: &tls.ConnectionState{HandshakeComplete: true}, status: 403, reason: ReasonNoCertificate},
		{name: "unverified", cs: state(s.Good, false, nil), status: 403, reason: ReasonUnverified},
		{name: "no identity", cs: state(s.Other, true, s.Root), status: 403, reason: ReasonNoIdentity},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, repl := newRequest(c.cs)
			next := &nextRecorder{}
			err := h.ServeHTTP(httptest.NewRecorder(), r, next)
			if c.status == 0 {
				if err != nil || !next.called {
					t.Fatalf("want allowed, got err=%v next=%v", err, next.called)
				}
				if got, _ := repl.GetString("http.auth.user.id"); got != c.userID {
					t.Errorf("http.auth.user.id = %q, want %q", got, c.userID)
				}
				if got, _ := repl.GetString(placeholderPrefix + "identity"); got != c.identity {
					t.Errorf("identity placeholder = %q, want %q", got, c.identity)
				}
				if got, _ := repl.GetString(placeholderPrefix + "thumbprint"); got != sha1Hex(c.cs.PeerCertificates[0]) {
					t.Errorf("thumbprint placeholder = %q", got)
				}
				if got, _ := repl.GetString(placeholderPrefix + "verified"); got != "true" {
					t.Errorf("verified placeholder = %q", got)
				}
				return
			}
			if next.called {
				t.Fatal("next handler called on deny")
			}
			var he caddyhttp.HandlerError
			if !errors.As(err, &he) || he.StatusCode != c.status {
				t.Fatalf("want caddyhttp.Error(%d), got %#v", c.status, err)
			}
			var de DenyError
			if !errors.As(err, &de) || de.Reason != c.reason {
				t.Fatalf("error %v, want reason %q", err, c.reason)
			}
			if got, _ := repl.GetString(placeholderPrefix + "reason"); got != c.reason {
				t.Errorf("reason placeholder = %q, want %q", got, c.reason)
			}
			if got, ok := repl.GetString("http.auth.user.id"); ok && got != "" {
				t.Errorf("http.auth.user.id set on deny: %q", got)
			}
		})
	}

	// every decision was logged at debug level with the certificate's public identifiers
	entries := logs.FilterMessage("client certificate decision").AllUntimed()
	if len(entries) != 7 {
		t.Fatalf("%d decision log entries, want 7", len(entries))
	}
	first := entries[0].ContextMap()
	if first["allowed"] != true || first["thumbprint"] != sha1Hex(s.Good.Cert) || first["subject"] != goodSubject ||
		first["remote_addr"] != "192.0.2.7:5555" || first["module"] != "handler" || entries[0].Level != zapcore.DebugLevel {
		t.Errorf("allow entry: %v", first)
	}
	deny := entries[6].ContextMap()
	if deny["allowed"] != false || deny["reason"] != ReasonNoIdentity || deny["subject"] != "CN=station-007,OU=Stations,O=Contoso Weather,C=US" {
		t.Errorf("deny entry: %v", deny)
	}
	// A deny by conditions says, at debug level, what did not hold.
	wantDetail := `[identity station-042: common_name does not hold: the certificate has "station-007"; the policy wants "station-042" identity #1: common_name does not hold: the certificate has "station-007"; the policy wants "Contoso Weather, Inc"]`
	if got := fmt.Sprint(deny["detail"]); got != wantDetail {
		t.Errorf("deny detail:\n got %s\nwant %s", got, wantDetail)
	}
	if _, ok := first["detail"]; ok {
		t.Errorf("allow entry has a detail: %v", first["detail"])
	}
	for _, e := range entries {
		for k, v := range e.ContextMap() {
			if s, ok := v.(string); ok && strings.Contains(s, "PRIVATE KEY") {
				t.Errorf("log field %s carries private material", k)
			}
		}
	}
}

func TestHandlerDoesNotLogAboveDebug(t *testing.T) {
	s := pki(t)
	core, logs := observer.New(zapcore.InfoLevel)
	h := &Handler{Policy: *compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}, nil), logger: zap.New(core)}
	r, _ := newRequest(state(s.Other, false, nil))
	_ = h.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{})
	if logs.Len() != 0 {
		t.Fatalf("decision logged at info level: %v", logs.All())
	}
}

func TestMatcher(t *testing.T) {
	s := pki(t)
	m := &Matcher{Policy: *compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-042"}}}, testpki.Pool(s.Root)), logger: zap.NewNop()}
	for _, c := range []struct {
		name   string
		cs     *tls.ConnectionState
		match  bool
		status int
	}{
		{"good", state(s.Good, false, nil), true, 0},
		{"other station", state(s.Other, false, nil), false, 0},
		{"rogue CA", state(s.FromRogueCA, false, nil), false, 0},
		{"plain HTTP", nil, false, 0},
		{"early data", &tls.ConnectionState{PeerCertificates: presented(s.Good)}, false, 425},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, repl := newRequest(c.cs)
			match, err := m.MatchWithError(r)
			if match != c.match {
				t.Fatalf("match = %v, want %v", match, c.match)
			}
			var he caddyhttp.HandlerError
			if c.status != 0 {
				if !errors.As(err, &he) || he.StatusCode != c.status {
					t.Fatalf("want caddyhttp.Error(%d), got %v", c.status, err)
				}
			} else if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if match {
				if got, _ := repl.GetString(placeholderPrefix + "common_name"); got != "station-042" {
					t.Errorf("common_name placeholder = %q", got)
				}
			}
			if m.Match(r) != c.match {
				t.Error("Match and MatchWithError disagree")
			}
		})
	}
}

// Several decisions on one request (a matcher, then a handler): the
// placeholders always describe the latest one, and a deny takes back the
// user id an earlier allow set. Inside a Caddy server the record is found
// again through the request's vars; without vars, through the replacer.
func TestPlaceholdersFollowTheLatestDecision(t *testing.T) {
	for _, server := range []bool{true, false} {
		t.Run(fmt.Sprintf("caddy_server=%v", server), func(t *testing.T) {
			testPlaceholdersFollowTheLatestDecision(t, server)
		})
	}
}

func testPlaceholdersFollowTheLatestDecision(t *testing.T, server bool) {
	s := pki(t)
	pinA := &Matcher{Policy: *compiled(t, Policy{Identities: []Identity{{Name: "A", Conditions: Conditions{Thumbprint: []string{sha1Hex(s.Good.Cert)}}}}}, nil)}
	namesB := &Handler{Policy: *compiled(t, Policy{Identities: []Identity{{Name: "B", Conditions: Conditions{CommonName: []string{"station-042"}}}}}, nil)}
	denyC := &Handler{Policy: *compiled(t, Policy{Conditions: Conditions{CommonName: []string{"station-007"}}}, nil)}

	r, repl := newRequest(state(s.Good, true, s.Root))
	if server {
		repl = caddy.NewReplacer()
		r = caddyhttp.PrepareRequest(r, repl, nil, nil)
	}
	get := func(key string) string {
		v, _ := repl.GetString(key)
		return v
	}
	if ok, _ := pinA.MatchWithError(r); !ok {
		t.Fatal("A did not match")
	}
	if get(placeholderPrefix+"identity") != "A" || get("http.auth.user.id") != "A" {
		t.Fatalf("after A: identity=%q user=%q", get(placeholderPrefix+"identity"), get("http.auth.user.id"))
	}
	if vars, _ := r.Context().Value(caddyhttp.VarsCtxKey).(map[string]any); server {
		if _, ok := vars[recordKey].(*decisionRecord); !ok {
			t.Fatal("inside a Caddy server the decision record is not in the request's vars")
		}
	}
	if err := namesB.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{}); err != nil {
		t.Fatal(err)
	}
	if get(placeholderPrefix+"identity") != "B" || get("http.auth.user.id") != "B" || get(placeholderPrefix+"verified") != "true" {
		t.Fatalf("after B: identity=%q user=%q verified=%q", get(placeholderPrefix+"identity"), get("http.auth.user.id"), get(placeholderPrefix+"verified"))
	}
	if err := denyC.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{}); err == nil {
		t.Fatal("C allowed")
	}
	if get(placeholderPrefix+"reason") != "common_name_mismatch" || get(placeholderPrefix+"identity") != "" ||
		get(placeholderPrefix+"thumbprint") != "" || get(placeholderPrefix+"verified") != "false" {
		t.Fatalf("after C: reason=%q identity=%q thumbprint=%q verified=%q", get(placeholderPrefix+"reason"),
			get(placeholderPrefix+"identity"), get(placeholderPrefix+"thumbprint"), get(placeholderPrefix+"verified"))
	}
	if v, ok := repl.Get("http.auth.user.id"); ok && v != nil && v != "" {
		t.Fatalf("after C: user id still %v", v)
	}
}

// An spki pin on an unverified chain proves the key, not the names: the
// access log's user id is then the thumbprint, not a CN the key holder chose.
func TestUserIDOnKeyPinIsTheThumbprint(t *testing.T) {
	s := pki(t)
	h := &Handler{Policy: *compiled(t, Policy{Conditions: Conditions{SPKI: []string{spkiBase64(s.Good.Cert)}}}, nil)}
	r, repl := newRequest(state(s.Good, false, nil))
	if err := h.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := repl.GetString("http.auth.user.id"); got != sha1Hex(s.Good.Cert) {
		t.Fatalf("user id %q, want the thumbprint", got)
	}
}

// The handler's per-request cost on top of what Caddy does anyway (a new
// replacer, vars and the rest of caddyhttp.PrepareRequest per request):
// compare with BenchmarkHandlerBaseline.
func BenchmarkHandlerAllow(b *testing.B) {
	s := pki(b)
	benchmarkHandlerServe(b, s, benchHandler(b, s, false))
}

// benchmarkHandlerServe serves Good's request with h, as Caddy prepares
// each request.
func benchmarkHandlerServe(b *testing.B, s *testpki.Set, h *Handler) {
	cs := state(s.Good, true, s.Root)
	r, _ := newRequest(cs)
	next := &nextRecorder{}
	b.ReportAllocs()
	for b.Loop() {
		rr := caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
		if err := h.ServeHTTP(nil, rr, next); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHandlerBaseline(b *testing.B) {
	s := pki(b)
	r, _ := newRequest(state(s.Good, true, s.Root))
	next := &nextRecorder{}
	b.ReportAllocs()
	for b.Loop() {
		rr := caddyhttp.PrepareRequest(r, caddy.NewReplacer(), nil, nil)
		if err := next.ServeHTTP(nil, rr); err != nil {
			b.Fatal(err)
		}
	}
}

// A common name that holds control characters can be allowed only by a
// pin; its placeholders and user id are then escaped (\XX for what is not
// printable), so they cannot break a header or a log line, and come from
// the same DER decoding as the subject (a BMPString's trailing NUL is kept).
func TestCommonNamePlaceholdersAreEscaped(t *testing.T) {
	for _, c := range []struct {
		name    string
		subject pkix.Name
		raw     []byte
		want    string
	}{
		{"CR LF", pkix.Name{CommonName: "station-042\r\n"}, nil, `station-042\0D\0A`},
		{"NEL", pkix.Name{CommonName: "station-042\u0085"}, nil, `station-042\C2\85`},
		{"BMPString with a trailing NUL", pkix.Name{}, bmpCommonName(t, "station-042\x00"), `station-042\00`},
		{"no-break space (invisible: escaped too)", pkix.Name{CommonName: "station\u00a0042"}, nil, `station\C2\A0042`},
		{"backslash (doubled, so no name looks like an escape)", pkix.Name{CommonName: `CONTOSO\station-042`}, nil, `CONTOSO\\station-042`},
	} {
		t.Run(c.name, func(t *testing.T) {
			leaf, err := testpki.SelfSigned(testpki.Options{Subject: c.subject, RawSubject: c.raw})
			if err != nil {
				t.Fatal(err)
			}
			h := &Handler{Policy: *compiled(t, Policy{Conditions: Conditions{Thumbprint: []string{sha1Hex(leaf.Cert)}}}, nil)}
			r, repl := newRequest(state(leaf, false, nil))
			if err := h.ServeHTTP(httptest.NewRecorder(), r, &nextRecorder{}); err != nil {
				t.Fatal(err)
			}
			for _, key := range []string{placeholderPrefix + "common_name", "http.auth.user.id"} {
				if got, _ := repl.GetString(key); got != c.want {
					t.Errorf("%s = %q, want %q", key, got, c.want)
				}
			}
		})
	}
}

// bmpCommonName is the DER of a Name with one CN as a BMPString.
func bmpCommonName(t *testing.T, cn string) []byte {
	return dnMarshal(t, dnSeq(dnRDN(dnATV(asn1.ObjectIdentifier{2, 5, 4, 3}, dnTyped(asn1.TagBMPString, dnBMP(cn))))))
}
