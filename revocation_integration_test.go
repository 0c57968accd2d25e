// revocation_integration_test.go: revocation through a real in-process
// Caddy (caddytest) and real mTLS handshakes: the handler and the verifier
// deny a certificate revoked at its CA once the CRL is refreshed, with no
// reload, on new and kept-alive connections; and 50 reloads share one CRL
// source, fetched once, with one refresh goroutine.

package clientcertificate_test

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// integrationCRLServer serves the CRL it is given and counts fetches.
type integrationCRLServer struct {
	*httptest.Server
	der     atomic.Pointer[[]byte]
	fetches atomic.Int64
}

func newIntegrationCRLServer(t *testing.T, der []byte) *integrationCRLServer {
	cs := &integrationCRLServer{}
	cs.set(der)
	cs.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.fetches.Add(1)
		w.Header().Set("Content-Type", "application/pkix-crl")
		_, _ = w.Write(*cs.der.Load())
	}))
	t.Cleanup(cs.Close)
	return cs
}

func (cs *integrationCRLServer) set(der []byte) { cs.der.Store(&der) }

func issuingCRL(t *testing.T, s *testpki.Set, number int64, revoked ...*big.Int) []byte {
	t.Helper()
	der, err := s.Intermediate.CRL(testpki.CRLOptions{Number: big.NewInt(number), Revoked: revoked})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func revocationCaddyfile(f pkiFiles, storage, crlURL, refresh, body string) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	skip_install_trust
	auto_https disable_redirects
	storage file_system %[1]s
}

https://localhost:9443 {
	tls %[2]s %[3]s {
		client_auth {
			mode require_and_verify
			trust_pool file %[4]s
		}
	}
	client_certificate {
		revocation {
			crl %[5]s
			refresh %[7]s
			recheck 1s
		}
	}
	respond "%[6]s {http.client_certificate.revocation}"
	handle_errors {
		respond "denied {http.client_certificate.reason} {http.client_certificate.revocation}" {err.status_code}
	}
}

