package clientcertificate

import (
	"crypto/sha1" //nolint:gosec // SHA-1 thumbprints are an identifier format, see facts.go
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

// Reasons a policy denies a request. They appear in the
// {http.client_certificate.reason} placeholder, in the error a handler
// returns and in logs; never in a response unless the operator puts them
// there through handle_errors.
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

	// "<condition>_mismatch": a top-level condition did not hold.
	ReasonThumbprintMismatch       = "thumbprint_mismatch"
	ReasonSPKIMismatch             = "spki_mismatch"
	ReasonSubjectMismatch          = "subject_mismatch"
	ReasonIssuerMismatch           = "issuer_mismatch"
	ReasonSerialMismatch           = "serial_mismatch"
	ReasonCommonNameMismatch       = "common_name_mismatch"
	ReasonDNSNameMismatch          = "dns_name_mismatch"
	ReasonEmailMismatch            = "email_mismatch"
	ReasonURIMismatch              = "uri_mismatch"
	ReasonIPMismatch               = "ip_mismatch"
	ReasonIssuerThumbprintMismatch = "issuer_thumbprint_mismatch"
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

	Conditions

	// Identities, of which at least one must hold when any are given.
	Identities []Identity `json:"identities,omitempty"`

	// Maximum number of chains whose trust_pool verification result is
	// cached. Default: 4096.
	VerifyCacheSize int `json:"verify_cache_size,omitempty"`

	top         compiledConditions
	identities  []compiledIdentity
	pool        *x509.CertPool
	verifyCache *boundedCache[[32]byte, *verifyResult]
	// usableUnverified: some path to "allow" needs no verified chain,
	// because it pins the certificate or checks nothing but key pins.
	usableUnverified bool
	now              func() time.Time
}

const defaultVerifyCacheSize = 4096

type compiledConditions struct {
	thumbprints       digestSet
	spki              [][32]byte
	subjects          []dnKey
	issuers           []dnKey
	commonNames       []string
	dnsNames          []dnsPattern
	emails            []string
	uris              []uriPattern
	ips               []netip.Prefix
	serials           []string
	issuerThumbprints digestSet
	certPinned        bool // has a thumbprint: the exact certificate, names included, is pinned
	keyPinned         bool // has an spki pin: only the key is pinned; the key holder can mint any names
	hasNames          bool // has a condition other than pins, trustworthy only on a verified chain
	empty             bool
}

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
func (p *Policy) Provision(ctx caddy.Context) error {
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
	return p.compile()
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
	p.top = top
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
		if c.empty {
			return fmt.Errorf("%s: identity %q has no conditions; give at least one of thumbprint, spki, subject, issuer, common_name, dns_name, email, uri, ip, serial or issuer_thumbprint", path[:len(path)-1], id.Name)
		}
		p.identities = append(p.identities, compiledIdentity{name: id.Name, nameValue: id.Name, cond: c})
	}
	p.usableUnverified = len(p.identities) == 0 && trustworthyUnverified(&p.top, nil)
	for i := range p.identities {
		id := &p.identities[i]
		id.usableUnverified = trustworthyUnverified(&p.top, &id.cond)
		p.usableUnverified = p.usableUnverified || id.usableUnverified
	}
	size := p.VerifyCacheSize
	if size == 0 {
		size = defaultVerifyCacheSize
	}
	p.verifyCache = newBoundedCache[[32]byte, *verifyResult](size)
	if p.now == nil {
		p.now = coarseNow
	}
	return nil
}

// Validate rejects policies that parse but cannot mean what was intended.
// Value errors were already reported by Provision, which parses them.
func (p *Policy) Validate() error {
	if p.AllowUnverified && p.top.empty && len(p.identities) == 0 {
		return errors.New("allow_unverified without any condition would allow every certificate, including self-signed ones; add a condition (e.g. thumbprint or issuer) or remove allow_unverified")
	}
	return nil
}

