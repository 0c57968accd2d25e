// verifier.go: the TLS client_auth verifier
// (tls.client_auth.verifier.client_certificate), which fails the handshake
// when the presented certificate does not satisfy the policy (under
// report_only, logs and lets it go on).

package clientcertificate

import (
	"bytes"
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
//
// Caddy calls verifiers from tls.Config.VerifyConnection, which crypto/tls
// runs before it checks the client's CertificateVerify signature, and there
// is no later hook. A client that merely copied someone's certificate
// reaches this point too, so the verifier keeps nothing beyond the call
// (no cache, no connection record) and its log entries say that a pass is
// pending that check.
//
// Each call is one decision in the metrics: Caddy calls verifiers on every
// handshake that presents a certificate, resumed ones included.
type Verifier struct {
	Policy

	// Evaluate the policy and log (WARN, "client certificate would be
	// denied") and count (result="would_deny") what it would refuse, but
	// let every handshake go on. Default: off (enforced).
	ReportOnly bool `json:"report_only,omitempty"`

	logger  *zap.Logger
	metrics *decisionMetrics
}

// CaddyModule returns the Caddy module information.
func (Verifier) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "tls.client_auth.verifier.client_certificate",
		New: func() caddy.Module { return new(Verifier) },
	}
}

// Provision compiles the policy and sets up the metrics.
func (v *Verifier) Provision(ctx caddy.Context) error { return v.provision(ctx, ctx.Logger()) }

// provision is Provision with the module's logger.
func (v *Verifier) provision(ctx caddy.Context, logger *zap.Logger) error {
	v.logger = logger
	if err := v.Policy.provision(ctx, v.logger); err != nil {
		return err
	}
	m, err := provisionMetrics(ctx, moduleVerifier, &v.Policy, v.ReportOnly)
	if err != nil {
		return err
	}
	v.metrics = m
	if v.ReportOnly {
		v.logger.Warn(msgReportOnly)
	}
	return nil
}

// VerifyClientCertificate implements caddytls.ClientCertificateVerifier.
func (v *Verifier) VerifyClientCertificate(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) error {
	if len(rawCerts) == 0 {
		return nil
	}
	var d Decision
	if peer, reason := v.presentedChain(rawCerts, verifiedChains); reason != "" {
		d.Reason = reason
	} else {
		d = v.evaluate(peer, verifiedChains, v.now(), false)
	}
	v.metrics.count(&d)
	if !d.Allowed && v.ReportOnly {
		v.logWouldDeny(v.logger, moduleVerifierLog, nil, &d)
		return nil
	}
	v.logHandshake(v.logger, &d)
	if !d.Allowed {
		return DenyError{Reason: d.Reason}
	}
	return nil
}

// presentedChain returns the parsed certificates the policy reads: the
// leaf, and the intermediates only when the policy has its own trust_pool
// (checked against maxPresentedIntermediates before any is read).
// crypto/tls has parsed every presented certificate already, but Caddy
// hands verifiers only their bytes and the verified chains; certificates
// found in those chains are not parsed again. On failure it returns the
// deny reason.
func (v *Verifier) presentedChain(rawCerts [][]byte, verifiedChains [][]*x509.Certificate) ([]*x509.Certificate, string) {
	n := 1
	if v.pool != nil {
		if len(rawCerts)-1 > maxPresentedIntermediates {
			return nil, ReasonUntrusted
		}
		n = len(rawCerts)
	}
	peer := make([]*x509.Certificate, n)
	for i := range peer {
		if c := findParsed(rawCerts[i], verifiedChains); c != nil {
			peer[i] = c
			continue
		}
		c, err := x509.ParseCertificate(rawCerts[i])
		if err != nil {
			if i == 0 {
				return nil, ReasonNoCertificate
			}
			return nil, ReasonUntrusted
		}
		peer[i] = c
	}
	return peer, ""
}

// findParsed returns the certificate of raw among the verified chains.
func findParsed(raw []byte, chains [][]*x509.Certificate) *x509.Certificate {
	for _, chain := range chains {
		for _, c := range chain {
			if bytes.Equal(c.Raw, raw) {
				return c
			}
		}
	}
	return nil
}

// Cleanup releases what Provision acquired beyond the module (metric
// series, revocation sources) when its configuration is unloaded.
func (v *Verifier) Cleanup() error {
	v.metrics.release()
	v.Policy.release()
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner                  = (*Verifier)(nil)
	_ caddy.CleanerUpper                 = (*Verifier)(nil)
	_ caddy.Validator                    = (*Verifier)(nil)
	_ caddytls.ClientCertificateVerifier = (*Verifier)(nil)
)
