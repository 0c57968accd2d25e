// soak_test.go: TestSoak (make soak): many mTLS clients while the config is
// reloaded; no request may be allowed by a policy that denies it.

package clientcertificate_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// TestSoak runs many clients, each with its own certificate, against a real
// in-process Caddy on loopback while the config is reloaded through the
// admin API every SOAK_RELOAD_EVERY, alternating two policies A and B that
// allow different clients. Every answer names the policy that gave it, and
// the test asserts:
//
//   - zero requests allowed that the answering policy denies (and the
//     identity and common name placeholders belong to the caller);
//   - zero 5xx;
//   - zero requests denied that both policies allow;
//   - no goroutine leak in the test process (Caddy runs in it) once the
//     clients are gone;
//   - memory flat across reloads (heap in use sampled after GC; fails only
//     on gross growth, over 3x).
//
// It is long, so it runs only with SOAK=1 (make soak, scripts/soak.sh).
// Environment: SOAK_DURATION (default 60s), SOAK_CLIENTS (32),
// SOAK_RELOAD_EVERY (250ms), SOAK_PAUSE (pause between a client's
// requests, default 2ms), SOAK_HEAPPROFILE (write a heap profile there at
// the end).
func TestSoak(t *testing.T) {
	if os.Getenv("SOAK") != "1" {
		t.Skip("soak test: run with SOAK=1 (make soak)")
	}
	duration := envDuration(t, "SOAK_DURATION", 60*time.Second)
	reloadEvery := envDuration(t, "SOAK_RELOAD_EVERY", 250*time.Millisecond)
	pause := envDuration(t, "SOAK_PAUSE", 2*time.Millisecond)
	if duration < 3*time.Second {
		t.Fatalf("SOAK_DURATION=%v: want at least 3s", duration)
	}
	nClients := 32
	if v := os.Getenv("SOAK_CLIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 8 {
			t.Fatalf("SOAK_CLIENTS=%q: want a number >= 8", v)
		}
		nClients = n
	}

	f := writeAdvPKI(t)
	clients, err := soakClients(f, nClients)
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"A": soakCaddyfile(t, f, "A", clients), "B": soakCaddyfile(t, f, "B", clients)}
	loadCaddyfile(t, cfg["A"])
	adapted := map[string][]byte{}
	for label, c := range cfg {
		j, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		adapted[label] = j
	}

	// Baselines, once Caddy serves config A and nothing else runs.
	settle()
	baseGoroutines := runtime.NumGoroutine()

	var st soakStats
	ctx, stop := context.WithTimeout(context.Background(), duration)
	defer stop()
	var wg sync.WaitGroup

	// Reloader: B, A, B, ... every reloadEvery.
	current := "A"
	var currentMu sync.Mutex
	everyTick(ctx, &wg, reloadEvery, func() {
		currentMu.Lock()
		next := map[string]string{"A": "B", "B": "A"}[current]
		currentMu.Unlock()
		start := time.Now()
		err := postLoad(adapted[next])
		st.reloadTime(next, time.Since(start))
		if err != nil {
			st.reloadErrors.Add(1)
			st.note("reload to %s: %v", next, err)
			return
		}
		currentMu.Lock()
		current = next
		currentMu.Unlock()
		st.reloads.Add(1)
	})

	// Memory sampler: heap in use after GC, every twelfth of the run; the
	// first sample is the reference.
	var heap []uint64
	var heapMu sync.Mutex
	sample := func() {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		heapMu.Lock()
		heap = append(heap, m.HeapInuse)
		heapMu.Unlock()
	}
	const samplesPerRun = 12
	everyTick(ctx, &wg, duration/samplesPerRun, sample)

	// Clients.
	ports := [2]int{advPort(t, "SH"), advPort(t, "SV")}
	var closers []func()
	for i := range clients {
		c := &clients[i]
		hc, closeIdle := c.httpClient(f, i%2 == 0)
		closers = append(closers, closeIdle)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ctx.Err() == nil; n++ {
				c.request(ctx, hc, ports, n%3, &st)
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}()
	}
	wg.Wait()
	for _, closeIdle := range closers {
		closeIdle()
	}

	// Leave Caddy on config A, as at the baseline, and let old servers finish.
	currentMu.Lock()
	last := current
	currentMu.Unlock()
	if last != "A" {
		if err := postLoad(adapted["A"]); err != nil {
			t.Errorf("final reload: %v", err)
		}
	}
	goroutines := runtime.NumGoroutine()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		settle()
		if goroutines = runtime.NumGoroutine(); goroutines <= baseGoroutines+soakGoroutineSlack {
			break
		}
	}
	sample()
	heapMu.Lock()
	defer heapMu.Unlock()
	if path := os.Getenv("SOAK_HEAPPROFILE"); path != "" {
		if err := writeHeapProfile(path); err != nil {
			t.Errorf("heap profile: %v", err)
		}
	}

	summary := fmt.Sprintf("soak: %v, %d clients, requests %d, allowed %d, denied %d (of which refused handshakes %d), reloads %d, reload errors %d, "+
		"errors %d, 5xx %d, violations %d, unexpected denials %d; answered by A %d, by B %d; mean reload time %s; goroutines %d -> %d; heap in use %s",
		duration, len(clients), st.requests.Load(), st.allowed.Load(), st.denied.Load(), st.refused.Load(), st.reloads.Load(), st.reloadErrors.Load(),
		st.errors.Load(), st.fivexx.Load(), st.violations.Load(), st.unexpectedDenials.Load(), st.byA.Load(), st.byB.Load(),
		st.meanReloadTimes(), baseGoroutines, goroutines, formatHeap(heap))
	fmt.Println(summary)
	t.Log(summary)
	for _, n := range st.notes() {
		t.Log(n)
	}

	if st.requests.Load() == 0 || st.reloads.Load() == 0 {
		t.Errorf("the soak did nothing")
	}
	if st.byA.Load() == 0 || st.byB.Load() == 0 {
		t.Errorf("both policies should have answered requests")
	}
	if n := st.violations.Load(); n > 0 {
		t.Errorf("%d requests allowed that the answering policy denies", n)
	}
	if n := st.fivexx.Load(); n > 0 {
		t.Errorf("%d responses with status 5xx", n)
	}
	if n := st.unexpectedDenials.Load(); n > 0 {
		t.Errorf("%d requests denied that both policies allow", n)
	}
	if n := st.reloadErrors.Load(); n > 0 {
		t.Errorf("%d reloads failed", n)
	}
	// Caddy itself resets or closes some connections being accepted while
	// a reload hands the listener over (EOF, connection reset: about 1% of
	// requests at 4 reloads a second on an idle machine, with or without
	// this plugin, more when the machine is loaded), so transport errors
	// are reported, and fail the soak only when so many fail that the run
	// proves nothing.
	if n, total := st.errors.Load(), st.requests.Load(); n*5 > total {
		t.Errorf("%d transport errors in %d requests (over 20%%)", n, total)
	}
	if goroutines > baseGoroutines+soakGoroutineSlack {
		t.Errorf("goroutine leak: %d before the soak, %d after", baseGoroutines, goroutines)
	}
	if len(heap) < 2 {
		t.Errorf("only %d heap samples", len(heap))
	}
	for _, h := range heap[min(1, len(heap)):] {
		if h <= 3*heap[0] {
			continue
		}
		t.Errorf("heap in use grew more than 3x: %s", formatHeap(heap))
		break
	}
}

