package clientcertificate

import (
	"net/http"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler allows a request only when the TLS client certificate satisfies
// the policy; otherwise it returns a 403 error (425 for TLS early data) for
// handle_errors to shape. The deny reason is in the error and in the
// {http.client_certificate.reason} placeholder, never in the response
// unless the operator puts it there.
//
// On allow it sets the {http.client_certificate.*} placeholders and
// {http.auth.user.id} (the identity name, else the subject common name), so
// access logs record who called.
type Handler struct {
	Policy

	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.client_certificate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the policy.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	return h.Policy.Provision(ctx)
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := h.authorize(r); err != nil {
		return err
	}
	return next.ServeHTTP(w, r)
}

// authorize decides on the request and records the decision. It is kept
// out of line so that its frame, which holds the decision, is popped
// before the rest of the route runs: HTTP/2 serves each request on a fresh
// goroutine whose stack is copied whenever it doubles, and every byte a
// middleware leaves on the stack under the next handler brings the next
// doubling closer (a CPU profile of Caddy under HTTP/2 load showed a
// larger ServeHTTP frame doubling the cost of stack copying).
//
//go:noinline
func (h *Handler) authorize(r *http.Request) error {
	d := h.Evaluate(r.TLS)
	recordDecision(r, &d)
	logDecision(h.logger, "handler", r, &d)
	if !d.Allowed {
		return caddyhttp.Error(denyStatus(d.Reason), DenyError{Reason: d.Reason})
	}
	return nil
}

// DenyError is the error a handler or matcher returns when a policy denies
// a request; {http.error.message} renders it.
type DenyError struct {
	Reason string
}

func (e DenyError) Error() string { return "client certificate denied: " + e.Reason }

func denyStatus(reason string) int {
	if reason == ReasonEarlyData {
		return http.StatusTooEarly
	}
	return http.StatusForbidden
}

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
	d Decision
}

// recordDecision leaves the decision in the request's replacer. The record
// is found again through the request's vars (one map lookup) rather than
// through the replacer, whose Get asks every provider in turn.
func recordDecision(r *http.Request, d *Decision) {
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
// takes precedence). After a deny, only the reason is set; the certificate
// placeholders are empty.
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
	if name == "reason" {
		return d.Reason, true
	}
	f := d.facts
	if !d.Allowed || f == nil {
		f = &noCertificateFacts
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
var noCertificateFacts = certFacts{contentFacts: &contentFacts{
	thumbprintHex: "", thumbprintSHA256Hex: "", subjectText: "", issuerText: "",
	commonNameText: "", serialText: "", notAfterText: "",
}}

// logDecision writes a structured entry at debug level. It is on the hot
// path: with debug logging off it costs one level check, and the fields
// are built in a separate function so that this one keeps a small stack
// frame (HTTP/2 serves each request on a fresh goroutine, whose stack would
// otherwise be grown on every request).
func logDecision(logger *zap.Logger, module string, r *http.Request, d *Decision) {
	if logger == nil {
		return
	}
	if ce := logger.Check(zapcore.DebugLevel, "client certificate decision"); ce != nil {
		writeDecision(ce, module, r, d)
	}
}

//go:noinline
func writeDecision(ce *zapcore.CheckedEntry, module string, r *http.Request, d *Decision) {
	fields := []zap.Field{
		zap.String("module", module),
		zap.Bool("allowed", d.Allowed),
		zap.String("reason", d.Reason),
		zap.String("identity", d.Identity),
		zap.Bool("verified", d.Verified),
	}
	if r != nil {
		fields = append(fields, zap.String("remote_addr", r.RemoteAddr), zap.String("host", r.Host), zap.String("uri", r.RequestURI))
	}
	fields = append(fields, factsFields(d.facts)...)
	ce.Write(fields...)
}

// factsFields describes a certificate for logs: public identifiers only.
func factsFields(f *certFacts) []zap.Field {
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
