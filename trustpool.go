// trustpool.go: the policy's own path validation of a presented chain
// against its trust_pool, and the two memories that spare repeating it: a
// per-connection memo and the policy's cache by chain digest.

package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an identifier format, see facts.go
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"time"
	"weak"
)

// verifyResult is the outcome of the policy's own path validation of one
// presented chain.
type verifyResult struct {
	reason  string     // "" when the chain verified
	issuers []caDigest // digests of the CA certificates of the verified chains, not the certificates, so a cached result never keeps a client's certificate alive
	// The result may be reused only inside this window.
	window window
	// chain is the first verified chain, leaf first, as copies (see
	// copyChain), kept only when a decision reads it: for revocation
	// checking, and for a handler that forwards the chain (keepChain).
	chain []*x509.Certificate
}

// caDigest identifies a CA certificate by its thumbprints.
type caDigest struct {
	sha1   [20]byte
	sha256 [32]byte
}

func digestOf(ca *x509.Certificate) caDigest {
	return caDigest{sha1: sha1.Sum(ca.Raw), sha256: sha256.Sum256(ca.Raw)} //nolint:gosec // identifier, see facts.go
}

// verifyMemo ties a verification result to the policy that made it and to
// the exact intermediates a connection presented. It names the policy by
// id: a policy replaced by a reload must not live on in the memos of the
// connections it once judged. It holds the intermediates weakly: a client
// can present its leaf again as an intermediate, or (with certificates
// shared across resumed sessions) another connection's leaf, and a record
// that held its own leaf, or another record's, would never leave the
// connection table.
type verifyMemo struct {
	policy        uint64
	intermediates []weak.Pointer[x509.Certificate]
	result        *verifyResult
}

// maxVerifyMemos bounds the memos of one connection: one per policy that
// verified on it (a matcher and a handler, say), the newest first.
const maxVerifyMemos = 4

// presentedWith reports whether the memo was made for these intermediates,
// the very objects.
func (m *verifyMemo) presentedWith(intermediates []*x509.Certificate) bool {
	if len(m.intermediates) != len(intermediates) {
		return false
	}
	for i, w := range m.intermediates {
		if w.Value() != intermediates[i] {
			return false
		}
	}
	return true
}

// withMemo returns the memos of a connection with m first, then those of
// other policies, at most maxVerifyMemos in all. Stored memos are never
// changed: a concurrent request of the same connection sees either list.
func withMemo(old *[]verifyMemo, m verifyMemo) *[]verifyMemo {
	next := make([]verifyMemo, 1, maxVerifyMemos)
	next[0] = m
	if old != nil {
		for _, o := range *old {
			if o.policy != m.policy && len(next) < maxVerifyMemos {
				next = append(next, o)
			}
		}
	}
	return &next
}

// weakly returns weak pointers to certs.
func weakly(certs []*x509.Certificate) []weak.Pointer[x509.Certificate] {
	out := make([]weak.Pointer[x509.Certificate], len(certs))
	for i, c := range certs {
		out[i] = weak.Make(c)
	}
	return out
}

// negativeVerifyTTL bounds how long a failed verification is remembered, so
// a client cannot make us redo path validation on every request, while a
// certificate that becomes valid is not locked out for long.
const negativeVerifyTTL = time.Minute

// maxPresentedIntermediates bounds the work a client can ask of path
// validation. Real client chains have one or two intermediates.
const maxPresentedIntermediates = 10

// tooManyIntermediates is the result for longer chains, decided before
// anything is computed from them.
var tooManyIntermediates = &verifyResult{reason: ReasonUntrusted}

// verify validates the presented chain against the policy's trust pool,
// reusing earlier results: first the connection's memo (pointer compares),
// then the policy's cache keyed by the digests of the whole chain. Only
// after a completed handshake (proven) are results remembered, and
// consulted: before it (the verifier) none can have been.
func (p *Policy) verify(conn *connection, peer []*x509.Certificate, at moment, proven bool) *verifyResult {
	intermediates := peer[1:]
	if len(intermediates) > maxPresentedIntermediates {
		return tooManyIntermediates
	}
	memos := conn.verification.Load()
	if memos != nil {
		for i := range *memos {
			if m := &(*memos)[i]; m.policy == p.id && m.presentedWith(intermediates) && (at.surelyInside(m.result.window) || at.inside(m.result.window)) {
				return m.result
			}
		}
	}
	if !proven {
		// Before proof of possession nothing was, or will be, remembered.
		return p.verifyNow(peer[0], intermediates, at.now())
	}
	key := chainKey(&conn.facts.sha256, intermediates)
	res, ok := p.verifyCache.get(key)
	if !ok || !at.inside(res.window) {
		res = p.verifyNow(peer[0], intermediates, at.now())
		p.verifyCache.put(key, res)
	}
	conn.verification.Store(withMemo(memos, verifyMemo{policy: p.id, intermediates: weakly(intermediates), result: res}))
	return res
}

