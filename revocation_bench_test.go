// revocation_bench_test.go: benchmarks of revocation checking: a decision
// on a warm connection with a CRL (the per-request cost), and the lookups
// a connection's first request or a verifier's handshake pays.

package clientcertificate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// The decision of BenchmarkDecisionVerifiedChain with revocation from a
// CRL: on a warm connection the verdict is the connection's memo.
func BenchmarkDecisionVerifiedChainRevocation(b *testing.B) {
	s := pki(b)
	p := benchRevocationPolicy(b, s, nil)
	peer := presented(s.Good)
	verified := tlsVerified(s.Good, testpki.Pool(s.Root))
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, verified, p.now(), true) })
}

// The same with the policy's own trust_pool.
func BenchmarkDecisionTrustPoolRevocation(b *testing.B) {
	s := pki(b)
	p := benchRevocationPolicy(b, s, testpki.Pool(s.Root))
	peer := presented(s.Good)
	benchmarkDecision(b, func() Decision { return p.evaluate(peer, nil, p.now(), true) })
}

// benchRevocationPolicy is the policy of the decision benchmarks with
// revocation from a CRL file of the issuing CA that lists Other.
func benchRevocationPolicy(b *testing.B, s *testpki.Set, pool *x509.CertPool) *Policy {
	file := writeTemp(b, "ca.crl", signedCRL(b, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	p, _ := revocationPolicy(b, Policy{RequireUnexpired: true, Revocation: &Revocation{CRL: []string{file}}, Conditions: Conditions{
		Thumbprint: []string{sha1Hex(s.Good.Cert)},
		Subject:    []string{goodSubject},
		Issuer:     []string{issuingCA},
	}}, pool, nil)
	return p
}

// A revocation lookup without a memo, as a connection's first request or
// the verifier pays: the CRL index and the signature check already done.
func BenchmarkRevocationLookupCRL(b *testing.B) {
	s := pki(b)
	file := writeTemp(b, "ca.crl", signedCRL(b, s.Intermediate, testpki.CRLOptions{Revoked: []*big.Int{s.Other.Cert.SerialNumber}}))
	p, _ := revocationPolicy(b, Policy{Revocation: &Revocation{CRL: []string{file}}}, nil, nil)
	chain := tlsVerified(s.Good, testpki.Pool(s.Root))[0]
	if v := p.revocation.check(chain, true); v.status != revocationGood {
		b.Fatalf("setup: %v %s", v.status, v.cause)
	}
	b.ReportAllocs()
	for b.Loop() {
		p.revocation.check(chain, true)
	}
}

// BenchmarkKeepAliveDuringCRLRefresh measures what refreshing a
// 1,000,000-entry CRL costs the requests being served: an in-process TLS
// server deciding every request with a revocation policy on that CRL,
// kept-alive HTTP/1.1 clients and a prober opening a new TLS connection
// every 20 ms, first with no refresh, then while the CRL is read, parsed,
// indexed and verified over and over, paced as a background refresh is
// (what a refresh does; the fetch is a file read). It reports the requests per second of both phases, their
// ratio, and the handshake p99 of both. Run it with -benchtime 1x: one
// iteration is BENCH_ROUNDS (default 3) rounds of an idle and a refreshing
// phase of BENCH_PHASE (default 5s) each; medians of the rounds.
func BenchmarkKeepAliveDuringCRLRefresh(b *testing.B) {
	m := crlBenchData(b)
	set, err := crlTestPKI()
	if err != nil {
		b.Fatal(err)
	}
	file := writeTemp(b, "million.crl", m.der)
	p, _ := revocationPolicy(b, Policy{Revocation: &Revocation{CRL: []string{file}}}, nil, nil)
	phase := 5 * time.Second
	if v, err := time.ParseDuration(os.Getenv("BENCH_PHASE")); err == nil {
		phase = v
	}

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := p.Evaluate(r.TLS); !d.Allowed {
			http.Error(w, d.Reason, http.StatusForbidden)
		}
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: testpki.Pool(set.Root),
		Certificates: []tls.Certificate{set.Server.TLSCertificate()}}
	srv.StartTLS()
	defer srv.Close()
	cert := set.Good.TLSCertificate()
	clientTLS := &tls.Config{RootCAs: testpki.Pool(set.Root), ServerName: "localhost", Certificates: []tls.Certificate{cert}}
	url := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	run := func(refresh bool) (rps float64, p99 time.Duration, refreshes int, took time.Duration) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var served atomic.Int64
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tr := &http.Transport{TLSClientConfig: clientTLS}
				defer tr.CloseIdleConnections()
				c := &http.Client{Transport: tr}
				for {
					select {
					case <-stop:
						return
					default:
					}
					resp, err := c.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						served.Add(1)
					}
				}
			}()
		}
		var latencies []time.Duration
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				start := time.Now()
				conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), clientTLS)
				if err != nil {
					b.Error(err)
					return
				}
				latencies = append(latencies, time.Since(start))
				conn.Close()
			}
		}()
		var done atomic.Int64
		var busy atomic.Int64 // nanoseconds spent in completed refreshes
		if refresh {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					start := time.Now()
					data, err := readCRLFile(file, 64<<20)
					if err != nil {
						b.Error(err)
						return
					}
					lists, err := parseCRLs(data, newPacer(context.Background(), refreshIdleFactor))
					if err == nil {
						err = lists[0].verifyIssuer(m.issuer)
					}
					if err != nil {
						b.Error(err)
						return
					}
					busy.Add(int64(time.Since(start)))
					done.Add(1)
				}
			}()
		}
		time.Sleep(phase)
		close(stop)
		wg.Wait()
		slices.Sort(latencies)
		if len(latencies) > 0 {
			p99 = latencies[len(latencies)*99/100]
		}
		if n := done.Load(); n > 0 {
			took = time.Duration(busy.Load() / n)
		}
		return float64(served.Load()) / phase.Seconds(), p99, int(done.Load()), took
	}
	rounds := 3
	if n, err := strconv.Atoi(os.Getenv("BENCH_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	median := func(v []float64) float64 {
		slices.Sort(v)
		return v[len(v)/2]
	}
	for b.Loop() {
		// Idle and refreshing phases alternate, so that the host's own
		// drift weighs on both alike; medians of the rounds are reported.
		var base, during, baseP99, duringP99, took []float64
		refreshes := 0
		for range rounds {
			rps, p99, _, _ := run(false)
			base, baseP99 = append(base, rps), append(baseP99, float64(p99.Microseconds())/1000)
			rps, p99, n, t := run(true)
			during, duringP99 = append(during, rps), append(duringP99, float64(p99.Microseconds())/1000)
			refreshes += n
			took = append(took, t.Seconds())
		}
		b.ReportMetric(median(base), "req/s-idle")
		b.ReportMetric(median(during), "req/s-refreshing")
		b.ReportMetric(median(during)/median(base), "ratio")
		b.ReportMetric(median(baseP99), "handshake-p99-ms-idle")
		b.ReportMetric(median(duringP99), "handshake-p99-ms-refreshing")
		b.ReportMetric(float64(refreshes), "refreshes")
		b.ReportMetric(median(took), "s/refresh")
	}
}

