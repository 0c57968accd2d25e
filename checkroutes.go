// checkroutes.go: check's walk of a server's HTTP routes, as Caddy's
// compiled middleware chain would take a request, without running what
// could act outside the process. Matchers are evaluated (they only read
// the request); handlers are sorted by what they do: client_certificate
// handlers decide (condition by condition, at check's time), subroutes and
// named routes are entered, handlers that only read or rewrite the request
// or answer from the configuration are run on a recorder, handlers that act
// on the response are passed, and handlers that would reach beyond the
// process (reverse_proxy, file_server, ...) or that check does not know
// end the walk there, reported as the handler the request reaches.

package clientcertificate

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Handlers check runs: they only read or change the request, or answer
// from the configuration, and do no I/O.
var simulatedHandlers = map[string]bool{
	"static_response": true, // respond
	"error":           true,
	"rewrite":         true, // rewrite, uri, method
	"headers":         true, // header, request_header
	"vars":            true,
	"map":             true,
	"request_body":    true,
	"log_append":      true,
	"authentication":  true, // basic_auth: a request without credentials is answered 401
}

// Handlers check passes without running: they act on the response.
var passedHandlers = map[string]bool{
	"encode":                true,
	"templates":             true,
	"push":                  true,
	"intercept":             true,
	"copy_response_headers": true,
}

// routeWalker walks one request through a server's routes.
type routeWalker struct {
	oc     *offlineConfig
	rep    *checkReport
	srv    *caddyhttp.Server
	at     time.Time
	groups map[string]struct{} // route groups already satisfied (handle blocks), as Caddy keeps per request
	denied *moduleCheck        // the first client_certificate decision that denied
}

// walkOutcome is how a walk of routes ended.
type walkOutcome int

const (
	fellThrough walkOutcome = iota // no handler answered: the chain goes on
	answered                       // a handler answers (run, or reached and not run)
	failed                         // a handler or matcher returned an error: the error routes take over
)

type walkResult struct {
	outcome walkOutcome
	answer  *answer
	err     error  // failed: the error, as the handler returned it
	by      string // failed: the module and where
	matched bool   // some route of the list matched
}

// serve walks the server's routes, then its error routes if a handler
// failed, and fills the verdict.
func (wk *routeWalker) serve(r *http.Request, name string) error {
	rep := wk.rep
	var res walkResult
	if err := strictSNIHost(wk.srv, r); err != nil {
		rep.Steps = append(rep.Steps, checkStep{Kind: "server", Where: name, Text: "strict_sni_host: " + err.Error()})
		res = walkResult{outcome: failed, err: caddyhttp.Error(http.StatusMisdirectedRequest, err), by: "strict_sni_host of " + name}
	} else {
		res, r = wk.routes(wk.srv.Routes, r, name)
	}
	if res.outcome == fellThrough && !res.matched && hasHostMatcher(wk.srv.Routes) {
		return fmt.Errorf("no site of server %s (port %s) serves host %q", name, portOf(r.Host), r.URL.Hostname())
	}
	switch res.outcome {
	case fellThrough:
		rep.Verdict = "allowed"
		rep.Reaches = "no handler: Caddy answers 200 with an empty body"
		rep.Answer = &answer{Status: http.StatusOK, By: "no handler"}
	case answered:
		rep.Verdict = "allowed"
		rep.Answer = res.answer
		rep.Reaches = res.answer.By
	case failed:
		rep.Verdict = "denied"
		rep.ExitStatus = 1
		rep.Reason = oneLine(res.err.Error())
		rep.DeniedBy = res.by
		if wk.denied != nil {
			rep.Reason = wk.denied.Reason
		}
		rep.Answer = wk.errorAnswer(r, res.err, name)
	}
	if wk.denied != nil && rep.Verdict == "allowed" {
		// A client_certificate handler denied inside a subroute whose own
		// error routes answered: still a deny.
		rep.Verdict, rep.ExitStatus = "denied", 1
		rep.Reason = wk.denied.Reason
		rep.DeniedBy = "client_certificate " + wk.denied.Kind + " at " + wk.denied.Where
	}
	return nil
}