func compileConditions(path string, c *Conditions) (compiledConditions, error) {
	var out compiledConditions
	var thumbprints, issuerThumbprints [][]byte
	errs := []error{
		parseList(path, "thumbprint", c.Thumbprint, &thumbprints, parseThumbprint),
		parseList(path, "spki", c.SPKI, &out.spki, parseSPKI),
		parseList(path, "subject", c.Subject, &out.subjects, parseDN),
		parseList(path, "issuer", c.Issuer, &out.issuers, parseDN),
		parseList(path, "common_name", c.CommonName, &out.commonNames, parseCommonName),
		parseList(path, "dns_name", c.DNSName, &out.dnsNames, parseDNSPattern),
		parseList(path, "email", c.Email, &out.emails, parseEmail),
		parseList(path, "uri", c.URI, &out.uris, parseURIPattern),
		parseList(path, "ip", c.IP, &out.ips, parseIPPrefix),
		parseList(path, "serial", c.Serial, &out.serials, parseSerial),
		parseList(path, "issuer_thumbprint", c.IssuerThumbprint, &issuerThumbprints, parseThumbprint),
	}
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	out.thumbprints = newDigestSet(thumbprints)
	out.issuerThumbprints = newDigestSet(issuerThumbprints)
	out.certPinned = !out.thumbprints.empty()
	out.keyPinned = len(out.spki) > 0
	out.hasNames = len(out.subjects) > 0 || len(out.issuers) > 0 ||
		len(out.commonNames) > 0 || len(out.dnsNames) > 0 || len(out.emails) > 0 ||
		len(out.uris) > 0 || len(out.ips) > 0 || len(out.serials) > 0 || !out.issuerThumbprints.empty()
	out.empty = !out.certPinned && !out.keyPinned && !out.hasNames
	return out, nil
}

// trustworthyUnverified reports whether the AND of the top-level conditions
// and an identity (nil: none) can be trusted without a verified chain: a
// thumbprint pins the whole certificate, names included, while conditions
// on names alone, or next to a key pin only, could be forged by anyone (or
// by the key holder) with a self-signed certificate.
func trustworthyUnverified(top, id *compiledConditions) bool {
	certPinned, keyPinned, hasNames := top.certPinned, top.keyPinned, top.hasNames
	if id != nil {
		certPinned = certPinned || id.certPinned
		keyPinned = keyPinned || id.keyPinned
		hasNames = hasNames || id.hasNames
	}
	return certPinned || (keyPinned && !hasNames)
}

// parseList parses every value of one condition into dst, naming the JSON
// path of the first bad value (e.g. identities[1].subject[0]).
func parseList[T any](path, name string, values []string, dst *[]T, parse func(string) (T, error)) error {
	for i, v := range values {
		t, err := parse(v)
		if err != nil {
			return fmt.Errorf("%s%s[%d] %q: %v", path, name, i, v, err)
		}
		*dst = append(*dst, t)
	}
	return nil
}

// Decision is the outcome of evaluating a policy against a connection.
type Decision struct {
	Allowed  bool
	Reason   string // why it was denied; empty when allowed
	Identity string // name of the identity that held, if any
	Verified bool   // the chain was verified by TLS or by the trust_pool

	// namesTrusted: the certificate's names are vouched for (verified
	// chain, thumbprint pin, or allow_unverified), so the subject CN may
	// stand for the caller.
	namesTrusted  bool
	identityValue any // Identity, boxed once at Provision
	facts         *certFacts
}

// Evaluate decides on the TLS state of a request (nil for plain HTTP).
func (p *Policy) Evaluate(cs *tls.ConnectionState) Decision {
	if cs == nil {
		return Decision{Reason: ReasonNoTLS}
	}
	if !cs.HandshakeComplete {
		return Decision{Reason: ReasonEarlyData}
	}
	return p.evaluate(cs.PeerCertificates, cs.VerifiedChains, p.now())
}

// evaluate decides on a presented chain (leaf first) and the chains the TLS
// layer verified, if any.
func (p *Policy) evaluate(peer []*x509.Certificate, verifiedChains [][]*x509.Certificate, now time.Time) Decision {
	if len(peer) == 0 || peer[0] == nil {
		return Decision{Reason: ReasonNoCertificate}
	}
	f := factsFor(peer[0])
	d := Decision{facts: f, Verified: len(verifiedChains) > 0}

	if p.RequireUnexpired {
		if now.Before(f.notBefore) {
			d.Reason = ReasonNotYetValid
			return d
		}
		if now.After(f.notAfter) {
			d.Reason = ReasonExpired
			return d
		}
	}

	issuers := issuersOf(verifiedChains)
	if p.pool != nil {
		res := p.verify(f, peer, now)
		if res.reason != "" {
			d.Reason = res.reason
			return d
		}
		d.Verified = true
		issuers = res.issuers
	}
	if d.Verified {
		f.shareContent()
	}

	// A CA certificate chains to the pool like a leaf would, but it is not a
	// client identity: its names are trusted only through a pin.
	untrustedReason := ReasonUnverified
	if d.Verified && f.isCA {
		d.Verified = false
		untrustedReason = ReasonCACertificate
	}
	// issuer_thumbprint reads issuers: empty here unless verified, so it never
	// holds on a chain the client merely presented (CA certificates are
	// public; anyone can append one), not even with allow_unverified.
	trusted := d.Verified || p.AllowUnverified
	if !trusted && !p.usableUnverified {
		d.Reason = untrustedReason
		return d
	}
	if failed := p.top.check(f, issuers); failed != "" {
		d.Reason = failed
		return d
	}
	if len(p.identities) == 0 {
		d.Allowed = true
		d.namesTrusted = trusted || p.top.certPinned
		return d
	}
	skipped := false
	for i := range p.identities {
		id := &p.identities[i]
		if !trusted && !id.usableUnverified {
			skipped = true
			continue
		}
		if id.cond.check(f, issuers) == "" {
			d.Allowed = true
			d.Identity = id.name
			d.identityValue = id.nameValue
			d.namesTrusted = trusted || p.top.certPinned || id.cond.certPinned
			return d
		}
	}
	d.Reason = ReasonNoIdentity
	if skipped {
		d.Reason = untrustedReason
	}
	return d
}