// The verifier with OCSP once the answer is cached, the responder down: a
// handshake does not wait for the responder at all (compare with
// BenchmarkVerifierHandshake, which has no revocation).
func BenchmarkVerifierHandshakeOCSPCachedResponderDown(b *testing.B) {
	s := pki(b)
	var statuses ocspStatuses
	responder := newOCSPTestResponder(b, s.Intermediate, statuses.answer)
	sw := newOCSPSwitch(b, responder.URL)
	leaf := ocspLeaf(b, s, "ocsp-bench", sw.URL)
	p, _ := revocationPolicy(b, Policy{Revocation: &Revocation{OCSP: true}, Conditions: Conditions{Issuer: []string{issuingCA}}}, nil, nil)
	v := &Verifier{Policy: *p}
	raw := rawChain(leaf)
	verified := tlsVerified(leaf, testpki.Pool(s.Root))
	if err := v.VerifyClientCertificate(raw, verified); err != nil {
		b.Fatal(err)
	}
	sw.down.Store(true)
	asked := sw.forwarded.Load()
	b.ReportAllocs()
	for b.Loop() {
		if err := v.VerifyClientCertificate(raw, verified); err != nil {
			b.Fatal(err)
		}
	}
	if sw.forwarded.Load() != asked {
		b.Fatal("the responder was asked")
	}
}
