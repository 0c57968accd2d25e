// matcher.go: the request matcher (http.matchers.client_certificate): a
// request matches when its certificate satisfies the policy.

package clientcertificate

import (
	"net/http"

	"cel.dev/cel-go/cel"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Matcher{})
}

// Matcher matches requests whose TLS client certificate satisfies the
// policy. A request that does not satisfy it simply does not match; TLS
// early data is answered 425 Too Early, since the client is not yet
// authenticated. On a match it sets the same placeholders as the handler.
type Matcher struct {
	Policy

	logger  *zap.Logger
	metrics *decisionMetrics
}

// CaddyModule returns the Caddy module information.
func (Matcher) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers.client_certificate",
		New: func() caddy.Module { return new(Matcher) },
	}
}

// Provision compiles the policy and sets up the metrics.
func (m *Matcher) Provision(ctx caddy.Context) error {
	m.logger = ctx.Logger()
	if err := m.Policy.provision(ctx, m.logger); err != nil {
		return err
	}
	metrics, err := provisionMetrics(ctx, moduleMatcher, &m.Policy, false)
	m.metrics = metrics
	return err
}

// Match returns true if r satisfies the policy.
//
// Deprecated: use MatchWithError.
func (m *Matcher) Match(r *http.Request) bool {
	ok, _ := m.MatchWithError(r)
	return ok
}

// MatchWithError returns true if r satisfies the policy.
func (m *Matcher) MatchWithError(r *http.Request) (bool, error) {
	d := m.Evaluate(r.TLS)
	m.metrics.count(&d)
	recordDecision(r, &d)
	m.logDecision(m.logger, moduleMatcher, r, &d)
	if d.Reason == ReasonEarlyData {
		return false, caddyhttp.Error(http.StatusTooEarly, DenyError{Reason: d.Reason})
	}
	return d.Allowed, nil
}

// Cleanup releases what Provision acquired beyond the module (metric
// series, revocation sources) when its configuration is unloaded.
func (m *Matcher) Cleanup() error {
	m.metrics.release()
	m.Policy.release()
	return nil
}

// CELLibrary makes the matcher available in `expression` matchers as
// client_certificate({...}) (see cel.go). Every expression matcher calls it,
// so it is cheap and never fails.
func (*Matcher) CELLibrary(ctx caddy.Context) (cel.Library, error) {
	return celLibrary(ctx), nil
}

// Interface guards
var (
	_ caddy.Provisioner                 = (*Matcher)(nil)
	_ caddy.CleanerUpper                = (*Matcher)(nil)
	_ caddy.Validator                   = (*Matcher)(nil)
	_ caddyhttp.RequestMatcherWithError = (*Matcher)(nil)
	_ caddyhttp.CELLibraryProducer      = (*Matcher)(nil)
)
