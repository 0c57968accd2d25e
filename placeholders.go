// placeholders.go: what a decision leaves on the request for the rest of
// the route, upstreams and access logs: {http.client_certificate.*} and
// {http.auth.user.id}.

package clientcertificate

import (
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// placeholderPrefix names the placeholders a decision leaves behind.
const placeholderPrefix = "http.client_certificate."

const userIDPlaceholder = "http.auth.user.id"

// recordKey finds a request's decision record, in the request's vars or
// (outside a Caddy server, which always sets vars) from the record's own
// provider. The NUL byte keeps it out of reach of placeholders.
const recordKey = "\x00client_certificate.decision"

// decisionRecord holds the latest decision made on a request. One lazy
// provider per request serves the placeholders from it, so the last
// decision wins even when a matcher and a handler both decide, and a
// request that never reads the placeholders pays for little.
type decisionRecord struct {
	d       Decision
	outcome outcome
}

// recordDecision leaves the decision in the request's replacer: allow or
// deny, as the decision says.
func recordDecision(r *http.Request, d *Decision) {
	o := outcomeDeny
	if d.Allowed {
		o = outcomeAllow
	}
	recordOutcome(r, d, o)
}

// recordOutcome leaves the decision and what became of it in the request's
// replacer. The record is found again through the request's vars (one map
// lookup) rather than through the replacer, whose Get asks every provider
// in turn.
func recordOutcome(r *http.Request, d *Decision, o outcome) {
	ctx := r.Context()
	repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return
	}
	vars, _ := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any)
	var rec *decisionRecord
	if vars != nil {
		rec, _ = vars[recordKey].(*decisionRecord)
	} else if v, ok := repl.Get(recordKey); ok {
		rec, _ = v.(*decisionRecord)
	}
	if rec == nil {
		rec = new(decisionRecord)
		repl.Map(rec.placeholder)
		if vars != nil {
			vars[recordKey] = rec
		}
	}
	rec.d = *d
	rec.outcome = o
}

// userID names the caller for access logs: the identity, else the subject
// CN when the certificate's names are vouched for, else its thumbprint
// (an spki pin on an unverified chain proves the key, not the names).
func userID(d Decision) any {
	switch {
	case d.Identity != "":
		return d.identityValue
	case d.namesTrusted:
		return d.facts.commonNameText
	default:
		return d.facts.thumbprintHex
	}
}

// placeholder serves {http.client_certificate.*} and, after an allow,
// {http.auth.user.id} (a value set explicitly, e.g. by the vars handler,
// takes precedence). After a deny (or a would-be deny under report_only),
// only the reason and the decision are set; the certificate placeholders
// are empty.
func (rec *decisionRecord) placeholder(key string) (any, bool) {
	d := &rec.d
	if key == recordKey {
		return rec, true
	}
	if key == userIDPlaceholder {
		if !d.Allowed {
			return nil, false
		}
		return userID(*d), true
	}
	name, ok := strings.CutPrefix(key, placeholderPrefix)
	if !ok {
		return nil, false
	}
	switch name {
	case "reason":
		return d.Reason, true
	case "decision":
		return outcomeTexts[rec.outcome], true
	case "revocation":
		return revocationTexts[d.revocation], true
	}
	f := d.facts
	if !d.Allowed || f == nil {
		f = noCertificateFacts
	}
	switch name {
	case "identity":
		return d.Identity, true
	case "verified":
		return d.Allowed && d.Verified, true
	case "thumbprint":
		return f.thumbprintHex, true
	case "thumbprint_sha256":
		return f.thumbprintSHA256Hex, true
	case "subject":
		return f.subjectText, true
	case "issuer":
		return f.issuerText, true
	case "common_name":
		return f.commonNameText, true
	case "serial":
		return f.serialText, true
	case "not_after":
		return f.notAfterText, true
	default:
		return nil, false
	}
}

// noCertificateFacts serves the certificate placeholders after a deny (or
// with no certificate): all empty.
var noCertificateFacts = &contentFacts{}