// errorAnswer is what Caddy answers after a handler error: the server's
// error routes (handle_errors) if any answer, else the error's status and
// an empty body.
func (wk *routeWalker) errorAnswer(r *http.Request, err error, name string) *answer {
	status := http.StatusInternalServerError
	var he caddyhttp.HandlerError
	if errors.As(err, &he) && he.StatusCode != 0 {
		status = he.StatusCode
	}
	fallback := &answer{Status: status, By: "the error's status (no error route answered)"}
	if wk.srv.Errors == nil || len(wk.srv.Errors.Routes) == 0 {
		fallback.By = "the error's status (no handle_errors)"
		return fallback
	}
	r = wk.srv.Errors.WithError(r, err)
	res, _ := wk.routes(wk.srv.Errors.Routes, r, name+".errors")
	if res.outcome == answered {
		return res.answer
	}
	return fallback
}

// strictSNIHost is Caddy's enforcement of strict_sni_host: the Host must be
// the SNI (on by default when a connection policy has client_auth).
func strictSNIHost(srv *caddyhttp.Server, r *http.Request) error {
	if srv.StrictSNIHost == nil || !*srv.StrictSNIHost || r.TLS == nil {
		return nil
	}
	hostname, _, err := net.SplitHostPort(r.Host)
	if err != nil {
		hostname = r.Host
	}
	if !strings.EqualFold(r.TLS.ServerName, hostname) {
		return fmt.Errorf("strict host matching: TLS ServerName (%s) and HTTP Host (%s) values differ", r.TLS.ServerName, hostname)
	}
	return nil
}

func portOf(hostport string) string {
	if _, p, err := net.SplitHostPort(hostport); err == nil {
		return p
	}
	return "443"
}

// hasHostMatcher reports whether some route of the list has a host matcher:
// then a request no route takes is for a host the server does not serve.
func hasHostMatcher(routes caddyhttp.RouteList) bool {
	for _, rt := range routes {
		for _, set := range rt.MatcherSets {
			for _, m := range set {
				if _, ok := m.(caddyhttp.MatchHost); ok {
					return true
				}
				if _, ok := m.(*caddyhttp.MatchHost); ok {
					return true
				}
			}
		}
	}
	return false
}

// routes walks a route list as Caddy's compiled chain does: each route
// whose matchers match runs its handlers in order, then the next route,
// unless a handler answered or failed, or the route is terminal.
func (wk *routeWalker) routes(list caddyhttp.RouteList, r *http.Request, where string) (walkResult, *http.Request) {
	var res walkResult
	for i := range list {
		route := &list[i]
		path := fmt.Sprintf("%s.routes[%d]", where, i)
		if route.Group != "" {
			if _, done := wk.groups[route.Group]; done {
				continue
			}
		}
		ok, by, err := wk.match(route.MatcherSets, r, path)
		if err != nil {
			return walkResult{outcome: failed, err: err, by: by, matched: res.matched}, r
		}
		if !ok {
			continue
		}
		res.matched = true
		if route.Group != "" {
			wk.groups[route.Group] = struct{}{}
		}
		for j, h := range route.Handlers {
			hres, r2, next := wk.handler(h, r, fmt.Sprintf("%s.handle[%d]", path, j))
			if !next {
				hres.matched = true
				return hres, r2
			}
			r = r2
		}
		if route.Terminal {
			res.outcome = answered
			res.answer = &answer{Status: http.StatusOK, By: "the end of terminal route " + path + " (no handler answered: 200, empty body)"}
			if _, isErr := r.Context().Value(caddyhttp.ErrorCtxKey).(error); isErr {
				res.outcome = fellThrough
			}
			return res, r
		}
	}
	return res, r
}

