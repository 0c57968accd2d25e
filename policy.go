// policy.go: the policy's configuration (the JSON fields shared by the
// handler, the matcher and the verifier), its compilation at Provision, and
// Validate. Evaluation is in evaluate.go, trust_pool verification in
// trustpool.go, the conditions themselves in conditions.go.

package clientcertificate

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

// Reasons a policy denies a request. They appear in the
// {http.client_certificate.reason} placeholder, in the error a handler
// returns and in logs; never in a response unless the operator puts them
// there through handle_errors. A top-level condition that does not hold
// gives "<condition>_mismatch", e.g. "subject_mismatch" (see
// conditionTable).
const (
	ReasonNoTLS         = "no_tls"         // plain HTTP
	ReasonEarlyData     = "early_data"     // TLS 1.3 0-RTT: the client is not authenticated yet
	ReasonNoCertificate = "no_certificate" // TLS without a client certificate
	ReasonUnverified    = "unverified"     // name conditions on a chain nobody verified
	ReasonUntrusted     = "untrusted"      // trust_pool path validation failed
	ReasonExpired       = "expired"        // NotAfter is in the past
	ReasonNotYetValid   = "not_yet_valid"  // NotBefore is in the future
	ReasonNoIdentity    = "no_identity"    // identity blocks exist and none holds
	ReasonCACertificate = "ca_certificate" // a CA certificate presented as a client identity
)

// Conditions are the identity conditions of a policy. A condition holds
// when any one of its values matches; all conditions given must hold.
type Conditions struct {
	// Certificate thumbprints: SHA-1 (40 hex digits, as Windows and Azure
	// print it) or SHA-256 (64 hex digits). Case, ':' and spaces are ignored.
	// A thumbprint pins the exact certificate, so it needs no verified chain.
	Thumbprint []string `json:"thumbprint,omitempty"`

	// SHA-256 digests of the certificate's SubjectPublicKeyInfo, in base64
	// (as Envoy prints them) or hex. Pins the key; needs no verified chain.
	SPKI []string `json:"spki,omitempty"`

	// Whole subject distinguished names, compared structurally: RDN by RDN,
	// attribute types by OID, values case-insensitively with insignificant
	// whitespace folded. RFC 4514, .NET, Go and OpenSSL slash forms are
	// accepted.
	Subject []string `json:"subject,omitempty"`

	// Whole issuer distinguished names of the leaf, compared like Subject.
	Issuer []string `json:"issuer,omitempty"`

	// Subject common names, compared case-insensitively. Every CN attribute
	// of the subject must be listed (certificates have one).
	CommonName []string `json:"common_name,omitempty"`

	// SAN DNS names, case-insensitive. A leading "*." matches exactly one
	// label.
	DNSName []string `json:"dns_name,omitempty"`

	// SAN e-mail addresses; the domain is case-insensitive.
	Email []string `json:"email,omitempty"`

	// SAN URIs, exact. A trailing "/*" matches any path below (SPIFFE IDs).
	URI []string `json:"uri,omitempty"`

	// SAN IP addresses: an address or a CIDR range.
	IP []string `json:"ip,omitempty"`

	// Serial numbers in hex as openssl prints them; case, ':' and leading
	// zeros are ignored.
	Serial []string `json:"serial,omitempty"`

	// Thumbprints (SHA-1 or SHA-256) of any CA certificate in the verified
	// chain above the leaf.
	IssuerThumbprint []string `json:"issuer_thumbprint,omitempty"`
}

// Identity is a named set of conditions. If a policy has identities, at
// least one must hold; an identity holds when all its conditions hold.
type Identity struct {
	// Name of the identity, reported in {http.client_certificate.identity}
	// and {http.auth.user.id}. Optional; unique when given.
	Name string `json:"name,omitempty"`

	Conditions
}