https://localhost:9444 {
	tls %[2]s %[3]s {
		client_auth {
			mode require_and_verify
			trust_pool file %[4]s
			verifier client_certificate {
				revocation {
					crl %[5]s
					refresh %[7]s
				}
			}
		}
	}
	respond "verifier ok"
}
`, storage, f.path("server.pem"), f.path("server-key.pem"), f.path("root.pem"), crlURL, body, refresh)
}

// keptAliveClient makes requests on one connection, presenting leaf.
func keptAliveClient(s *testpki.Set, leaf *testpki.Leaf) *http.Client {
	cert := leaf.TLSCertificate()
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{
			RootCAs: testpki.Pool(s.Root), ServerName: "localhost",
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil },
		},
		MaxConnsPerHost: 1,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func get(t *testing.T, c *http.Client, url string) string {
	t.Helper()
	resp, err := c.Get(remap(url))
	if err != nil {
		return "handshake"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, body)
}

// pollUntil repeats f until it returns want; it waits for an event (a
// background refresh), and asserts nothing on how long that takes.
func pollUntil(t *testing.T, what, want string, f func() string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := f()
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestIntegrationRevocation(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	s := f.set
	srv := newIntegrationCRLServer(t, issuingCRL(t, s, 1, s.Other.Cert.SerialNumber))
	newTester(t).InitServer(remap(revocationCaddyfile(f, t.TempDir(), srv.URL+"/issuing.crl", "1s", "ok")), "caddyfile")

	for leaf, want := range map[*testpki.Leaf]string{s.Good: "200 ok good", s.Other: "403 denied revoked revoked"} {
		if got := request(t, s, leaf, "https://localhost:9443/", false); got != want {
			t.Errorf("handler, %s: %q, want %q", leaf.Cert.Subject.CommonName, got, want)
		}
	}
	if got := request(t, s, s.Good, "https://localhost:9444/", false); got != "200 verifier ok" {
		t.Errorf("verifier, Good: %q", got)
	}
	if got := request(t, s, s.Other, "https://localhost:9444/", false); got != "handshake" {
		t.Errorf("verifier, Other: %q, want a refused handshake", got)
	}

	kept := keptAliveClient(s, s.Good)
	defer kept.CloseIdleConnections()
	if got := get(t, kept, "https://localhost:9443/"); got != "200 ok good" {
		t.Fatalf("kept-alive connection before the revocation: %q", got)
	}

	// Good is revoked at the CA: no reload, only the next CRL.
	srv.set(issuingCRL(t, s, 2, s.Other.Cert.SerialNumber, s.Good.Cert.SerialNumber))
	pollUntil(t, "handler, new connection", "403 denied revoked revoked", func() string {
		return request(t, s, s.Good, "https://localhost:9443/", false)
	})
	pollUntil(t, "handler, kept-alive connection", "403 denied revoked revoked", func() string {
		return get(t, kept, "https://localhost:9443/")
	})
	pollUntil(t, "verifier, new connection", "handshake", func() string {
		return request(t, s, s.Good, "https://localhost:9444/", false)
	})
}

// refreshGoroutines counts the CRL sources' refresh goroutines.
func refreshGoroutines() int {
	var buf bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&buf, 1)
	return strings.Count(buf.String(), "(*crlSource).refreshLoop")
}

// 50 reloads under load: the CRL source is shared by every generation of
// the configuration, so it is fetched once and has one refresh goroutine,
// and the goroutine count does not grow.
func TestIntegrationRevocationReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts Caddy")
	}
	f := writePKI(t)
	s := f.set
	srv := newIntegrationCRLServer(t, issuingCRL(t, s, 1, s.Other.Cert.SerialNumber))
	storage := t.TempDir()
	tester := newTester(t)
	tester.InitServer(remap(revocationCaddyfile(f, storage, srv.URL+"/issuing.crl", "1h", "gen-0")), "caddyfile")
	if got := request(t, s, s.Good, "https://localhost:9443/", false); got != "200 gen-0 good" {
		t.Fatalf("first generation: %q", got)
	}
	// The first fetch is verified by the first lookup, which asks for a
	// second fetch to keep it in storage (see crlSource). From then on only
	// the refresh schedule (an hour) fetches.
	stored := filepath.Join(storage, "client_certificate", "crl")
	pollUntil(t, "the CRL to be kept in storage", "1", func() string {
		entries, _ := os.ReadDir(stored)
		return fmt.Sprint(len(entries))
	})
	fetchesBefore := srv.fetches.Load()
	runtime.GC()
	before := runtime.NumGoroutine()
	loops := refreshGoroutines()
	if loops != 1 {
		t.Fatalf("%d refresh goroutines for one CRL source", loops)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var served, failed atomic.Int64
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if got := request(t, s, s.Other, "https://localhost:9443/", false); strings.HasPrefix(got, "403 denied revoked") {
				served.Add(1)
			} else if got != "handshake" { // a connection cut by a reload
				failed.Add(1)
				t.Errorf("during reloads, Other: %q", got)
			}
		}
	}()
	for i := 1; i <= 50; i++ {
		tester.InitServer(remap(revocationCaddyfile(f, storage, srv.URL+"/issuing.crl", "1h", fmt.Sprintf("gen-%d", i))), "caddyfile")
	}
	close(stop)
	wg.Wait()
	if got := request(t, s, s.Good, "https://localhost:9443/", false); got != "200 gen-50 good" {
		t.Errorf("last generation: %q", got)
	}
	if n := refreshGoroutines(); n != 1 {
		t.Errorf("%d refresh goroutines after 50 reloads, want 1", n)
	}
	http.DefaultClient.CloseIdleConnections()
	time.Sleep(200 * time.Millisecond) // let closed connections' goroutines exit
	runtime.GC()
	after := runtime.NumGoroutine()
	t.Logf("goroutines: %d after the first load, %d after 50 reloads; %d revoked requests denied during the reloads; %d CRL fetches before the reloads, %d after", before, after, served.Load(), fetchesBefore, srv.fetches.Load())
	if n := srv.fetches.Load() - fetchesBefore; n != 0 {
		t.Errorf("%d fetches of the CRL during 50 reloads, want 0: a reload must not fetch an unchanged source again", n)
	}
	// Unloading the last configuration that names the source stops it.
	tester.InitServer(remap(testGlobalOptions+`http://localhost:9080 {
	respond "no revocation here"
}
`), "caddyfile")
	if n := refreshGoroutines(); n != 0 {
		t.Errorf("%d refresh goroutines after the configuration naming the CRL was unloaded, want 0", n)
	}
	if after > before+5 {
		t.Errorf("goroutines grew from %d to %d over 50 reloads", before, after)
	}
}