// match evaluates a route's matcher sets as Caddy does (any set; every
// matcher of a set), reporting the route. A client_certificate matcher is
// evaluated last in its set, and only when the others match (Caddy's order
// within a set is unspecified, and stops at the first that fails).
func (wk *routeWalker) match(sets caddyhttp.MatcherSets, r *http.Request, where string) (bool, string, error) {
	if len(sets) == 0 {
		return true, "", nil
	}
	for si, set := range sets {
		setWhere := where
		if len(sets) > 1 {
			setWhere = fmt.Sprintf("%s.match[%d]", where, si)
		}
		var ours []*Matcher
		var others []any
		for _, m := range set {
			if cm, ok := m.(*Matcher); ok {
				ours = append(ours, cm)
			} else {
				others = append(others, m)
			}
		}
		desc := describeMatchers(set)
		matched := true
		for _, m := range others {
			if e, isExpr := m.(*caddyhttp.MatchExpression); isExpr && strings.Contains(e.Expr, "client_certificate(") {
				wk.rep.Notes = appendOnce(wk.rep.Notes, "the expression matcher at "+setWhere+" calls client_certificate(): check evaluates it as Caddy would, at the current time (not --at), and does not explain its conditions")
			}
			ok, err := matchOne(m, r)
			if err != nil {
				wk.step("route", setWhere, desc+": a matcher fails: "+oneLine(err.Error()), nil)
				return false, matcherName(m) + " matcher at " + setWhere, err
			}
			if !ok {
				matched = false
				break
			}
		}
		if matched {
			for _, m := range ours {
				exp := m.explainAt(r.TLS.PeerCertificates, r.TLS.VerifiedChains, wk.at)
				recordDecision(r, &exp.Decision)
				ex := moduleFromExplanation("matcher", setWhere, exp)
				wk.rep.ClientCertificate = append(wk.rep.ClientCertificate, ex)
				text := "client_certificate matcher: matches (" + ex.summary() + ")"
				if !ex.Allowed {
					text = "client_certificate matcher: does not match (" + ex.Reason + ")"
				}
				wk.step("matcher", setWhere, text, ex)
				if !ex.Allowed {
					matched = false
					break
				}
			}
		}
		if matched {
			wk.step("route", setWhere, desc+": matches", nil)
			return true, "", nil
		}
		wk.step("route", setWhere, desc+": no match", nil)
	}
	return false, "", nil
}

func matchOne(m any, r *http.Request) (bool, error) {
	switch m := m.(type) {
	case caddyhttp.RequestMatcherWithError:
		return m.MatchWithError(r)
	//lint:ignore SA1019 matchers of other plugins may implement only Match, which Caddy still calls
	case caddyhttp.RequestMatcher:
		return m.Match(r), nil
	}
	return false, fmt.Errorf("matcher %T is not a request matcher", m)
}

// handler takes one handler. next reports whether the chain goes on to
// the next handler (with the request as the handler passed it on).
func (wk *routeWalker) handler(h caddyhttp.MiddlewareHandler, r *http.Request, where string) (walkResult, *http.Request, bool) {
	name := handlerName(h)
	switch h := h.(type) {
	case *Handler:
		ex := h.explainAt(r.TLS.PeerCertificates, r.TLS.VerifiedChains, wk.at)
		if ex.Decision.Allowed || !h.ReportOnly {
			recordDecision(r, &ex.Decision)
		}
		mc := moduleFromExplanation("handler", where, ex)
		mc.ReportOnly = h.ReportOnly
		wk.rep.ClientCertificate = append(wk.rep.ClientCertificate, mc)
		wk.step("handler", where, "client_certificate: "+mc.summary(), mc)
		if !mc.Allowed && h.ReportOnly {
			// Handler.authorize records the would-be denial, logs it and
			// passes the request on.
			recordOutcome(r, &ex.Decision, outcomeWouldDeny)
			wk.rep.wouldDeny(mc, "the request goes on")
			return walkResult{}, r, true
		}
		if !mc.Allowed {
			if wk.denied == nil {
				wk.denied = mc
			}
			return walkResult{outcome: failed, err: caddyhttp.Error(http.StatusForbidden, DenyError{Reason: mc.Reason}), by: "client_certificate handler at " + where}, r, false
		}
		return walkResult{}, r, true
	case *caddyhttp.Subroute:
		wk.step("handler", where, "subroute", nil)
		res, r2 := wk.routes(h.Routes, r, where)
		if res.outcome == failed && h.Errors != nil && len(h.Errors.Routes) > 0 {
			er := h.Errors.WithError(r2, res.err)
			eres, _ := wk.routes(h.Errors.Routes, er, where+".errors")
			if eres.outcome != fellThrough {
				return eres, r2, false
			}
			return walkResult{}, r2, true
		}
		if res.outcome != fellThrough {
			return res, r2, false
		}
		return walkResult{}, r2, true
	case *caddyhttp.Invoke:
		route, ok := wk.srv.NamedRoutes[h.Name]
		if !ok {
			return walkResult{outcome: failed, err: caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("invoke: no named route %q", h.Name)), by: "invoke at " + where}, r, false
		}
		wk.step("handler", where, "invoke "+h.Name, nil)
		res, r2 := wk.routes(caddyhttp.RouteList{*route}, r, where+"(named route "+h.Name+")")
		if res.outcome != fellThrough {
			return res, r2, false
		}
		return walkResult{}, r2, true
	}
	switch {
	case simulatedHandlers[name]:
		return wk.run(h, name, r, where)
	case passedHandlers[name]:
		wk.step("handler", where, name+": passed (it acts on the response)", nil)
		return walkResult{}, r, true
	}
	by := name + " at " + where
	note := name + ": not run offline"
	switch name {
	case "reverse_proxy":
		note = "reverse_proxy: not run (check contacts no upstream)"
	case "file_server", "acme_server", "metrics", "copy_response":
	default:
		wk.rep.Notes = append(wk.rep.Notes, "check does not know the handler "+name+" at "+where+": it stops there and reports it as the handler the request reaches")
	}
	wk.step("handler", where, note, nil)
	return walkResult{outcome: answered, answer: &answer{By: by}}, r, false
}