// Policy is the client certificate policy shared by the handler, the
// matcher and the TLS verifier. A request is allowed when the certificate
// is verified (or only pinned conditions are used), all top-level
// conditions hold and, if there are identities, one of them holds.
type Policy struct {
	// Trust pool (a tls.ca_pool.source module, as in Caddy's client_auth)
	// against which the policy itself validates the presented chain, with
	// ExtKeyUsage clientAuth at the current time. Needed for name
	// conditions when the TLS layer does not verify (client_auth mode
	// request or require). When set, the chain must validate against this
	// pool even if the TLS layer verified it against another.
	TrustPoolRaw json.RawMessage `json:"trust_pool,omitempty" caddy:"namespace=tls.ca_pool.source inline_key=provider"`

	// Deny certificates outside NotBefore..NotAfter at request time. TLS
	// checks validity only at the handshake, and keep-alive connections
	// outlive certificates. Default: off.
	RequireUnexpired bool `json:"require_unexpired,omitempty"`

	// Evaluate name conditions even on a chain nobody verified. UNSAFE:
	// anyone can mint a certificate with any subject or issuer. Only
	// thumbprint and spki pins are safe without verification, and they do
	// not need this. Default: off.
	AllowUnverified bool `json:"allow_unverified,omitempty"`

	// Do not count this module's decisions in the Prometheus metric
	// caddy_client_certificate_decisions_total. Default: off (counted; the
	// series the policy can produce exist from Provision on, at zero).
	DisableMetrics bool `json:"disable_metrics,omitempty"`

	Conditions

	// Identities, of which at least one must hold when any are given.
	Identities []Identity `json:"identities,omitempty"`

	// Maximum number of chains whose trust_pool verification result is
	// cached. Default: 4096.
	VerifyCacheSize int `json:"verify_cache_size,omitempty"`

	// Revocation checking of the verified chain (CRL, OCSP). Default: off.
	// With it, a chain must be verified (by the TLS layer or trust_pool) for
	// any request to be allowed, pins included.
	Revocation *Revocation `json:"revocation,omitempty"`

	// id tells this compiled policy apart in per-connection memos, which
	// must not keep a policy replaced by a reload alive.
	id          uint64
	top         compiledConditions
	identities  []compiledIdentity
	pool        *x509.CertPool
	verifyCache *boundedCache[[32]byte, *verifyResult]
	// usableUnverified: some path to "allow" needs no verified chain,
	// because it pins the certificate or checks nothing but key pins.
	usableUnverified bool
	// readsIssuers: some condition reads the CA certificates of the
	// verified chains.
	readsIssuers bool
	// keepChain: a decision needs the chain trust_pool verified (forward
	// rfc9440 chain in a handler), so verifyResult keeps it.
	keepChain  bool
	revocation *revocationChecker // nil without a revocation block
	now        func() moment
}

const defaultVerifyCacheSize = 4096

type compiledIdentity struct {
	name      string
	nameValue any // name, boxed once for placeholders
	cond      compiledConditions
	// usableUnverified: this identity may hold on a chain nobody verified
	// (see trustworthyUnverified); fixed by the configuration.
	usableUnverified bool
}

// Provision loads the trust pool and compiles the policy. Every value is
// parsed here, once; errors name the JSON field and the offending value.
func (p *Policy) Provision(ctx caddy.Context) error { return p.provision(ctx, ctx.Logger()) }

// provision is Provision with the logger of the module that holds the
// policy.
func (p *Policy) provision(ctx caddy.Context, logger *zap.Logger) error {
	if p.TrustPoolRaw != nil {
		mod, err := ctx.LoadModule(p, "TrustPoolRaw")
		if err != nil {
			return fmt.Errorf("loading trust_pool: %v", err)
		}
		ca, ok := mod.(caddytls.CA)
		if !ok {
			return fmt.Errorf("trust_pool module %T is not a certificate pool provider", mod)
		}
		p.pool = ca.CertPool()
		if p.pool == nil {
			return fmt.Errorf("trust_pool provided no certificate pool")
		}
	}
	if err := p.compile(); err != nil {
		return err
	}
	if p.Revocation != nil && !offlineProvisioning.Load() { // offline (check): no source is loaded, nothing fetched
		rc, err := newRevocationChecker(p.Revocation, ctx.Storage(), logger)
		if err != nil {
			return err
		}
		p.revocation = rc
	}
	if w := p.emptyPolicyWarning(); w != "" {
		logger.Warn(w)
	}
	return nil
}