// soakGoroutineSlack is how many more goroutines than at the baseline the
// process may have after the soak: idle runtime and net/http helpers.
const soakGoroutineSlack = 10

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		t.Fatalf("%s=%q: want a duration such as 60s", name, v)
	}
	return d
}

func settle() {
	for range 3 {
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
	}
}

// writeHeapProfile writes a heap profile (after GC) for go tool pprof.
func writeHeapProfile(path string) error {
	runtime.GC()
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func formatHeap(samples []uint64) string {
	var parts []string
	for _, s := range samples {
		parts = append(parts, fmt.Sprintf("%.1f", float64(s)/(1<<20)))
	}
	return "[" + strings.Join(parts, " ") + "] MiB"
}

// postLoad replaces Caddy's config through the admin API.
func postLoad(cfg []byte) error {
	client := &http.Client{Timeout: 60 * time.Second}
	resp, err := client.Post("http://"+adminAddr()+"/load", "application/json", bytes.NewReader(cfg))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%d %s", resp.StatusCode, body)
	}
	return nil
}

// soakClient is one client: its certificate and what each policy says.
type soakClient struct {
	name   string // the certificate's common name
	kind   string // both, A-only, B-only, neither, forged
	leaf   *testpki.Leaf
	allowA bool
	allowB bool
}

