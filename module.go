// module.go: the HTTP handler (http.handlers.client_certificate), which
// answers 403 (425 for early data) when the policy denies, or under
// report_only logs and lets the request go on, and the error it returns.
// What a decision leaves behind is in placeholders.go and logging.go, the
// forwarded certificate in forward.go, the metrics in metrics.go.

package clientcertificate

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

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
// access logs record who called, and with forward it passes the
// certificate on in RFC 9440 header fields. It removes any Client-Cert and
// Client-Cert-Chain a client sent from every request, whatever the
// decision.
type Handler struct {
	Policy

	// Evaluate the policy and log (WARN, "client certificate would be
	// denied") and count (result="would_deny") what it would deny, but let
	// every request go on: a rollout step before enforcing. Placeholders
	// show the real outcome ({http.client_certificate.decision} is
	// would_deny, the reason is set, the certificate placeholders are
	// empty) and nothing is forwarded. Default: off (enforced).
	ReportOnly bool `json:"report_only,omitempty"`

	// Forward the certificate of an allowed request to the next handlers
	// and upstreams, e.g. {"format": "rfc9440", "chain": true}. Default:
	// nothing forwarded.
	Forward *Forward `json:"forward,omitempty"`

	logger  *zap.Logger
	metrics *decisionMetrics
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.client_certificate",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision compiles the policy and sets up the metrics.
func (h *Handler) Provision(ctx caddy.Context) error { return h.provision(ctx, ctx.Logger()) }

// provision is Provision with the module's logger.
func (h *Handler) provision(ctx caddy.Context, logger *zap.Logger) error {
	h.logger = logger
	h.Policy.keepChain = h.Forward != nil && h.Forward.Chain
	if err := h.Policy.provision(ctx, h.logger); err != nil {
		return err
	}
	m, err := provisionMetrics(ctx, moduleHandler, &h.Policy, h.ReportOnly)
	if err != nil {
		return err
	}
	h.metrics = m
	if h.ReportOnly {
		h.logger.Warn(msgReportOnly)
	}
	return nil
}

// Validate rejects a policy or forward settings that cannot mean what was
// intended.
func (h *Handler) Validate() error {
	var errs []error
	errs = append(errs, h.Policy.Validate())
	if h.Forward != nil {
		errs = append(errs, h.Forward.validate())
	}
	return errors.Join(errs...)
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if err := h.authorize(r); err != nil {
		return err
	}
	return next.ServeHTTP(w, r)
}

// authorize removes the certificate fields a client may have sent, decides
// on the request, records and counts the decision and, on allow, forwards
// the certificate. It is kept out of line so that its frame, which holds
// the decision, is popped before the rest of the route runs: HTTP/2 serves
// each request on a fresh goroutine whose stack is copied whenever it
// doubles, and every byte a middleware leaves on the stack under the next
// handler brings the next doubling closer (a CPU profile of Caddy under
// HTTP/2 load showed a larger ServeHTTP frame doubling the cost of stack
// copying).
//
//go:noinline
func (h *Handler) authorize(r *http.Request) error {
	// First, whatever follows: a denied request can still reach an
	// upstream through handle_errors. Once per request: a later handler
	// in the chain keeps what an earlier one forwarded.
	stripClientFields(r)
	d := h.Evaluate(r.TLS)
	h.metrics.count(&d)
	if d.Allowed {
		recordOutcome(r, &d, outcomeAllow)
		h.logDecision(h.logger, moduleHandler, r, &d)
		if h.Forward != nil {
			h.Forward.forward(r.Header, r.TLS.PeerCertificates[0], &d)
		}
		return nil
	}
	if h.ReportOnly {
		recordOutcome(r, &d, outcomeWouldDeny)
		h.logWouldDeny(h.logger, moduleHandler, r, &d)
		return nil
	}
	recordOutcome(r, &d, outcomeDeny)
	h.logDecision(h.logger, moduleHandler, r, &d)
	return caddyhttp.Error(denyStatus(d.Reason), DenyError{Reason: d.Reason})
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

// Cleanup releases what Provision acquired beyond the module (metric
// series, revocation sources) when its configuration is unloaded.
func (h *Handler) Cleanup() error {
	h.metrics.release()
	h.Policy.release()
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
