// module.go: the HTTP handler (http.handlers.client_certificate), which
// answers 403 (425 for early data) when the policy denies, and the error it
// returns. What a decision leaves behind is in placeholders.go and
// logging.go.

package clientcertificate

import (
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
	return h.Policy.provision(ctx, h.logger)
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
	h.logDecision(h.logger, "handler", r, &d)
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