// soakClients makes n clients, in groups of eight: two allowed by both
// policies, two by A only, two by B only, one by neither, and one forged
// (a self-signed or rogue-CA certificate copying the subject of a client
// both policies allow).
func soakClients(f advFiles, n int) ([]soakClient, error) {
	var out []soakClient
	rogue := f.set.RogueRoot
	for i := range n {
		name := fmt.Sprintf("soak-%02d", i)
		c := soakClient{name: name}
		switch i % 8 {
		case 0, 4:
			c.kind, c.allowA, c.allowB = "both", true, true
		case 1, 5:
			c.kind, c.allowA = "A-only", true
		case 2, 6:
			c.kind, c.allowB = "B-only", true
		case 3:
			c.kind = "neither"
		case 7:
			c.kind = "forged"
			c.name = fmt.Sprintf("soak-%02d", i-7) // the subject of an allowed client
		}
		o := testpki.Options{Subject: pkix.Name{CommonName: c.name, Organization: []string{"Contoso Weather"}}}
		var err error
		switch {
		case c.kind == "forged" && (i/8)%2 == 0:
			c.leaf, err = testpki.SelfSigned(o)
		case c.kind == "forged":
			c.leaf, err = rogue.Issue(o)
		default:
			c.leaf, err = f.set.Intermediate.Issue(o)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// soakCaddyfile is policy label: A allows "both" and "A-only" clients by
// common name; B allows "both" and "B-only" clients by SHA-256 thumbprint.
// Both verify with their own trust_pool. Port SH serves the handler (/h)
// and the matcher (/m) under mode request; port SV the verifier under
// require_and_verify. Every answer starts with the label.
func soakCaddyfile(t *testing.T, f advFiles, label string, clients []soakClient) string {
	var ids []string
	for _, c := range clients {
		switch {
		case label == "A" && c.allowA:
			ids = append(ids, c.name)
		case label == "B" && c.allowB:
			ids = append(ids, fmt.Sprintf("%x", sha256.Sum256(c.leaf.Cert.Raw)))
		}
	}
	cond := "common_name"
	if label == "B" {
		cond = "thumbprint"
	}
	policy := fmt.Sprintf("trust_pool file %s\nrequire_unexpired\nidentity %s {\n%s %s\n}",
		f.path("root.pem"), strings.ToLower(label), cond, strings.Join(ids, " "))
	var b strings.Builder
	fmt.Fprintf(&b, `{
	admin %s
	skip_install_trust
	auto_https disable_redirects
	servers {
		protocols h1 h2
	}
	log {
		level ERROR
	}
}
`, adminAddr())
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "SH"), f.tlsDirective("mode request"))
	fmt.Fprintf(&b, "header X-Policy %s\n", label)
	fmt.Fprintf(&b, "handle /h {\nclient_certificate {\n%s\n}\nrespond \"%s allow {http.client_certificate.identity} {http.client_certificate.common_name}\"\n}\n", policy, label)
	fmt.Fprintf(&b, "handle /m {\n@ok client_certificate {\n%s\n}\nrespond @ok \"%s match {http.client_certificate.identity} {http.client_certificate.common_name}\"\nrespond \"%s nomatch\"\n}\n", policy, label, label)
	fmt.Fprintf(&b, "handle_errors {\nheader X-Policy %s\nrespond \"%s deny {http.client_certificate.reason}\" {err.status_code}\n}\n}\n", label, label)
	fmt.Fprintf(&b, "https://localhost:%d {\n%s", advPort(t, "SV"), f.tlsDirective(fmt.Sprintf(
		"mode require_and_verify\ntrust_pool file %s\nverifier client_certificate {\n%s\n}", f.path("root.pem"), policy)))
	fmt.Fprintf(&b, "header X-Policy %s\nrespond \"%s verified\"\n}\n", label, label)
	return b.String()
}

// httpClient returns the client's HTTP client (HTTP/2 when keepAlive,
// else HTTP/1.1 with a new connection per request).
func (c *soakClient) httpClient(f advFiles, keepAlive bool) (*http.Client, func()) {
	cert := c.leaf.TLSCertificate()
	cfg := &tls.Config{
		RootCAs: testpki.Pool(f.set.Root), ServerName: "localhost",
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		NextProtos:           []string{"http/1.1"},
	}
	if keepAlive {
		cfg.NextProtos = []string{"h2"}
	}
	tr := &http.Transport{
		TLSClientConfig:   cfg,
		ForceAttemptHTTP2: keepAlive,
		DisableKeepAlives: !keepAlive,
		DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			var d net.Dialer
			return d.DialContext(ctx, "tcp", "127.0.0.1:"+port)
		},
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}, tr.CloseIdleConnections
}

func (s *soakStats) reloadTime(label string, d time.Duration) {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	if s.reloadTimes == nil {
		s.reloadTimes = map[string][]time.Duration{}
	}
	s.reloadTimes[label] = append(s.reloadTimes[label], d)
}

func (s *soakStats) meanReloadTimes() string {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	var parts []string
	for _, label := range []string{"A", "B"} {
		var sum time.Duration
		for _, d := range s.reloadTimes[label] {
			sum += d
		}
		if n := len(s.reloadTimes[label]); n > 0 {
			parts = append(parts, fmt.Sprintf("%s %v", label, (sum/time.Duration(n)).Round(time.Millisecond)))
		}
	}
	return strings.Join(parts, ", ")
}