// check returns the mismatch reason of the first condition that does not
// hold, or "" when all hold. The cheapest, most selective conditions go
// first.
func (c *compiledConditions) check(f *certFacts, issuers issuerSource) string {
	if !c.thumbprints.empty() && !c.thumbprints.contains(&f.sha1, &f.sha256) {
		return ReasonThumbprintMismatch
	}
	if len(c.spki) > 0 && !containsDigest(c.spki, &f.spki) {
		return ReasonSPKIMismatch
	}
	if len(c.subjects) > 0 && !containsDN(c.subjects, f.subject) {
		return ReasonSubjectMismatch
	}
	if len(c.issuers) > 0 && !containsDN(c.issuers, f.issuer) {
		return ReasonIssuerMismatch
	}
	if len(c.serials) > 0 && !containsString(c.serials, f.serial) {
		return ReasonSerialMismatch
	}
	if len(c.commonNames) > 0 && !allStrings(c.commonNames, f.commonNames) {
		return ReasonCommonNameMismatch
	}
	if len(c.dnsNames) > 0 && !matchAny(c.dnsNames, f.dnsNames) {
		return ReasonDNSNameMismatch
	}
	if len(c.emails) > 0 && !anyString(c.emails, f.emails) {
		return ReasonEmailMismatch
	}
	if len(c.uris) > 0 && !matchAny(c.uris, f.uris) {
		return ReasonURIMismatch
	}
	if len(c.ips) > 0 && !matchIP(c.ips, f.ips) {
		return ReasonIPMismatch
	}
	if !c.issuerThumbprints.empty() && !issuers.any(&c.issuerThumbprints) {
		return ReasonIssuerThumbprintMismatch
	}
	return ""
}

func containsDigest(set [][32]byte, d *[32]byte) bool {
	for i := range set {
		if set[i] == *d {
			return true
		}
	}
	return false
}

func containsDN(set []dnKey, k dnKey) bool {
	if k == "" {
		return false // an unparsable name never matches
	}
	for _, s := range set {
		if s == k {
			return true
		}
	}
	return false
}

func containsString(set []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range set {
		if v == s {
			return true
		}
	}
	return false
}

func anyString(want, have []string) bool {
	for _, h := range have {
		if containsString(want, h) {
			return true
		}
	}
	return false
}

// allStrings reports whether have is non-empty and each of its values is in
// want. Used for common names: a subject with two CNs must not pass on one
// while the other, unlisted, is what placeholders and logs report.
func allStrings(want, have []string) bool {
	for _, h := range have {
		if !containsString(want, h) {
			return false
		}
	}
	return len(have) > 0
}

// matchAny reports whether any SAN in have matches any pattern in want.
func matchAny[P interface{ match(string) bool }](want []P, have []string) bool {
	for _, h := range have {
		for _, w := range want {
			if w.match(h) {
				return true
			}
		}
	}
	return false
}

func matchIP(want []netip.Prefix, have []netip.Addr) bool {
	for _, h := range have {
		for _, w := range want {
			if w.Contains(h) {
				return true
			}
		}
	}
	return false
}

// issuerSource yields the CA certificates above the leaf in verified
// chains: either the chains the TLS layer verified, read when needed, or
// the digests a trust_pool verification kept.
type issuerSource struct {
	chains  [][]*x509.Certificate
	digests []caDigest
}

type caDigest struct {
	sha1   [20]byte
	sha256 [32]byte
}

