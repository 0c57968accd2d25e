package clientcertificate

import (
	"crypto/x509"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

func init() {
	caddy.RegisterModule(Verifier{})
}

// Verifier evaluates the policy during the TLS handshake (client_auth
// verifier) and fails the handshake when the certificate does not satisfy
// it. When the client presented no certificate it returns nil and leaves
// the decision to the client_auth mode. Caddy calls verifiers on resumed
// sessions too, so a resumed session is judged by the policy in force.
type Verifier struct {
	Policy

	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Verifier) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.client_auth.verifier.client_certificate",
		New: func() caddy.Module { return new(Verifier) },
	}
}

// Provision compiles the policy.
func (v *Verifier) Provision(ctx caddy.Context) error {
	v.logger = ctx.Logger()
	return v.Policy.Provision(ctx)
}

// VerifyClientCertificate implements caddytls.ClientCertificateVerifier.
func (v *Verifier) VerifyClientCertificate(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		return nil
	}
	if v.pool == nil {
		// Without a trust_pool only the leaf is read: parsing (and
		// interning) the rest would be work for nothing.
		rawCerts = rawCerts[:1]
	}
	peer, err := parsePeer(rawCerts, verifiedChains)
	if err != nil {
		return DenyError{Reason: ReasonNoCertificate}
	}
	d := v.evaluate(peer, verifiedChains, v.now())
	if d.Verified {
		// Kept only once verified: the table outlives connections, and
		// what it holds must not be chosen by an unauthenticated client.
		for i, c := range peer {
			intern(rawCerts[i], c)
		}
	}
	logDecision(v.logger, "verifier", nil, &d)
	if !d.Allowed {
		return DenyError{Reason: d.Reason}
	}
	return nil
}

// parsePeer returns the presented chain as parsed certificates. The leaf of
// a TLS-verified chain is the very object the HTTP layer will see, so its
// facts are shared with the requests of the connection; other certificates
// come from the interning table when an earlier handshake verified them.
func parsePeer(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) ([]*x509.Certificate, error) {
	peer := make([]*x509.Certificate, len(rawCerts))
	for i, raw := range rawCerts {
		if i == 0 && len(verifiedChains) > 0 && len(verifiedChains[0]) > 0 {
			peer[0] = verifiedChains[0][0]
			continue
		}
		c, err := parseInterned(raw)
		if err != nil {
			return nil, err
		}
		peer[i] = c
	}
	return peer, nil
}

// Interning is bounded in entries and in the size of what it keeps: an
// unauthenticated client can send large certificates, and those are simply
// parsed again on each handshake.
const (
	internCacheSize    = 1024
	internMaxCertBytes = 8 << 10
)

var internCache = newBoundedCache[string, *x509.Certificate](internCacheSize)

// parseInterned returns the interned certificate of raw, or parses it.
func parseInterned(raw []byte) (*x509.Certificate, error) {
	if c, ok := getByBytes(internCache, raw); ok {
		return c, nil
	}
	return x509.ParseCertificate(raw)
}

// intern keeps c, the parse of raw, so that every later handshake with the
// same bytes reuses one parse and one set of facts.
func intern(raw []byte, c *x509.Certificate) {
	if len(raw) > internMaxCertBytes {
		return
	}
	if old, ok := getByBytes(internCache, raw); ok && old == c {
		return
	}
	internCache.put(string(raw), c)
}

// Interface guards
var (
	_ caddy.Provisioner                  = (*Verifier)(nil)
	_ caddy.Validator                    = (*Verifier)(nil)
	_ caddytls.ClientCertificateVerifier = (*Verifier)(nil)
)