type soakStats struct {
	reloadTimes                        map[string][]time.Duration
	requests, allowed, denied, refused atomic.Int64
	reloads, reloadErrors, errors      atomic.Int64
	fivexx, violations                 atomic.Int64
	unexpectedDenials, byA, byB        atomic.Int64
	notesMu                            sync.Mutex
	notesList                          []string
	notesDropped                       int
}

// note keeps the first few problems for the log.
func (s *soakStats) note(format string, args ...any) {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	if len(s.notesList) < 20 {
		s.notesList = append(s.notesList, fmt.Sprintf(format, args...))
	} else {
		s.notesDropped++
	}
}

func (s *soakStats) notes() []string {
	s.notesMu.Lock()
	defer s.notesMu.Unlock()
	out := append([]string(nil), s.notesList...)
	if s.notesDropped > 0 {
		out = append(out, fmt.Sprintf("(%d more not shown)", s.notesDropped))
	}
	return out
}

// request makes one request to target 0 (handler), 1 (matcher) or 2
// (verifier) and checks the answer against the policy that gave it.
func (c *soakClient) request(ctx context.Context, hc *http.Client, ports [2]int, target int, st *soakStats) {
	port := ports[0]
	path := []string{"/h", "/m", "/"}[target]
	if target == 2 {
		port = ports[1]
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("https://localhost:%d%s", port, path), nil)
	resp, err := hc.Do(req)
	if ctx.Err() != nil {
		if err == nil {
			resp.Body.Close()
		}
		return // the soak is over; this request does not count
	}
	st.requests.Add(1)
	if err != nil {
		if target == 2 && strings.Contains(err.Error(), "remote error: tls:") {
			// Refused by the verifier of A or B: which one is unknown, so
			// it is unexpected only if both allow this client.
			st.denied.Add(1)
			st.refused.Add(1)
			if c.allowA && c.allowB {
				st.unexpectedDenials.Add(1)
				st.note("%s (%s) %s: handshake refused, but both policies allow it: %v", c.name, c.kind, path, err)
			}
			return
		}
		st.errors.Add(1)
		st.note("%s (%s) %s: %v", c.name, c.kind, path, err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		st.errors.Add(1)
		st.note("%s (%s) %s: reading the body: %v", c.name, c.kind, path, err)
		return
	}
	text := string(body)
	if resp.StatusCode >= 500 {
		st.fivexx.Add(1)
		st.note("%s (%s) %s: %d %q", c.name, c.kind, path, resp.StatusCode, text)
		return
	}
	label, rest, _ := strings.Cut(text, " ")
	var allowedByLabel bool
	switch label {
	case "A":
		st.byA.Add(1)
		allowedByLabel = c.allowA
	case "B":
		st.byB.Add(1)
		allowedByLabel = c.allowB
	default:
		st.errors.Add(1)
		st.note("%s (%s) %s: unlabelled answer %d %q", c.name, c.kind, path, resp.StatusCode, text)
		return
	}
	if h := resp.Header.Get("X-Policy"); h != label {
		st.errors.Add(1)
		st.note("%s (%s) %s: X-Policy %q but body %q", c.name, c.kind, path, h, text)
	}
	identity := strings.ToLower(label)
	var allowed bool
	switch {
	case resp.StatusCode == 200 && (strings.HasPrefix(rest, "allow ") || strings.HasPrefix(rest, "match ")):
		allowed = true
		if _, who, _ := strings.Cut(rest, " "); who != identity+" "+c.name {
			st.violations.Add(1)
			st.note("%s (%s) %s: allowed as %q, want %q", c.name, c.kind, path, who, identity+" "+c.name)
		}
	case resp.StatusCode == 200 && rest == "verified":
		allowed = true
	case resp.StatusCode == 200 && rest == "nomatch", resp.StatusCode == 403 && strings.HasPrefix(rest, "deny "):
	default:
		st.errors.Add(1)
		st.note("%s (%s) %s: unexpected answer %d %q", c.name, c.kind, path, resp.StatusCode, text)
		return
	}
	switch {
	case allowed && !allowedByLabel:
		st.violations.Add(1)
		st.note("VIOLATION %s (%s) %s: policy %s allowed it: %d %q", c.name, c.kind, path, label, resp.StatusCode, text)
	case allowed:
		st.allowed.Add(1)
	case allowedByLabel:
		st.denied.Add(1)
		st.unexpectedDenials.Add(1)
		st.note("%s (%s) %s: policy %s denied it: %d %q", c.name, c.kind, path, label, resp.StatusCode, text)
	default:
		st.denied.Add(1)
	}
}

// everyTick calls fn every interval, on a goroutine counted in wg, until
// ctx is done.
func everyTick(ctx context.Context, wg *sync.WaitGroup, interval time.Duration, fn func()) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				fn()
			}
		}
	}()
}
