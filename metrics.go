// metrics.go: the Prometheus metric of decisions,
// caddy_client_certificate_decisions_total{module, result, reason,
// identity}: its closed label values, the series a module's policy can
// produce (created at Provision, so that rate() sees the first decision of
// each), and the counters a module resolves once, so that counting a
// decision is one atomic add with no label lookup and no allocation. The
// vector and the reference counts of its series are in state.go.

package clientcertificate

import (
	"errors"
	"fmt"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

// decisionLabels are the labels of decisionsTotal, in order.
var decisionLabels = []string{"module", "result", "reason", "identity"}

// Modules, as in the module label.
const (
	moduleHandler  = "handler"
	moduleMatcher  = "matcher"
	moduleVerifier = "verifier"
)

// outcome is what became of a decision: the result label and the
// {http.client_certificate.decision} placeholder.
type outcome uint8

const (
	outcomeAllow     outcome = iota
	outcomeDeny              // the request or handshake was refused
	outcomeWouldDeny         // report_only: the policy denies, and the request or handshake went on
)

// outcomeNames are the values of the result label; outcomeTexts the same,
// boxed once for the placeholder (so that it does not allocate).
var (
	outcomeNames = [...]string{"allow", "deny", "would_deny"}
	outcomeTexts = func() (texts [len(outcomeNames)]any) {
		for i, name := range outcomeNames {
			texts[i] = name
		}
		return texts
	}()
)

// fixedReasons are the deny reasons that do not come from the condition
// table, numbered by their position (see reasonIndex).
var fixedReasons = [...]string{
	ReasonNoTLS,
	ReasonEarlyData,
	ReasonNoCertificate,
	ReasonUnverified,
	ReasonUntrusted,
	ReasonExpired,
	ReasonNotYetValid,
	ReasonNoIdentity,
	ReasonCACertificate,
	ReasonRevoked,
	ReasonRevocationUnknown,
}

// reasonNames is the closed set of deny reasons: fixedReasons, then the
// reason of each entry of conditionTable ("<condition>_mismatch"), in the
// table's order. A decision's reason is reasonNames[reasonIndex(d)].
var reasonNames = func() []string {
	names := append([]string(nil), fixedReasons[:]...)
	for _, c := range conditionTable {
		names = append(names, c.reason)
	}
	return names
}()

// reasonIndex numbers a denied decision's reason in reasonNames, without
// comparing strings when a condition failed; -1 for a reason outside the
// closed set (which no code path gives).
func reasonIndex(d *Decision) int {
	if d.failed != nil {
		return len(fixedReasons) + d.failed.cond.index
	}
	switch d.Reason {
	case ReasonNoTLS:
		return 0
	case ReasonEarlyData:
		return 1
	case ReasonNoCertificate:
		return 2
	case ReasonUnverified:
		return 3
	case ReasonUntrusted:
		return 4
	case ReasonExpired:
		return 5
	case ReasonNotYetValid:
		return 6
	case ReasonNoIdentity:
		return 7
	case ReasonCACertificate:
		return 8
	case ReasonRevoked:
		return 9
	case ReasonRevocationUnknown:
		return 10
	}
	return -1
}

// reasonsFor lists, by index in reasonNames, the deny reasons the policy
// can give in a module. It errs on the side of inclusion: a series that
// stays at zero costs little, while a series that appears with its first
// decision hides that decision from rate(). TestReasonsForCoverDecisions
// checks that every decision of a table of policies and certificates is
// in it.
func (p *Policy) reasonsFor(module string) []int {
	var out []int
	add := func(reason string) {
		for i, name := range reasonNames {
			if name == reason {
				out = append(out, i)
				return
			}
		}
	}
	if module != moduleVerifier {
		// The verifier runs during a TLS handshake: there is TLS, and no
		// early data yet.
		add(ReasonNoTLS)
		add(ReasonEarlyData)
	}
	add(ReasonNoCertificate) // the verifier: a leaf that does not parse
	if p.pool != nil {
		add(ReasonUntrusted)
	}
	if p.RequireUnexpired || p.pool != nil {
		add(ReasonExpired)
		add(ReasonNotYetValid)
	}
	if (p.pool == nil && !p.AllowUnverified) || p.revocation != nil {
		add(ReasonUnverified)
	}
	if !p.AllowUnverified {
		add(ReasonCACertificate)
	}
	for i := range p.top.tests {
		add(p.top.tests[i].cond.reason)
	}
	if len(p.identities) > 0 {
		add(ReasonNoIdentity)
	}
	if p.revocation != nil {
		add(ReasonRevoked)
		if !p.revocation.allowUnknown {
			add(ReasonRevocationUnknown)
		}
	}
	return out
}

// decisionMetrics are the counters of one module instance, resolved at
// Provision. A nil *decisionMetrics (disable_metrics) counts nothing.
type decisionMetrics struct {
	module string
	// allow is indexed by Decision.identitySlot: 0 for an allow without
	// identity blocks, i+1 for the policy's identity i; nil for a slot the
	// policy cannot produce.
	allow []prometheus.Counter
	// denied is indexed by reasonIndex, with the module's result for a
	// deny (deny, or would_deny under report_only); nil for a reason the
	// policy cannot give.
	denied        []prometheus.Counter
	deniedOutcome outcome
	// series are the series acquired from decisionSeries, for release.
	series []seriesLabels
}

// count counts one decision. It is on the hot path: an index and an atomic
// add.
func (m *decisionMetrics) count(d *Decision) {
	if m == nil {
		return
	}
	if c := m.resolved(d); c != nil {
		c.Inc()
		return
	}
	m.countUnforeseen(d)
}

// resolved returns the decision's counter resolved at Provision, or nil.
func (m *decisionMetrics) resolved(d *Decision) prometheus.Counter {
	if d.Allowed {
		return m.allow[d.identitySlot]
	}
	if i := reasonIndex(d); i >= 0 {
		return m.denied[i]
	}
	return nil
}

// countUnforeseen counts a decision whose series was not created at
// Provision (reasonsFor missed it). It looks the series up and allocates;
// no test has seen it happen. The series is outside decisionSeries'
// reference counts, so no reload removes it: it stays, with its count,
// until the process ends (TestReasonsForCoverDecisions finds such series
// by that very absence).
//
//go:noinline
func (m *decisionMetrics) countUnforeseen(d *Decision) {
	result, identity := outcomeNames[m.deniedOutcome], ""
	if d.Allowed {
		result, identity = outcomeNames[outcomeAllow], d.Identity
	}
	decisionsTotal.WithLabelValues(m.module, result, d.Reason, identity).Inc()
}

// newDecisionMetrics registers decisionsTotal in reg (nil: none; a vector
// already registered there, by another module of the same configuration,
// is fine, as in Caddy's reverse_proxy) and creates the series the policy
// can produce in module: allow for each identity slot, and deny, or
// would_deny under reportOnly, for each reason of reasonsFor. The caller
// must call release when the module is unloaded.
func newDecisionMetrics(reg prometheus.Registerer, module string, p *Policy, reportOnly bool) (*decisionMetrics, error) {
	if reg != nil {
		if err := reg.Register(decisionsTotal); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				return nil, fmt.Errorf("registering the client certificate metrics: %v", err)
			}
		}
	}
	m := &decisionMetrics{
		module:        module,
		allow:         make([]prometheus.Counter, len(p.identities)+1),
		denied:        make([]prometheus.Counter, len(reasonNames)),
		deniedOutcome: outcomeDeny,
	}
	if reportOnly {
		m.deniedOutcome = outcomeWouldDeny
	}
	acquire := func(result outcome, reason, identity string) prometheus.Counter {
		labels := seriesLabels{module: module, result: outcomeNames[result], reason: reason, identity: identity}
		m.series = append(m.series, labels)
		return decisionSeries.acquire(labels)
	}
	if len(p.identities) == 0 {
		m.allow[0] = acquire(outcomeAllow, "", "")
	}
	for i := range p.identities {
		m.allow[i+1] = acquire(outcomeAllow, "", p.identities[i].name)
	}
	for _, i := range p.reasonsFor(module) {
		m.denied[i] = acquire(m.deniedOutcome, reasonNames[i], "")
	}
	return m, nil
}

