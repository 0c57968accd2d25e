// explainconditions.go: a decision with every step and condition that led
// to it, for `caddy client-certificate check`: which held and which did
// not, condition by condition, at a given time. The decision itself is the
// engine's (evaluate); the steps describe it. Nothing here is remembered:
// the evaluation runs as before a proof of possession (no connection
// record, no shared facts, no cached verification).

package clientcertificate

import (
	"crypto/x509"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// explanation is a decision and the steps that led to it, in the order the
// engine takes them.
type explanation struct {
	Decision Decision
	Steps    []explainedStep
}

// Results of a step.
const (
	stepHolds      = "holds"
	stepFails      = "does not hold"
	stepSkipped    = "skipped"
	stepNotChecked = "not checked"
)

// explainedStep is one step of a decision: the certificate's validity, the
// chain's verification, the conditions at top level, an identity, or
// revocation.
type explainedStep struct {
	Step       string            `json:"step"`
	Name       string            `json:"name,omitempty"` // the identity's name, or #index
	Result     string            `json:"result"`
	Detail     string            `json:"detail,omitempty"`
	Conditions []conditionResult `json:"conditions,omitempty"`
}

// conditionResult is one condition tested against the certificate.
type conditionResult struct {
	Condition   string   `json:"condition"`
	Match       bool     `json:"match"`
	Certificate []string `json:"certificate"` // what the certificate offers (see condition.offered)
	Policy      []string `json:"policy"`      // the values as configured
}

// String says it for humans: `subject: no match: certificate "CN=a" vs
// policy "CN=b"`.
func (c conditionResult) String() string {
	verdict := "match"
	if !c.Match {
		verdict = "no match"
	}
	return fmt.Sprintf("%s: %s: certificate %s vs policy %s", c.Condition, verdict,
		quoteList(c.Certificate, "nothing"), quoteList(c.Policy, "nothing"))
}

// explainAt decides on a presented chain (leaf first) and the chains the
// TLS layer verified at t, as a request would be decided, and describes
// every step.
func (p *Policy) explainAt(peer []*x509.Certificate, verifiedChains [][]*x509.Certificate, t time.Time) explanation {
	m := at(t)
	ex := explanation{Decision: p.evaluate(peer, verifiedChains, m, false)}
	f := ex.Decision.facts
	if len(peer) == 0 || peer[0] == nil || f == nil {
		ex.add(explainedStep{Step: "certificate", Result: stepFails, Detail: "no client certificate was presented"})
		return ex
	}
	leaf := peer[0]

	if p.RequireUnexpired {
		s := explainedStep{Step: "require_unexpired", Result: stepHolds}
		switch m.validity(f.validity) {
		case ReasonExpired:
			s.Result, s.Detail = stepFails, "expired: valid until "+leaf.NotAfter.UTC().Format(time.RFC3339)
		case ReasonNotYetValid:
			s.Result, s.Detail = stepFails, "not yet valid: valid from "+leaf.NotBefore.UTC().Format(time.RFC3339)
		default:
			s.Detail = "valid from " + leaf.NotBefore.UTC().Format(time.RFC3339) + " until " + leaf.NotAfter.UTC().Format(time.RFC3339)
		}
		ex.add(s)
	}

	var issuers []caDigest
	verified := false
	switch {
	case p.pool != nil:
		chains, err := verifyForExplanation(p.pool, peer, t)
		s := explainedStep{Step: "trust_pool", Result: stepHolds}
		if err != nil {
			s.Result, s.Detail = stepFails, "the chain does not verify against the trust_pool: "+err.Error()
		} else {
			verified = true
			s.Detail = "the chain verifies against the trust_pool: " + chainText(chains[0])
			issuers = caDigests(chains)
		}
		ex.add(s)
	case len(verifiedChains) > 0:
		verified = true
		issuers = caDigests(verifiedChains)
		ex.add(explainedStep{Step: "verified_chain", Result: stepHolds, Detail: "verified by the TLS layer (client_auth): " + chainText(verifiedChains[0])})
	default:
		ex.add(explainedStep{Step: "verified_chain", Result: stepFails, Detail: "nobody verified the chain: the policy has no trust_pool and the TLS layer verified nothing (client_auth mode request or require); only thumbprint and spki pins hold on it"})
	}
	if verified && f.isCA {
		verified = false
		ex.add(explainedStep{Step: "ca_certificate", Result: stepFails, Detail: "a CA certificate (basicConstraints CA:TRUE) is not a client identity unless a thumbprint or spki pins it"})
	}
	trusted := verified || p.AllowUnverified
	if !trusted && !p.usableUnverified {
		ex.add(explainedStep{Step: "names", Result: stepFails, Detail: "the conditions need a verified chain (names can be forged on one nobody verified)"})
	}

	if !p.top.empty() {
		s := explainedStep{Step: "conditions", Result: stepHolds}
		s.Conditions = explainConditions(&p.top, f, issuers)
		for _, c := range s.Conditions {
			if !c.Match {
				s.Result = stepFails
			}
		}
		ex.add(s)
	}
	chosen := false
	for i := range p.identities {
		id := &p.identities[i]
		s := explainedStep{Step: "identity", Name: id.name, Result: stepHolds}
		if s.Name == "" {
			s.Name = "#" + strconv.Itoa(i)
		}
		s.Conditions = explainConditions(&id.cond, f, issuers)
		for _, c := range s.Conditions {
			if !c.Match {
				s.Result = stepFails
			}
		}
		switch {
		case !trusted && !id.usableUnverified:
			s.Result, s.Detail = stepSkipped, "needs a verified chain: it checks names and pins neither the certificate nor (alone) the key"
		case s.Result == stepHolds && !chosen:
			chosen = true
			s.Detail = "the first identity that holds: it names the caller"
		case s.Result == stepHolds:
			s.Detail = "an earlier identity names the caller"
		}
		ex.add(s)
	}
	if p.Revocation != nil {
		ex.add(explainedStep{Step: "revocation", Result: stepNotChecked, Detail: "CRLs and OCSP are not consulted offline; Caddy checks them after the conditions on a verified chain, and denies when the status cannot be established unless on_unknown is allow"})
	}
	return ex
}

func (ex *explanation) add(s explainedStep) { ex.Steps = append(ex.Steps, s) }

// explainConditions tests each condition; the tests have no side effects.
func explainConditions(c *compiledConditions, f *contentFacts, issuers []caDigest) []conditionResult {
	out := make([]conditionResult, 0, len(c.tests))
	for i := range c.tests {
		t := &c.tests[i]
		out = append(out, conditionResult{
			Condition:   t.cond.name,
			Match:       t.holds(f, issuers),
			Certificate: nonNil(t.cond.offered(f, issuers)),
			Policy:      t.want,
		})
	}
	return out
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// verifyForExplanation is verifyNow's path validation, returning x509's
// own error for humans.
func verifyForExplanation(pool *x509.CertPool, peer []*x509.Certificate, t time.Time) ([][]*x509.Certificate, error) {
	if len(peer)-1 > maxPresentedIntermediates {
		return nil, fmt.Errorf("more than %d intermediates presented", maxPresentedIntermediates)
	}
	opts := x509.VerifyOptions{Roots: pool, CurrentTime: t, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if len(peer) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range peer[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	return peer[0].Verify(opts)
}

func caDigests(chains [][]*x509.Certificate) []caDigest {
	var out []caDigest
	for _, chain := range chains {
		for _, ca := range chain[min(1, len(chain)):] {
			out = append(out, digestOf(ca))
		}
	}
	return out
}

// chainText names the certificates of a chain, leaf first.
func chainText(chain []*x509.Certificate) string {
	names := make([]string, len(chain))
	for i, c := range chain {
		names[i] = nameFactsOf(c.RawSubject).text
	}
	return strings.Join(names, " <- ")
}
