// logging.go: the structured log entries of decisions, at debug level, with
// the certificate's public identifiers and, on a deny, what did not hold;
// and under report_only, the WARN entry of a would-be denial.

package clientcertificate

import (
	"net/http"
	"strconv"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Messages of the log entries. The verifier runs during the handshake,
// before crypto/tls checks that the client holds the certificate's key
// (its CertificateVerify signature), so it never says "allowed": anyone
// who has seen a certificate can present it that far.
const (
	msgDecision       = "client certificate decision"
	msgHandshakeDeny  = "client certificate refused during the TLS handshake"
	msgHandshakePass  = "client certificate passes the policy; the TLS handshake has yet to check that the client holds its key"
	pendingKeyCheck   = "the client's CertificateVerify signature"
	moduleVerifierLog = "verifier"
	msgWouldDeny      = "client certificate would be denied"
	msgReportOnly     = "client_certificate report_only: the policy is not enforced; what it would deny goes on, logged at WARN as '" +
		msgWouldDeny + "' and counted as result=\"would_deny\""
)

// logDecision writes a structured entry at debug level. It is on the hot
// path: with debug logging off it costs one level check, and the fields
// are built in a separate function so that this one keeps a small stack
// frame (HTTP/2 serves each request on a fresh goroutine, whose stack would
// otherwise be grown on every request).
func (p *Policy) logDecision(logger *zap.Logger, module string, r *http.Request, d *Decision) {
	if logger == nil {
		return
	}
	if ce := logger.Check(zapcore.DebugLevel, msgDecision); ce != nil {
		p.writeDecision(ce, module, r, d)
	}
}

// logHandshake writes the verifier's entry: a refusal, or a pass that is
// not yet an admission.
func (p *Policy) logHandshake(logger *zap.Logger, d *Decision) {
	if logger == nil {
		return
	}
	msg := msgHandshakeDeny
	if d.Allowed {
		msg = msgHandshakePass
	}
	if ce := logger.Check(zapcore.DebugLevel, msg); ce != nil {
		p.writeDecision(ce, moduleVerifierLog, nil, d)
	}
}

//go:noinline
func (p *Policy) writeDecision(ce *zapcore.CheckedEntry, module string, r *http.Request, d *Decision) {
	fields := []zap.Field{zap.String("module", module)}
	if module == moduleVerifierLog && d.Allowed {
		fields = append(fields, zap.String("pending", pendingKeyCheck))
	} else {
		fields = append(fields, zap.Bool("allowed", d.Allowed))
	}
	fields = append(fields,
		zap.String("reason", d.Reason),
		zap.String("identity", d.Identity),
		zap.Bool("verified", d.Verified),
	)
	if r != nil {
		fields = append(fields, zap.String("remote_addr", r.RemoteAddr), zap.String("host", r.Host), zap.String("uri", r.RequestURI))
	}
	fields = append(fields, factsFields(d.facts)...)
	if p.revocation != nil {
		fields = append(fields, zap.Stringer("revocation", d.revocation))
		if d.revocationCause != "" {
			fields = append(fields, zap.String("revocation_cause", d.revocationCause))
		}
	}
	if detail := p.explain(d); len(detail) > 0 {
		fields = append(fields, zap.Strings("detail", detail))
	}
	ce.Write(fields...)
}

// explain says what did not hold in a deny by a condition: the top-level
// condition, or each identity's first failing condition. The tests have no
// side effects, so running them again here is safe.
func (p *Policy) explain(d *Decision) []string {
	switch {
	case d.Allowed || d.facts == nil:
		return nil
	case d.Reason == ReasonRevoked || d.Reason == ReasonRevocationUnknown:
		return []string{d.revocationCause}
	case d.failed != nil:
		return []string{d.failed.describe(d.facts, d.issuers)}
	case d.Reason == ReasonNoIdentity:
		var out []string
		for i := range p.identities {
			id := &p.identities[i]
			if t := id.cond.check(d.facts, d.issuers); t != nil {
				name := id.name
				if name == "" {
					name = "#" + strconv.Itoa(i)
				}
				out = append(out, "identity "+name+": "+t.describe(d.facts, d.issuers))
			}
		}
		return out
	}
	return nil
}

// factsFields describes a certificate for logs: public identifiers only.
func factsFields(f *contentFacts) []zap.Field {
	if f == nil {
		return nil
	}
	return []zap.Field{
		zap.Any("thumbprint", f.thumbprintHex),
		zap.Any("subject", f.subjectText),
		zap.Any("issuer", f.issuerText),
		zap.String("serial", f.serial),
		zap.Time("not_after", f.notAfter),
	}
}

// logWouldDeny writes the WARN entry of a decision that report_only did not
// enforce: the reason, the identity, the certificate's thumbprint and
// subject (empty without a certificate), what did not hold and, for HTTP
// (r not nil), the request's host, URI and remote address. It is the only
// entry of such a decision.
func (p *Policy) logWouldDeny(logger *zap.Logger, module string, r *http.Request, d *Decision) {
	if logger == nil {
		return
	}
	if ce := logger.Check(zapcore.WarnLevel, msgWouldDeny); ce != nil {
		p.writeWouldDeny(ce, module, r, d)
	}
}

//go:noinline
func (p *Policy) writeWouldDeny(ce *zapcore.CheckedEntry, module string, r *http.Request, d *Decision) {
	thumbprint, subject := any(""), any("")
	if d.facts != nil {
		thumbprint, subject = d.facts.thumbprintHex, d.facts.subjectText
	}
	fields := []zap.Field{
		zap.String("module", module),
		zap.String("reason", d.Reason),
		zap.String("identity", d.Identity),
		zap.Any("thumbprint", thumbprint),
		zap.Any("subject", subject),
	}
	if r != nil {
		fields = append(fields, zap.String("host", r.Host), zap.String("uri", r.RequestURI), zap.String("remote_addr", r.RemoteAddr))
	}
	if detail := p.explain(d); len(detail) > 0 {
		fields = append(fields, zap.Strings("detail", detail))
	}
	ce.Write(fields...)
}