// release gives back the module's series; those no loaded module holds
// any more are removed. It may be called more than once.
func (m *decisionMetrics) release() {
	if m == nil {
		return
	}
	for _, labels := range m.series {
		decisionSeries.release(labels)
	}
	m.series = nil
}

// provisionMetrics sets up a module's counters in the configuration's
// registry (served by the admin endpoint's /metrics and by the metrics
// handler); the module's Cleanup releases them. With disable_metrics it
// returns nil, which counts nothing.
func provisionMetrics(ctx caddy.Context, module string, p *Policy, reportOnly bool) (*decisionMetrics, error) {
	if p.DisableMetrics {
		return nil, nil
	}
	var reg prometheus.Registerer
	if r := ctx.GetMetricsRegistry(); r != nil {
		reg = r
	}
	return newDecisionMetrics(reg, module, p, reportOnly)
}

// seriesLabels are the label values of one series of decisionsTotal.
type seriesLabels struct {
	module, result, reason, identity string
}

// seriesTable counts, per series of decisionsTotal, the module instances
// holding it. A reload provisions the new configuration before it unloads
// the old one, so a series both name keeps its counter and its count.
type seriesTable struct {
	mu   sync.Mutex
	refs map[seriesLabels]int
}

// acquire creates the series (or finds it) and returns its counter.
func (t *seriesTable) acquire(l seriesLabels) prometheus.Counter {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.refs[l]++
	return decisionsTotal.WithLabelValues(l.module, l.result, l.reason, l.identity)
}

// release removes the series when no module holds it any more.
func (t *seriesTable) release(l seriesLabels) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.refs[l]--; t.refs[l] > 0 {
		return
	}
	delete(t.refs, l)
	decisionsTotal.DeleteLabelValues(l.module, l.result, l.reason, l.identity)
}