// chainKey identifies a presented chain by the SHA-256 of its certificates'
// SHA-256 digests, in order.
func chainKey(leaf *[32]byte, intermediates []*x509.Certificate) [32]byte {
	if len(intermediates) == 0 {
		return *leaf
	}
	h := sha256.New()
	h.Write(leaf[:])
	for _, c := range intermediates {
		// From the bytes: an intermediate is not a client identity, and
		// deriving its facts would be work for nothing.
		d := sha256.Sum256(c.Raw)
		h.Write(d[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verifyNow validates the chain at now, the real time: path validation is
// the slow path, and a coarse clock here could turn a certificate that has
// just become valid into a remembered failure.
func (p *Policy) verifyNow(leaf *x509.Certificate, intermediates []*x509.Certificate, now time.Time) *verifyResult {
	fail := func(reason string) *verifyResult {
		// Remembered for a minute at most, and never past the moment a
		// presented certificate becomes valid, which could change the
		// outcome.
		until := now.Add(negativeVerifyTTL)
		for _, c := range append([]*x509.Certificate{leaf}, intermediates...) {
			if c.NotBefore.After(now) && c.NotBefore.Before(until) {
				until = c.NotBefore.Add(-time.Nanosecond)
			}
		}
		return &verifyResult{reason: reason, window: windowOf(now, until)}
	}
	opts := x509.VerifyOptions{
		Roots:       p.pool,
		CurrentTime: now,
		KeyUsages:   []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if len(intermediates) > 0 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range intermediates {
			opts.Intermediates.AddCert(c)
		}
	}
	chains, err := leaf.Verify(opts)
	if err != nil {
		var invalid x509.CertificateInvalidError
		if errors.As(err, &invalid) && invalid.Reason == x509.Expired && invalid.Cert == leaf {
			if now.Before(leaf.NotBefore) {
				return fail(ReasonNotYetValid)
			}
			return fail(ReasonExpired)
		}
		return fail(ReasonUntrusted)
	}
	// The result names the CA certificates of every verified chain, for
	// issuer_thumbprint, so it holds only while every certificate of every
	// chain is valid: once one chain expires, validation runs again and
	// names only the CAs of the chains left.
	from, until := leaf.NotBefore, leaf.NotAfter
	res := &verifyResult{}
	for _, chain := range chains {
		for _, c := range chain {
			if c.NotBefore.After(from) {
				from = c.NotBefore
			}
			if c.NotAfter.Before(until) {
				until = c.NotAfter
			}
		}
		for _, ca := range chain[1:] {
			res.issuers = append(res.issuers, digestOf(ca))
		}
	}
	res.window = windowOf(from, until)
	if p.revocation != nil || p.keepChain {
		res.chain = copyChain(chains[0])
	}
	return res
}

// issuerMemo remembers the digests of the CA certificates of the chains
// the TLS layer verified on a connection, with the certificates they were
// computed from, held weakly as in verifyMemo.
type issuerMemo struct {
	cas     []weak.Pointer[x509.Certificate] // the CA certificates of every chain, flattened
	digests []caDigest
}

// tlsIssuers returns the digests of the CA certificates above the leaf in
// the chains the TLS layer verified, remembered on the connection after a
// completed handshake.
func (conn *connection) tlsIssuers(chains [][]*x509.Certificate, proven bool) []caDigest {
	if m := conn.tlsIssuerMemo.Load(); m != nil && m.describes(chains) {
		return m.digests
	}
	m := &issuerMemo{}
	for _, chain := range chains {
		for _, ca := range chain[min(1, len(chain)):] {
			m.cas = append(m.cas, weak.Make(ca))
			m.digests = append(m.digests, digestOf(ca))
		}
	}
	if proven {
		conn.tlsIssuerMemo.Store(m)
	}
	return m.digests
}

// describes reports whether the memo was made from these chains.
func (m *issuerMemo) describes(chains [][]*x509.Certificate) bool {
	i := 0
	for _, chain := range chains {
		for _, ca := range chain[min(1, len(chain)):] {
			if i >= len(m.cas) || m.cas[i].Value() != ca {
				return false
			}
			i++
		}
	}
	return i == len(m.cas)
}
