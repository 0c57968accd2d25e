// ocsp_test.go: checkOCSPResponse against real responses fetched from a
// test OCSP responder (ocspTestResponder, which any test of the package may
// use), ocspRequestFor, the responder's knobs, and FuzzCheckOCSPResponse.

package clientcertificate

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/caddy-mtls/caddy-client-certificate/internal/testpki"
)

// ocspTestResponder is an httptest OCSP responder for issuer.
type ocspTestResponder struct {
	URL      string
	Requests atomic.Int64 // requests received, answered or not

	issuer *testpki.CA
	answer func(serial *big.Int) ocsp.Response
	done   chan struct{} // closed when the test ends, to release waiting handlers

	// Knobs; set them before the request they are for.
	signer *testpki.Leaf // signs instead of issuer, its certificate embedded
	bare   bool          // with signer: embed no certificate
	status int           // answer with this HTTP status (say 500) and no OCSP response
	delay  time.Duration // wait this long before answering
	hang   bool          // never answer: wait for the client to give up or the test to end
	body   []byte        // serve these bytes instead of an OCSP response
}

// newOCSPTestResponder starts a responder for issuer that answers a request
// about serial with answer(serial), signed as the knobs say. A zero
// SerialNumber in the answer means serial.
func newOCSPTestResponder(t testing.TB, issuer *testpki.CA, answer func(serial *big.Int) ocsp.Response) *ocspTestResponder {
	t.Helper()
	r := &ocspTestResponder{issuer: issuer, answer: answer, done: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	// Cleanups run last first: handlers are released before Close waits
	// for them.
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(r.done) })
	r.URL = srv.URL
	return r
}

func (r *ocspTestResponder) serveHTTP(w http.ResponseWriter, req *http.Request) {
	r.Requests.Add(1)
	wait := r.delay
	if r.hang {
		wait = -1
	}
	if wait != 0 {
		var timer <-chan time.Time
		if wait > 0 {
			timer = time.After(wait)
		}
		select {
		case <-timer:
		case <-req.Context().Done():
			return
		case <-r.done:
			// Drop the connection: returning would send an empty 200.
			panic(http.ErrAbortHandler)
		}
	}
	if r.status != 0 {
		http.Error(w, http.StatusText(r.status), r.status)
		return
	}
	if r.body != nil {
		// Labelled as a server would: DER (even cut short) as OCSP, the
		// rest (an HTML page) as net/http sniffs it.
		if len(r.body) > 0 && r.body[0] == 0x30 {
			w.Header().Set("Content-Type", "application/ocsp-response")
		}
		w.Write(r.body)
		return
	}
	der, err := ocspTestRequestDER(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	parsed, err := ocsp.ParseRequest(der)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	template := r.answer(parsed.SerialNumber)
	if template.SerialNumber == nil {
		template.SerialNumber = parsed.SerialNumber
	}
	signerCert, key := r.issuer.Cert, crypto.Signer(r.issuer.Key)
	if r.signer != nil {
		signerCert, key = r.signer.Cert, r.signer.Key
		if !r.bare {
			template.Certificate = r.signer.Cert
		}
	}
	resp, err := ocsp.CreateResponse(r.issuer.Cert, signerCert, template, key)
	if err != nil {
		w.Write(ocsp.InternalErrorErrorResponse)
		return
	}
	w.Write(resp)
}

// ocspTestRequestDER reads an OCSP request sent by POST, or by GET as the
// URL-escaped base64 of the DER request (RFC 6960 A.1).
func ocspTestRequestDER(req *http.Request) ([]byte, error) {
	switch req.Method {
	case http.MethodPost:
		if ct := req.Header.Get("Content-Type"); ct != "application/ocsp-request" {
			return nil, fmt.Errorf("Content-Type %q, not application/ocsp-request", ct)
		}
		return io.ReadAll(io.LimitReader(req.Body, 64<<10))
	case http.MethodGet:
		return base64.StdEncoding.DecodeString(strings.TrimPrefix(req.URL.Path, "/"))
	}
	return nil, fmt.Errorf("method %s not allowed", req.Method)
}

// ocspTestPost asks the responder at url about cert, as the production fetch
// does: a POST of ocspRequestFor's request.
func ocspTestPost(t testing.TB, url string, cert, issuer *x509.Certificate) []byte {
	t.Helper()
	req, err := ocspRequestFor(cert, issuer)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/ocsp-request", bytes.NewReader(req))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("responder: %s: %s", resp.Status, body)
	}
	return body
}