// release gives back what Provision acquired for the policy (its
// revocation sources). The module holding the policy calls it from its
// Cleanup, which Caddy calls when the module's configuration is unloaded
// (after the next one is running, so a source both use is kept). It may be
// called more than once.
func (p *Policy) release() {
	if p.revocation != nil {
		p.revocation.release()
	}
}

// emptyPolicyWarning is what Provision says about a policy without any
// condition nor trust_pool, or "". Such a policy is legal, as in NGINX
// (ssl_verify_client on) and Envoy: it allows any certificate whose chain
// the TLS layer verified. But what that is depends on the site's
// client_auth, which is easy to get wrong, so it is said out loud. With a
// trust_pool, "any certificate from this pool" is plainly meant.
func (p *Policy) emptyPolicyWarning() string {
	if !p.top.empty() || len(p.identities) > 0 || p.pool != nil {
		return ""
	}
	return "client_certificate policy without conditions: it allows any certificate whose chain the TLS layer verified " +
		"(client_auth verify_if_given or require_and_verify with a trust_pool) and denies every request under client_auth mode request or require; " +
		"add a trust_pool to allow any certificate from it, or a condition (e.g. issuer) to narrow it"
}

// compile parses every value of the policy. It is separate from Provision
// so tests and benchmarks can build a policy without a Caddy context.
func (p *Policy) compile() error {
	if p.VerifyCacheSize < 0 {
		return fmt.Errorf("verify_cache_size: must not be negative, got %d", p.VerifyCacheSize)
	}
	top, err := compileConditions("", &p.Conditions)
	if err != nil {
		return err
	}
	p.id = newPolicyID()
	p.top = top
	p.readsIssuers = top.readsIssuers
	p.identities = p.identities[:0]
	seen := make(map[string]int)
	for i := range p.Identities {
		id := &p.Identities[i]
		path := fmt.Sprintf("identities[%d].", i)
		if id.Name != "" {
			if j, dup := seen[id.Name]; dup {
				return fmt.Errorf("%sname: duplicate identity name %q (also identities[%d])", path, id.Name, j)
			}
			seen[id.Name] = i
		}
		c, err := compileConditions(path, &id.Conditions)
		if err != nil {
			return err
		}
		if c.empty() {
			return fmt.Errorf("%s: identity %q has no conditions; give at least one of %s", path[:len(path)-1], id.Name, conditionNames(", ", " or "))
		}
		p.identities = append(p.identities, compiledIdentity{name: id.Name, nameValue: id.Name, cond: c})
		p.readsIssuers = p.readsIssuers || c.readsIssuers
	}
	if p.Revocation != nil {
		if _, err := p.Revocation.compile(); err != nil {
			return err
		}
	}
	// Revocation needs the issuer of a verified chain: with it, no path to
	// allow is usable on a chain nobody verified.
	needsChain := p.Revocation != nil
	p.usableUnverified = !needsChain && len(p.identities) == 0 && trustworthyUnverified(&p.top, nil)
	for i := range p.identities {
		id := &p.identities[i]
		id.usableUnverified = !needsChain && trustworthyUnverified(&p.top, &id.cond)
		p.usableUnverified = p.usableUnverified || id.usableUnverified
	}
	size := p.VerifyCacheSize
	if size == 0 {
		size = defaultVerifyCacheSize
	}
	p.verifyCache = newBoundedCache[[32]byte, *verifyResult](size)
	if p.now == nil {
		p.now = currentMoment
	}
	return nil
}

// Validate rejects policies that parse but cannot mean what was intended.
// Value errors were already reported by Provision, which parses them.
func (p *Policy) Validate() error {
	if p.AllowUnverified && p.top.empty() && len(p.identities) == 0 {
		return errors.New("allow_unverified without any condition would allow every certificate, including self-signed ones; add a condition (e.g. thumbprint or issuer) or remove allow_unverified")
	}
	return nil
}