func issuersOf(chains [][]*x509.Certificate) issuerSource { return issuerSource{chains: chains} }

// any reports whether one of the issuers has a thumbprint in set.
func (s issuerSource) any(set *digestSet) bool {
	for i := range s.digests {
		if set.contains(&s.digests[i].sha1, &s.digests[i].sha256) {
			return true
		}
	}
	for _, chain := range s.chains {
		for _, ca := range chain[min(1, len(chain)):] {
			f := factsFor(ca)
			f.shareContent() // verified by TLS: the next connection finds it by content
			if set.contains(&f.sha1, &f.sha256) {
				return true
			}
		}
	}
	return false
}

// verifyResult is the outcome of the policy's own path validation of one
// presented chain.
type verifyResult struct {
	reason     string       // "" when the chain verified
	issuers    issuerSource // digests of the CA certificates of the verified chains, not the certificates, so a cached result never keeps a client's certificate alive
	validFrom  time.Time    // the result may be reused only in [validFrom, validUntil)
	validUntil time.Time
}

// verifyMemo ties a verification result to the exact certificates a
// connection presented.
type verifyMemo struct {
	policy        *Policy
	intermediates []*x509.Certificate
	result        *verifyResult
}

// negativeVerifyTTL bounds how long a failed verification is remembered, so
// a client cannot make us redo path validation on every request, while a
// certificate that becomes valid is not locked out for long.
const negativeVerifyTTL = time.Minute

// verify validates the presented chain against the policy's trust pool,
// reusing earlier results: first the connection's memo (pointer compares),
// then the policy's cache keyed by the digests of the whole chain.
func (p *Policy) verify(leaf *certFacts, peer []*x509.Certificate, now time.Time) *verifyResult {
	intermediates := peer[1:]
	if len(intermediates) > maxPresentedIntermediates {
		// Checked before anything is computed from them.
		return &verifyResult{reason: ReasonUntrusted}
	}
	if m := leaf.memo.Load(); m != nil && m.policy == p && samePointers(m.intermediates, intermediates) && m.result.usable(now) {
		return m.result
	}
	key := chainKey(leaf, intermediates)
	res, ok := p.verifyCache.get(key)
	if !ok || !res.usable(now) {
		res = p.verifyNow(peer[0], intermediates, now)
		p.verifyCache.put(key, res)
	}
	// Copy: peer[1:] shares its backing array with the leaf, and the memo
	// must not keep the leaf (and so its own cache entry) alive.
	leaf.memo.Store(&verifyMemo{policy: p, intermediates: slices.Clone(intermediates), result: res})
	return res
}

func (r *verifyResult) usable(now time.Time) bool {
	return !now.Before(r.validFrom) && now.Before(r.validUntil)
}

func samePointers(a, b []*x509.Certificate) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// chainKey identifies a presented chain by the SHA-256 of its certificates'
// SHA-256 digests, in order.
func chainKey(leaf *certFacts, intermediates []*x509.Certificate) [32]byte {
	if len(intermediates) == 0 {
		return leaf.sha256
	}
	h := sha256.New()
	h.Write(leaf.sha256[:])
	for _, c := range intermediates {
		// From the bytes: an intermediate is not a client identity, and
		// deriving (and caching) its facts would let a client that sends
		// many fill the facts cache.
		d := sha256.Sum256(c.Raw)
		h.Write(d[:])
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// maxPresentedIntermediates bounds the work a client can ask of path
// validation. Real client chains have one or two intermediates.
const maxPresentedIntermediates = 10

func (p *Policy) verifyNow(leaf *x509.Certificate, intermediates []*x509.Certificate, now time.Time) *verifyResult {
	fail := func(reason string) *verifyResult {
		return &verifyResult{reason: reason, validFrom: now, validUntil: now.Add(negativeVerifyTTL)}
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
	// The result holds while every certificate of some verified chain is
	// valid; use the first chain's window, as Verify does.
	res := &verifyResult{validUntil: leaf.NotAfter}
	for _, chain := range chains {
		for _, ca := range chain[1:] {
			res.issuers.digests = append(res.issuers.digests, caDigest{sha1: sha1.Sum(ca.Raw), sha256: sha256.Sum256(ca.Raw)}) //nolint:gosec // identifier, see facts.go
		}
	}
	for _, c := range chains[0] {
		if c.NotBefore.After(res.validFrom) {
			res.validFrom = c.NotBefore
		}
		if c.NotAfter.Before(res.validUntil) {
			res.validUntil = c.NotAfter
		}
	}
	return res
}
