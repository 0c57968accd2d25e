// evaluate.go: deciding on a request or a handshake. A decision gathers
// its evidence first (the certificate's facts, the verification of its
// chain, the CA certificates of the verified chains), then runs the
// compiled conditions, which only compare.

package clientcertificate

import (
	"crypto/tls"
	"crypto/x509"
)

// Decision is the outcome of evaluating a policy against a connection.
type Decision struct {
	Allowed  bool
	Reason   string // why it was denied; empty when allowed
	Identity string // name of the identity that held, if any
	Verified bool   // the chain was verified by TLS or by the trust_pool

	// namesTrusted: the certificate's names are vouched for (verified
	// chain, thumbprint pin, or allow_unverified), so the subject CN may
	// stand for the caller.
	namesTrusted bool
	// identitySlot numbers the identity that held: i+1 for the policy's
	// identity i, 0 for none (the metrics' counter, without comparing
	// names).
	identitySlot  int32
	identityValue any // Identity, boxed once at Provision
	facts         *contentFacts
	// chain is the verified chain, leaf first: the TLS layer's first
	// verified chain, or the trust_pool's when the policy keeps it (see
	// verifyResult.chain); nil when nothing verified the chain. Only
	// meaningful while Verified.
	chain []*x509.Certificate
	// issuers are the CA digests the conditions were given, and failed the
	// top-level condition that did not hold: for describing the decision.
	issuers []caDigest
	failed  *conditionTest
	// revocation is what revocation checking established (not checked
	// without a revocation block, or when the decision was made before).
	revocation      revocationStatus
	revocationCause string
}

// Evaluate decides on the TLS state of a request (nil for plain HTTP). A
// request exists only once the handshake is complete, so the client has
// proved it holds the certificate's key; only TLS 1.3 early data arrives
// before that.
func (p *Policy) Evaluate(cs *tls.ConnectionState) Decision {
	if cs == nil {
		return Decision{Reason: ReasonNoTLS}
	}
	if !cs.HandshakeComplete {
		return Decision{Reason: ReasonEarlyData}
	}
	return p.evaluate(cs.PeerCertificates, cs.VerifiedChains, p.now(), true)
}

// evaluate decides on a presented chain (leaf first) and the chains the TLS
// layer verified, if any. proven says that the client has proved it holds
// the leaf's key (the handshake completed): only then may what the
// decision learns outlive it (see state.go).
func (p *Policy) evaluate(peer []*x509.Certificate, verifiedChains [][]*x509.Certificate, at moment, proven bool) Decision {
	if len(peer) == 0 || peer[0] == nil {
		return Decision{Reason: ReasonNoCertificate}
	}
	conn := connectionOf(peer[0], proven)
	f := conn.facts
	d := Decision{facts: f, Verified: len(verifiedChains) > 0}

	if p.RequireUnexpired && !at.surelyInside(f.validity) { // the common case, inlined
		if reason := at.validity(f.validity); reason != "" {
			d.Reason = reason
			return d
		}
	}

	// chain is the verified chain revocation checking reads.
	var chain []*x509.Certificate
	if p.pool != nil {
		res := p.verify(conn, peer, at, proven)
		if res.reason != "" {
			d.Reason = res.reason
			return d
		}
		d.Verified = true
		d.issuers = res.issuers
		chain = res.chain
	} else if d.Verified {
		if p.readsIssuers {
			d.issuers = conn.tlsIssuers(verifiedChains, proven)
		}
		chain = verifiedChains[0]
	}
	d.chain = chain
	if d.Verified && proven {
		share(f)
	}

	// A CA certificate chains to the pool like a leaf would, but it is not a
	// client identity: its names are trusted only through a pin.
	untrustedReason := ReasonUnverified
	if d.Verified && f.isCA {
		d.Verified = false
		untrustedReason = ReasonCACertificate
	}
	// issuer_thumbprint reads d.issuers: empty unless a chain was verified,
	// so it never holds on a chain the client merely presented (CA
	// certificates are public; anyone can append one), not even with
	// allow_unverified.
	trusted := d.Verified || p.AllowUnverified
	if !trusted && !p.usableUnverified {
		d.Reason = untrustedReason
		return d
	}
	if failed := p.top.check(f, d.issuers); failed != nil {
		d.Reason = failed.cond.reason
		d.failed = failed
		return d
	}
	if len(p.identities) == 0 {
		d.Allowed = true
		d.namesTrusted = trusted || p.top.certPinned
		if p.revocation != nil {
			p.applyRevocation(&d, conn, chain, at, proven)
		}
		return d
	}
	skipped := false
	for i := range p.identities {
		id := &p.identities[i]
		if !trusted && !id.usableUnverified {
			skipped = true
			continue
		}
		if id.cond.check(f, d.issuers) == nil {
			d.Allowed = true
			d.Identity = id.name
			d.identitySlot = int32(i + 1)
			d.identityValue = id.nameValue
			d.namesTrusted = trusted || p.top.certPinned || id.cond.certPinned
			if p.revocation != nil {
				p.applyRevocation(&d, conn, chain, at, proven)
			}
			return d
		}
	}
	d.Reason = ReasonNoIdentity
	if skipped {
		d.Reason = untrustedReason
	}
	return d
}