// run runs a handler that does no I/O on a recorder, with a next handler
// that records whether, and with which request, the chain goes on.
func (wk *routeWalker) run(h caddyhttp.MiddlewareHandler, name string, r *http.Request, where string) (walkResult, *http.Request, bool) {
	rec := httptest.NewRecorder()
	next := &capturedNext{}
	err := h.ServeHTTP(rec, r, next)
	by := name + " at " + where
	switch {
	case err != nil:
		wk.step("handler", where, name+": fails: "+oneLine(err.Error()), nil)
		return walkResult{outcome: failed, err: err, by: name + " handler at " + where}, r, false
	case next.called:
		wk.step("handler", where, name+": passes the request on", nil)
		return walkResult{}, next.r, true
	}
	wk.step("handler", where, fmt.Sprintf("%s: answers %d", name, rec.Code), nil)
	return walkResult{outcome: answered, answer: &answer{Status: rec.Code, Body: rec.Body.String(), By: by}}, r, false
}

type capturedNext struct {
	called bool
	r      *http.Request
}

func (c *capturedNext) ServeHTTP(_ http.ResponseWriter, r *http.Request) error {
	c.called, c.r = true, r
	return nil
}

func (wk *routeWalker) step(kind, where, text string, m *moduleCheck) {
	wk.rep.Steps = append(wk.rep.Steps, checkStep{Kind: kind, Where: where, Text: text, Module: m})
}

// handlerName is a handler's module name (static_response, reverse_proxy).
func handlerName(h any) string {
	if m, ok := h.(caddy.Module); ok {
		return strings.TrimPrefix(string(m.CaddyModule().ID), "http.handlers.")
	}
	return fmt.Sprintf("%T", h)
}

func matcherName(m any) string {
	if mod, ok := m.(caddy.Module); ok {
		return strings.TrimPrefix(string(mod.CaddyModule().ID), "http.matchers.")
	}
	return fmt.Sprintf("%T", m)
}

// describeMatchers summarizes a matcher set for humans, by module name and
// (shortened) configuration, sorted by name.
func describeMatchers(set caddyhttp.MatcherSet) string {
	parts := make([]string, 0, len(set))
	for _, m := range set {
		name := matcherName(m)
		if _, ok := m.(*Matcher); ok {
			parts = append(parts, name+" {…}")
			continue
		}
		js, err := json.Marshal(m)
		val := string(js)
		if err != nil {
			val = "…"
		}
		if len(val) > 60 {
			val = val[:57] + "…"
		}
		parts = append(parts, name+" "+val)
	}
	sort.Strings(parts)
	return "match " + strings.Join(parts, ", ")
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}