var ocspTestStandard = sync.OnceValues(testpki.Standard)

func ocspTestPKI(t testing.TB) *testpki.Set {
	t.Helper()
	s, err := ocspTestStandard()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ocspTestResponderCert issues a delegated responder certificate from ca.
func ocspTestResponderCert(t testing.TB, ca *testpki.CA, o testpki.Options) *testpki.Leaf {
	t.Helper()
	o.Subject = pkix.Name{CommonName: "OCSP Responder", Organization: []string{"Contoso Weather"}}
	l, err := ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var ocspTestSigningEKU = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}

func TestCheckOCSPResponse(t *testing.T) {
	s := ocspTestPKI(t)
	// Whole seconds: OCSP times have no finer precision.
	now := time.Now().Truncate(time.Second)
	goodFor := func(this, next time.Duration) func(*big.Int) ocsp.Response {
		return func(*big.Int) ocsp.Response {
			r := ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(this)}
			if next != 0 {
				r.NextUpdate = now.Add(next)
			}
			return r
		}
	}
	revoked := func(reason int) func(*big.Int) ocsp.Response {
		return func(*big.Int) ocsp.Response {
			return ocsp.Response{Status: ocsp.Revoked, RevokedAt: now.Add(-2 * time.Hour), RevocationReason: reason,
				ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour)}
		}
	}
	delegated := func(ca *testpki.CA, o testpki.Options) func(testing.TB, *ocspTestResponder) {
		return func(t testing.TB, r *ocspTestResponder) { r.signer = ocspTestResponderCert(t, ca, o) }
	}
	withEKU := func(notBefore, notAfter time.Duration) testpki.Options {
		return testpki.Options{ExtKeyUsage: ocspTestSigningEKU, NotBefore: now.Add(notBefore), NotAfter: now.Add(notAfter)}
	}
	signedBy := func(ca *testpki.CA, bare bool) func(testing.TB, *ocspTestResponder) {
		return func(_ testing.TB, r *ocspTestResponder) {
			r.signer, r.bare = &testpki.Leaf{Cert: ca.Cert, Key: ca.Key}, bare
		}
	}
	serve := func(body []byte) func(testing.TB, *ocspTestResponder) {
		return func(_ testing.TB, r *ocspTestResponder) { r.body = body }
	}
	// A real response, made before the test so that it can be cut or
	// extended.
	goodDER, err := ocsp.CreateResponse(s.Intermediate.Cert, s.Intermediate.Cert,
		ocsp.Response{Status: ocsp.Good, SerialNumber: s.Good.Cert.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)},
		s.Intermediate.Key)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by a delegated responder that Intermediate certified, but
	// about a certificate of OtherRoot with Good's serial: as if the
	// responder served both CAs.
	shared := ocspTestResponderCert(t, s.Intermediate, withEKU(-time.Hour, time.Hour))
	otherCA, err := ocsp.CreateResponse(s.OtherRoot.Cert, shared.Cert,
		ocsp.Response{Status: ocsp.Good, SerialNumber: s.Good.Cert.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour), Certificate: shared.Cert},
		shared.Key)
	if err != nil {
		t.Fatal(err)
	}
	random := make([]byte, 300)
	rand.NewChaCha8([32]byte{'o', 'c', 's', 'p'}).Read(random)

	intermediateName := s.Intermediate.Cert.Subject.String()
	tests := []struct {
		name   string
		cert   *testpki.Leaf                        // nil: Good
		issuer *testpki.CA                          // nil: Intermediate
		setup  func(testing.TB, *ocspTestResponder) // knobs
		answer func(*big.Int) ocsp.Response         // nil: good for an hour either side
		want   ocspAnswer                           // status and reason; times from answer
		errs   []string                             // substrings of the error; nil: accepted
	}{
		{name: "good", want: ocspAnswer{status: ocsp.Good}},
		{name: "revoked keyCompromise", answer: revoked(ocsp.KeyCompromise),
			want: ocspAnswer{status: ocsp.Revoked, reason: ocsp.KeyCompromise}},
		{name: "revoked certificateHold", answer: revoked(ocsp.CertificateHold),
			want: ocspAnswer{status: ocsp.Revoked, reason: 6}},
		{name: "unknown", answer: func(*big.Int) ocsp.Response {
			return ocsp.Response{Status: ocsp.Unknown, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
		}, want: ocspAnswer{status: ocsp.Unknown}},

		// Who signed.
		{name: "delegated responder with id-kp-OCSPSigning",
			setup: delegated(s.Intermediate, withEKU(-time.Hour, time.Hour)), want: ocspAnswer{status: ocsp.Good}},
		{name: "delegated responder without extendedKeyUsage",
			setup: delegated(s.Intermediate, testpki.Options{ExtKeyUsage: []x509.ExtKeyUsage{}}),
			errs:  []string{"responder certificate", "lacks id-kp-OCSPSigning"}},
		{name: "delegated responder with clientAuth only",
			setup: delegated(s.Intermediate, testpki.Options{}), errs: []string{"lacks id-kp-OCSPSigning"}},
		{name: "delegated responder with anyExtendedKeyUsage",
			setup: delegated(s.Intermediate, testpki.Options{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}),
			errs:  []string{"lacks id-kp-OCSPSigning"}},
		{name: "delegated responder expired",
			setup: delegated(s.Intermediate, withEKU(-48*time.Hour, -2*time.Hour)),
			errs:  []string{"responder certificate expired at " + now.Add(-2*time.Hour).UTC().Format(time.RFC3339)}},
		{name: "delegated responder expired within skew",
			setup: delegated(s.Intermediate, withEKU(-48*time.Hour, -30*time.Second)), want: ocspAnswer{status: ocsp.Good}},
		{name: "delegated responder not yet valid",
			setup: delegated(s.Intermediate, withEKU(2*time.Hour, 48*time.Hour)),
			errs:  []string{"responder certificate not valid until"}},
		{name: "responder certificate issued by OtherRoot",
			setup: delegated(s.OtherRoot, withEKU(-time.Hour, time.Hour)),
			errs:  []string{"responder certificate not issued by " + intermediateName, "Fabrikam Root CA"}},
		{name: "responder certificate issued by RogueRoot",
			setup: delegated(s.RogueRoot, withEKU(-time.Hour, time.Hour)),
			errs:  []string{"responder certificate not issued by " + intermediateName, "another key"}},
		{name: "responder certificate signed by the issuer's key under another name",
			setup: func(t testing.TB, r *ocspTestResponder) {
				renamed, err := testpki.NewRootWithOptions(testpki.Options{
					Subject: pkix.Name{CommonName: "Contoso Weather Issuing CA 2"}, Key: s.Intermediate.Key})
				if err != nil {
					t.Fatal(err)
				}
				r.signer = ocspTestResponderCert(t, renamed, withEKU(-time.Hour, time.Hour))
			},
			errs: []string{"responder certificate not issued by " + intermediateName, "Issuing CA 2"}},
		{name: "signed directly by RogueRoot",
			setup: signedBy(s.RogueRoot, true), errs: []string{"OCSP response not signed by " + intermediateName}},
		{name: "signed by RogueRoot, its certificate embedded",
			setup: signedBy(s.RogueRoot, false), errs: []string{"responder certificate not issued by " + intermediateName}},
		{name: "signed by the issuer's own issuer",
			setup: signedBy(s.Root, true), errs: []string{"OCSP response not signed by " + intermediateName}},
		{name: "issuer's own certificate embedded",
			setup: signedBy(s.Intermediate, false), want: ocspAnswer{status: ocsp.Good}},
		{name: "self-signed issuer's own certificate embedded", cert: &testpki.Leaf{Cert: s.Intermediate.Cert}, issuer: s.Root,
			setup: signedBy(s.Root, false), want: ocspAnswer{status: ocsp.Good}},
		{name: "signed by another key than the embedded certificate's",
			setup: func(t testing.TB, r *ocspTestResponder) {
				l := ocspTestResponderCert(t, s.Intermediate, withEKU(-time.Hour, time.Hour))
				r.signer = &testpki.Leaf{Cert: l.Cert, Key: s.Other.Key}
			},
			errs: []string{"OCSP response not signed by the responder certificate it carries"}},

		// About what.
		{name: "another serial", answer: func(*big.Int) ocsp.Response {
			return ocsp.Response{Status: ocsp.Good, SerialNumber: s.Other.Cert.SerialNumber, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
		}, errs: []string{fmt.Sprintf("OCSP response is for serial %X, not %X", s.Other.Cert.SerialNumber, s.Good.Cert.SerialNumber)}},
		{name: "another issuer's certificate with the same serial", setup: serve(otherCA),
			errs: []string{fmt.Sprintf("OCSP response is about serial %X of another issuer", s.Good.Cert.SerialNumber)}},

		// When.
		{name: "no nextUpdate", answer: goodFor(-time.Hour, 0), want: ocspAnswer{status: ocsp.Good}},
		{name: "nextUpdate past beyond skew", answer: goodFor(-2*time.Hour, -2*time.Minute),
			errs: []string{"OCSP response expired at " + now.Add(-2*time.Minute).UTC().Format(time.RFC3339)}},
		{name: "nextUpdate past within skew", answer: goodFor(-2*time.Hour, -30*time.Second), want: ocspAnswer{status: ocsp.Good}},
		{name: "thisUpdate future beyond skew", answer: goodFor(2*time.Minute, 2*time.Hour),
			errs: []string{"OCSP response is from the future (thisUpdate " + now.Add(2*time.Minute).UTC().Format(time.RFC3339)}},
		{name: "thisUpdate future within skew", answer: goodFor(30*time.Second, 2*time.Hour), want: ocspAnswer{status: ocsp.Good}},
		{name: "nextUpdate before thisUpdate", answer: goodFor(-10*time.Second, -20*time.Second),
			errs: []string{"nextUpdate", "is before its thisUpdate"}},

		// Not an answer.
		{name: "unauthorized", setup: serve(ocsp.UnauthorizedErrorResponse), errs: []string{"OCSP responder says: unauthorized"}},
		{name: "try later", setup: serve(ocsp.TryLaterErrorResponse), errs: []string{"OCSP responder says: try later"}},
		{name: "HTML page", setup: serve([]byte("<!DOCTYPE html>\n<html><body>Sign in to the Wi-Fi</body></html>")),
			errs: []string{"not an OCSP response", `"<!DOCTYPE html>`}},
		{name: "empty body", setup: serve([]byte{}), errs: []string{"not an OCSP response: empty body"}},
		{name: "truncated", setup: serve(goodDER[:len(goodDER)/2]), errs: []string{"not an OCSP response"}},
		{name: "random bytes", setup: serve(random), errs: []string{"not an OCSP response"}},
		{name: "trailing data", setup: serve(append(goodDER[:len(goodDER):len(goodDER)], 0)),
			errs: []string{"unusable OCSP response", "trailing data"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cert, issuer, answer := s.Good, s.Intermediate, goodFor(-time.Hour, time.Hour)
			if tt.cert != nil {
				cert = tt.cert
			}
			if tt.issuer != nil {
				issuer = tt.issuer
			}
			if tt.answer != nil {
				answer = tt.answer
			}
			r := newOCSPTestResponder(t, issuer, answer)
			if tt.setup != nil {
				tt.setup(t, r)
			}
			der := ocspTestPost(t, r.URL, cert.Cert, issuer.Cert)

			got, err := checkOCSPResponse(der, cert.Cert, issuer.Cert, now)
			if tt.errs != nil {
				if err == nil {
					t.Fatalf("accepted %+v; want an error with %q", got, tt.errs)
				}
				for _, e := range tt.errs {
					if !strings.Contains(err.Error(), e) {
						t.Errorf("error %q lacks %q", err, e)
					}
				}
				if got != (ocspAnswer{}) {
					t.Errorf("answer %+v with the error; want the zero answer", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := answer(cert.Cert.SerialNumber)
			tt.want.thisUpdate, tt.want.nextUpdate = want.ThisUpdate, want.NextUpdate
			if tt.want.status == ocsp.Revoked {
				tt.want.revokedAt = want.RevokedAt
			}
			if !ocspTestSameAnswer(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// ocspTestSameAnswer compares answers by instant, not by time.Location.
func ocspTestSameAnswer(a, b ocspAnswer) bool {
	return a.status == b.status && a.reason == b.reason && a.thisUpdate.Equal(b.thisUpdate) &&
		a.nextUpdate.Equal(b.nextUpdate) && a.revokedAt.Equal(b.revokedAt)
}

func TestCheckOCSPResponseNilCertificates(t *testing.T) {
	s := ocspTestPKI(t)
	now := time.Now()
	r := newOCSPTestResponder(t, s.Intermediate, func(*big.Int) ocsp.Response {
		return ocsp.Response{Status: ocsp.Good, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	})
	der := ocspTestPost(t, r.URL, s.Good.Cert, s.Intermediate.Cert)
	for _, c := range []struct {
		name         string
		cert, issuer *x509.Certificate
	}{
		{"nil issuer", s.Good.Cert, nil},
		{"nil certificate", nil, s.Intermediate.Cert},
		{"no serial", &x509.Certificate{}, s.Intermediate.Cert},
	} {
		if _, err := checkOCSPResponse(der, c.cert, c.issuer, now); err == nil || !strings.Contains(err.Error(), "issuer") {
			t.Errorf("%s: error %v; want one naming the issuer", c.name, err)
		}
		if _, err := ocspRequestFor(c.cert, c.issuer); err == nil {
			t.Errorf("%s: ocspRequestFor: no error", c.name)
		}
	}
}

func TestOCSPRequestFor(t *testing.T) {
	s := ocspTestPKI(t)
	der, err := ocspRequestFor(s.Good.Cert, s.Intermediate.Cert)
	if err != nil {
		t.Fatal(err)
	}
	req, err := ocsp.ParseRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	// The CertID's hashes (RFC 6960 4.1.1), computed here independently
	// of the library: SHA-1 of the issuer's DN and of its public key's bits.
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(s.Intermediate.Cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	nameHash, keyHash := sha1.Sum(s.Intermediate.Cert.RawSubject), sha1.Sum(spki.PublicKey.RightAlign())
	switch {
	case req.HashAlgorithm != crypto.SHA1:
		t.Errorf("hash %v, want SHA-1", req.HashAlgorithm)
	case req.SerialNumber.Cmp(s.Good.Cert.SerialNumber) != 0:
		t.Errorf("serial %X, want %X", req.SerialNumber, s.Good.Cert.SerialNumber)
	case !bytes.Equal(req.IssuerNameHash, nameHash[:]):
		t.Errorf("issuer name hash %X, want %X", req.IssuerNameHash, nameHash)
	case !bytes.Equal(req.IssuerKeyHash, keyHash[:]):
		t.Errorf("issuer key hash %X, want %X", req.IssuerKeyHash, keyHash)
	}
}

// TestOCSPTestResponder checks the responder itself and each knob, so that
// other tests can rely on them.
func TestOCSPTestResponder(t *testing.T) {
	s := ocspTestPKI(t)
	now := time.Now()
	good := func(*big.Int) ocsp.Response {
		return ocsp.Response{Status: ocsp.Good, ThisUpdate: now, NextUpdate: now.Add(time.Hour)}
	}
	reqDER, err := ocspRequestFor(s.Good.Cert, s.Intermediate.Cert)
	if err != nil {
		t.Fatal(err)
	}
	post := func(c *http.Client, url string) (*http.Response, []byte, error) {
		resp, err := c.Post(url, "application/ocsp-request", bytes.NewReader(reqDER))
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp, body, err
	}
	isTimeout := func(err error) bool {
		var ne net.Error
		return errors.As(err, &ne) && ne.Timeout()
	}
	checkGood := func(t *testing.T, body []byte) {
		t.Helper()
		a, err := checkOCSPResponse(body, s.Good.Cert, s.Intermediate.Cert, now)
		if err != nil || a.status != ocsp.Good {
			t.Errorf("answer %+v, %v; want good", a, err)
		}
	}
	client := &http.Client{Timeout: 10 * time.Second}

	t.Run("GET", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		resp, err := client.Get(r.URL + "/" + url.PathEscape(base64.StdEncoding.EncodeToString(reqDER)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); ct != "application/ocsp-response" {
			t.Errorf("Content-Type %q", ct)
		}
		checkGood(t, body)
		if n := r.Requests.Load(); n != 1 {
			t.Errorf("Requests = %d, want 1", n)
		}
	})
	t.Run("POST without the OCSP Content-Type", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		resp, err := client.Post(r.URL, "application/octet-stream", bytes.NewReader(reqDER))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("status %d, want 400", resp.StatusCode)
		}
	})
	t.Run("malformed request", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		resp, err := client.Post(r.URL, "application/ocsp-request", strings.NewReader("nonsense"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if _, err := checkOCSPResponse(body, s.Good.Cert, s.Intermediate.Cert, now); err == nil ||
			!strings.Contains(err.Error(), "OCSP responder says: malformed") {
			t.Errorf("error %v; want the responder's malformed", err)
		}
	})
	t.Run("status", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		r.status = http.StatusInternalServerError
		resp, _, err := post(client, r.URL)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusInternalServerError {
			t.Errorf("status %d, want 500", resp.StatusCode)
		}
	})
	t.Run("delay", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		r.delay = 300 * time.Millisecond
		if _, _, err := post(&http.Client{Timeout: 50 * time.Millisecond}, r.URL); !isTimeout(err) {
			t.Errorf("impatient client: %v; want a timeout", err)
		}
		start := time.Now()
		resp, body, err := post(client, r.URL)
		if err != nil {
			t.Fatal(err)
		}
		if elapsed := time.Since(start); elapsed < r.delay {
			t.Errorf("answered after %v; want at least %v", elapsed, r.delay)
		}
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d", resp.StatusCode)
		}
		checkGood(t, body)
	})
	t.Run("hang", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		r.hang = true
		if _, _, err := post(&http.Client{Timeout: 100 * time.Millisecond}, r.URL); !isTimeout(err) {
			t.Errorf("client: %v; want a timeout", err)
		}
		if n := r.Requests.Load(); n != 1 {
			t.Errorf("Requests = %d, want 1", n)
		}
	})
	t.Run("hang released when the test ends", func(t *testing.T) {
		// The client waits longer than the test: the cleanup must release
		// the handler, or the server's Close would wait for it.
		var r *ocspTestResponder
		finished := make(chan error, 1)
		t.Run("inner", func(t *testing.T) {
			r = newOCSPTestResponder(t, s.Intermediate, good)
			r.hang = true
			go func() {
				_, _, err := post(client, r.URL)
				finished <- err
			}()
			for r.Requests.Load() == 0 {
				time.Sleep(time.Millisecond)
			}
		})
		select {
		case err := <-finished:
			if err == nil {
				t.Error("hung responder answered")
			}
		case <-time.After(5 * time.Second):
			t.Error("client still waiting after the test ended")
		}
	})
	t.Run("body", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		r.body = []byte("<html><body>502 Bad Gateway</body></html>")
		resp, body, err := post(client, r.URL)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, r.body) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("served %q as %q", body, resp.Header.Get("Content-Type"))
		}
		r.body = ocsp.UnauthorizedErrorResponse
		resp, body, err = post(client, r.URL)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(body, r.body) || resp.Header.Get("Content-Type") != "application/ocsp-response" {
			t.Errorf("served %X as %q", body, resp.Header.Get("Content-Type"))
		}
	})
	t.Run("signer", func(t *testing.T) {
		r := newOCSPTestResponder(t, s.Intermediate, good)
		r.signer = ocspTestResponderCert(t, s.Intermediate, testpki.Options{ExtKeyUsage: ocspTestSigningEKU})
		_, body, err := post(client, r.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := ocsp.ParseResponseForCert(body, s.Good.Cert, s.Intermediate.Cert)
		if err != nil || resp.Certificate == nil || !resp.Certificate.Equal(r.signer.Cert) {
			t.Errorf("response %v, %v; want one carrying the signer's certificate", resp, err)
		}
		checkGood(t, body)
	})
}

// ocspFuzzPKI is an issuer, a leaf and a delegated responder with keys and
// serials derived from fixed labels: fuzzing workers are separate
// processes, and the seeds one of them signed must verify in all.
type ocspFuzzPKI struct {
	issuer    *testpki.CA
	leaf      *testpki.Leaf
	responder *testpki.Leaf
	now       time.Time
}

func newOCSPFuzzPKI(t testing.TB) *ocspFuzzPKI {
	t.Helper()
	key := func(label string) *ecdsa.PrivateKey {
		d := sha256.Sum256([]byte("ocsp fuzz " + label))
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d[:])
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	from, until := now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)
	p := &ocspFuzzPKI{now: now}
	var err error
	p.issuer, err = testpki.NewRootWithOptions(testpki.Options{Subject: pkix.Name{CommonName: "OCSP Fuzz CA"},
		Key: key("issuer"), Serial: big.NewInt(1), NotBefore: from, NotAfter: until})
	if err == nil {
		p.leaf, err = p.issuer.Issue(testpki.Options{Subject: pkix.Name{CommonName: "leaf"},
			Key: key("leaf"), Serial: big.NewInt(0x42), NotBefore: from, NotAfter: until})
	}
	if err == nil {
		p.responder, err = p.issuer.Issue(testpki.Options{Subject: pkix.Name{CommonName: "responder"}, ExtKeyUsage: ocspTestSigningEKU,
			Key: key("responder"), Serial: big.NewInt(0x43), NotBefore: from, NotAfter: until})
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func FuzzCheckOCSPResponse(f *testing.F) {
	p := newOCSPFuzzPKI(f)
	cert, issuer := p.leaf.Cert, p.issuer.Cert
	now := p.now
	seed := func(signer *testpki.Leaf, r ocsp.Response) []byte {
		if r.SerialNumber == nil {
			r.SerialNumber = cert.SerialNumber
		}
		signerCert, key := issuer, p.issuer.Key
		if signer != nil {
			signerCert, key, r.Certificate = signer.Cert, signer.Key, signer.Cert
		}
		der, err := ocsp.CreateResponse(issuer, signerCert, r, key)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der, int64(0))
		f.Add(der, int64(3600))
		return der
	}
	hour := time.Hour
	good := seed(nil, ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-hour), NextUpdate: now.Add(hour)})
	if _, err := checkOCSPResponse(good, cert, issuer, now); err != nil {
		f.Fatalf("the good seed is rejected: %v", err)
	}
	seed(nil, ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-hour)})
	seed(nil, ocsp.Response{Status: ocsp.Revoked, RevokedAt: now.Add(-2 * hour), RevocationReason: ocsp.CertificateHold,
		ThisUpdate: now.Add(-hour), NextUpdate: now.Add(hour)})
	seed(nil, ocsp.Response{Status: ocsp.Unknown, ThisUpdate: now.Add(-hour), NextUpdate: now.Add(hour)})
	seed(nil, ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-hour), NextUpdate: now.Add(-2 * hour)})
	seed(nil, ocsp.Response{Status: ocsp.Good, SerialNumber: big.NewInt(7), ThisUpdate: now, NextUpdate: now.Add(hour)})
	seed(p.responder, ocsp.Response{Status: ocsp.Good, ThisUpdate: now.Add(-hour), NextUpdate: now.Add(hour)})
	seed(&testpki.Leaf{Cert: issuer, Key: p.issuer.Key}, ocsp.Response{Status: ocsp.Good, ThisUpdate: now, NextUpdate: now.Add(hour)})
	f.Add(ocsp.UnauthorizedErrorResponse, int64(0))
	f.Add([]byte("<html></html>"), int64(0))
	f.Add([]byte{}, int64(0))

	f.Fuzz(func(t *testing.T, der []byte, offset int64) {
		at := now.Add(time.Duration(offset%(1<<32)) * time.Second)
		a, err := checkOCSPResponse(der, cert, issuer, at)
		if err != nil {
			if a != (ocspAnswer{}) {
				t.Fatalf("answer %+v with error %v", a, err)
			}
			return
		}
		switch {
		case a.status != ocsp.Good && a.status != ocsp.Revoked && a.status != ocsp.Unknown:
			t.Fatalf("status %d", a.status)
		case a.thisUpdate.After(at.Add(ocspClockSkew)):
			t.Fatalf("accepted thisUpdate %v at %v", a.thisUpdate, at)
		case !a.nextUpdate.IsZero() && a.nextUpdate.Before(at.Add(-ocspClockSkew)):
			t.Fatalf("accepted nextUpdate %v at %v", a.nextUpdate, at)
		case !a.nextUpdate.IsZero() && a.nextUpdate.Before(a.thisUpdate):
			t.Fatalf("accepted nextUpdate %v before thisUpdate %v", a.nextUpdate, a.thisUpdate)
		case a.status != ocsp.Revoked && (!a.revokedAt.IsZero() || a.reason != 0):
			t.Fatalf("revocation details on a %d answer: %+v", a.status, a)
		}
		// Whoever signed it was the issuer, or a responder the issuer
		// certified for OCSP.
		resp, err := ocsp.ParseResponseForCert(der, cert, nil)
		if err != nil {
			t.Fatalf("accepted, but the library cannot read it: %v", err)
		}
		if resp.CheckSignatureFrom(issuer) != nil {
			rc := resp.Certificate
			if rc == nil || rc.CheckSignatureFrom(issuer) != nil || !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
				t.Fatalf("accepted a response the issuer did not vouch for")
			}
		}
	})
}
