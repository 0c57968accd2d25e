// caddyfile.go: the Caddyfile glue shared by the handler, the matcher and
// the verifier: one policy block, parsed and validated with file and line.

package clientcertificate

import (
	"fmt"
	"strconv"

	"github.com/dustin/go-humanize"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddytls"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("client_certificate", parseHandlerCaddyfile)
	httpcaddyfile.RegisterDirectiveOrder("client_certificate", httpcaddyfile.Before, "basic_auth")
}

// parseHandlerCaddyfile sets up the handler from Caddyfile tokens:
//
//	client_certificate [<matcher>] {
//		<policy>
//	}
func parseHandlerCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	var handler Handler
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return &handler, err
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens: the policy,
// and
//
//	report_only
//	forward rfc9440 [chain]
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return h.Policy.unmarshalCaddyfile(d, moduleSettings{module: moduleHandler, reportOnly: &h.ReportOnly, forward: &h.Forward})
}

// UnmarshalCaddyfile sets up the matcher from Caddyfile tokens:
//
//	@name client_certificate {
//		<policy>
//	}
func (m *Matcher) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return m.Policy.unmarshalCaddyfile(d, moduleSettings{module: moduleMatcher})
}

// UnmarshalCaddyfile sets up the verifier from Caddyfile tokens:
//
//	client_auth {
//		verifier client_certificate {
//			<policy>
//			report_only
//		}
//	}
func (v *Verifier) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return v.Policy.unmarshalCaddyfile(d, moduleSettings{module: moduleVerifier, reportOnly: &v.ReportOnly})
}

// moduleSettings are where the subdirectives that only some modules take
// go; a nil field is a subdirective the module refuses, with a message
// saying why.
type moduleSettings struct {
	module     string // handler, matcher or verifier
	reportOnly *bool
	forward    **Forward
}

// names lists the module's own subdirectives for messages, each followed
// by ", ".
func (s moduleSettings) names() string {
	out := ""
	if s.reportOnly != nil {
		out += "report_only, "
	}
	if s.forward != nil {
		out += "forward, "
	}
	return out
}

// unmarshalReportOnly parses `report_only`.
func (s moduleSettings) unmarshalReportOnly(d *caddyfile.Dispenser) error {
	if s.reportOnly == nil {
		return d.Err("report_only is not available in the client_certificate matcher: a matcher that always matches " +
			"would route every request as if allowed, which is meaningless; put report_only in the client_certificate " +
			"handler (or the verifier), which logs and counts what the policy would deny and lets the request go on")
	}
	if d.NextArg() {
		return d.Errf("report_only takes no value, got '%s'", d.Val())
	}
	*s.reportOnly = true
	return nil
}

// unmarshalForward parses `forward rfc9440 [chain]`.
func (s moduleSettings) unmarshalForward(d *caddyfile.Dispenser) error {
	if s.forward == nil {
		return d.Errf("forward is not available in the client_certificate %s: only the client_certificate handler "+
			"passes the certificate of an allowed request on to the next handlers and upstreams", s.module)
	}
	if *s.forward != nil {
		return d.Err("forward given twice")
	}
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Err("forward needs a format: forward rfc9440 [chain]")
	}
	if args[0] != forwardRFC9440 {
		return d.Errf("forward format '%s': want rfc9440 (Client-Cert and Client-Cert-Chain, RFC 9440)", args[0])
	}
	f := &Forward{Format: args[0]}
	for _, a := range args[1:] {
		if a != "chain" || f.Chain {
			return d.Errf("forward rfc9440: unexpected '%s'; want at most the word chain", a)
		}
		f.Chain = true
	}
	*s.forward = f
	return nil
}

// unmarshalCaddyfile parses the policy block shared by all three modules:
//
//	client_certificate {
//		trust_pool <module> [...]
//		require_unexpired
//		allow_unverified
//		verify_cache_size <n>
//		disable_metrics
//		revocation {
//			<revocation setting>...
//		}
//		<condition> <value>...
//		identity [<name>] {
//			<condition> <value>...
//		}
//	}
//
// plus the module's own subdirectives (moduleSettings). Every value is
// parsed here, so a typo fails `caddy adapt` with the file and line rather
// than at run time.
func (p *Policy) unmarshalCaddyfile(d *caddyfile.Dispenser, s moduleSettings) error {
	d.Next() // consume the directive or module name
	if d.NextArg() {
		return d.Errf("unexpected argument '%s': client_certificate takes its policy in a block { ... }", d.Val())
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch d.Val() {
		case "trust_pool":
			if p.TrustPoolRaw != nil {
				return d.Err("trust_pool given twice; one pool source per policy (use a module that takes several certificates, such as 'file' or 'inline')")
			}
			if !d.NextArg() {
				return d.ArgErr()
			}
			modName := d.Val()
			mod, err := caddyfile.UnmarshalModule(d, "tls.ca_pool.source."+modName)
			if err != nil {
				return err
			}
			if _, ok := mod.(caddytls.CA); !ok {
				return d.Errf("trust_pool module '%s' is not a certificate pool provider", modName)
			}
			p.TrustPoolRaw = caddyconfig.JSONModuleObject(mod, "provider", modName, nil)
		case "require_unexpired":
			if d.NextArg() {
				return d.ArgErr()
			}
			p.RequireUnexpired = true
		case "allow_unverified":
			if d.NextArg() {
				return d.ArgErr()
			}
			p.AllowUnverified = true
		case "disable_metrics":
			if d.NextArg() {
				return d.Errf("disable_metrics takes no value, got '%s'", d.Val())
			}
			p.DisableMetrics = true
		case "report_only":
			if err := s.unmarshalReportOnly(d); err != nil {
				return err
			}
		case "forward":
			if err := s.unmarshalForward(d); err != nil {
				return err
			}
		case "verify_cache_size":
			if p.VerifyCacheSize != 0 {
				return d.Err("verify_cache_size given twice")
			}
			if !d.NextArg() {
				return d.ArgErr()
			}
			n, err := strconv.Atoi(d.Val())
			if err != nil || n < 1 {
				return d.Errf("verify_cache_size '%s': want a positive number of entries", d.Val())
			}
			p.VerifyCacheSize = n
			if d.NextArg() {
				return d.ArgErr()
			}
		case "identity":
			if err := p.unmarshalIdentity(d); err != nil {
				return err
			}
		case "revocation":
			if p.Revocation != nil {
				return d.Err("revocation given twice; put all revocation settings in one block")
			}
			r, err := unmarshalRevocation(d)
			if err != nil {
				return err
			}
			p.Revocation = r
		default:
			handled, err := unmarshalCondition(d, &p.Conditions)
			if err != nil {
				return err
			}
			if !handled {
				return d.Errf("unrecognized subdirective '%s'; want trust_pool, require_unexpired, allow_unverified, verify_cache_size, revocation, identity, disable_metrics, %sor a condition: %s", d.Val(), s.names(), conditionNames(", ", ", "))
			}
		}
	}
	if d.Next() {
		return d.Errf("client_certificate given twice here; put all conditions in one block")
	}
	return nil
}

// unmarshalIdentity parses `identity [<name>] { <condition> <value>... }`.
func (p *Policy) unmarshalIdentity(d *caddyfile.Dispenser) error {
	var id Identity
	args := d.RemainingArgs()
	switch len(args) {
	case 0:
	case 1:
		id.Name = args[0]
		for _, other := range p.Identities {
			if id.Name != "" && other.Name == id.Name {
				return d.Errf("duplicate identity name '%s'; identity names must be unique", id.Name)
			}
		}
	default:
		return d.Errf("identity takes at most one name, got %d arguments", len(args))
	}
	count := 0
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		handled, err := unmarshalCondition(d, &id.Conditions)
		if err != nil {
			return err
		}
		if !handled {
			return d.Errf("unrecognized identity condition '%s'; want one of: %s", d.Val(), conditionNames(", ", ", "))
		}
		count++
	}
	if count == 0 {
		return d.Errf("identity '%s' has no conditions; give at least one of: %s", id.Name, conditionNames(", ", ", "))
	}
	p.Identities = append(p.Identities, id)
	return nil
}

// unmarshalCondition parses one condition line into c, validating each
// value with the parser Provision uses. It reports false when the current
// token is not a condition.
func unmarshalCondition(d *caddyfile.Dispenser, c *Conditions) (bool, error) {
	name := d.Val()
	cond, ok := conditionsByName[name]
	if !ok {
		return false, nil
	}
	args := d.RemainingArgs()
	if len(args) == 0 {
		return true, d.Errf("%s needs at least one value", name)
	}
	for _, v := range args {
		if err := cond.validate(v); err != nil {
			hint := ""
			if (name == "subject" || name == "issuer") && len(args) > 1 {
				hint = fmt.Sprintf(` (each argument is one DN: quote a DN that contains spaces, e.g. %s "CN=station-042, O=Contoso Weather")`, name)
			}
			return true, d.Errf("%s '%s': %v%s", name, v, err, hint)
		}
	}
	dst := cond.values(c)
	*dst = append(*dst, args...)
	return true, nil
}

// unmarshalRevocation parses the revocation block:
//
//	revocation {
//		crl <file-or-http(s)-url>...
//		crl_from_cdp
//		ocsp [<responder-url>]
//		check leaf|chain
//		on_unknown deny|allow
//		stale_grace <duration>
//		refresh <duration>
//		recheck <duration>
//		timeout <duration>
//		max_crl_size <size>
//	}
//
// Each value is checked here, with the file and line, by the same rules
// as Provision's.
func unmarshalRevocation(d *caddyfile.Dispenser) (*Revocation, error) {
	if d.NextArg() {
		return nil, d.Errf("unexpected argument '%s': revocation takes its settings in a block { ... }", d.Val())
	}
	r := new(Revocation)
	seen := make(map[string]bool)
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] && name != "crl" {
			return nil, d.Errf("revocation: %s given twice", name)
		}
		seen[name] = true
		args := d.RemainingArgs()
		one := func(what string) (string, error) {
			if len(args) != 1 {
				return "", d.Errf("revocation: %s takes one value: %s", name, what)
			}
			return args[0], nil
		}
		switch name {
		case "crl":
			if len(args) == 0 {
				return nil, d.Errf("revocation: crl needs at least one file path or http(s) URL")
			}
			for _, loc := range args {
				if err := checkCRLLocation(loc); err != nil {
					return nil, d.Errf("revocation: crl '%s': %v", loc, err)
				}
			}
			r.CRL = append(r.CRL, args...)
		case "crl_from_cdp":
			if len(args) != 0 {
				return nil, d.Errf("revocation: crl_from_cdp takes no value, got '%s'", args[0])
			}
			r.CRLFromCDP = true
		case "ocsp":
			switch len(args) {
			case 0:
				r.OCSP = true
			case 1:
				if err := checkFetchURL(args[0]); err != nil {
					return nil, d.Errf("revocation: ocsp responder '%s': %v", args[0], err)
				}
				r.OCSP, r.OCSPResponder = true, args[0]
			default:
				return nil, d.Errf("revocation: ocsp takes at most one responder URL, got %d values", len(args))
			}
		case "check":
			v, err := one("leaf or chain")
			if err != nil {
				return nil, err
			}
			if v != "leaf" && v != "chain" {
				return nil, d.Errf("revocation: check '%s': want leaf or chain", v)
			}
			r.Check = v
		case "on_unknown":
			v, err := one("deny or allow")
			if err != nil {
				return nil, err
			}
			if v != "deny" && v != "allow" {
				return nil, d.Errf("revocation: on_unknown '%s': want deny or allow", v)
			}
			r.OnUnknown = v
		case "stale_grace", "refresh", "recheck", "timeout":
			v, err := one("a duration such as 30s, 5m or 1h")
			if err != nil {
				return nil, err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return nil, d.Errf("revocation: %s '%s': want a duration such as 30s, 5m or 1h", name, v)
			}
			minimum := minRevocationDuration
			if name == "stale_grace" {
				minimum = 0
			}
			if dur < minimum {
				return nil, d.Errf("revocation: %s '%s': want at least %s", name, v, minimum)
			}
			switch name {
			case "stale_grace":
				r.StaleGrace = caddy.Duration(dur)
			case "refresh":
				r.Refresh = caddy.Duration(dur)
			case "recheck":
				r.Recheck = caddy.Duration(dur)
			case "timeout":
				r.Timeout = caddy.Duration(dur)
			}
		case "max_crl_size":
			v, err := one("a size such as 64MiB")
			if err != nil {
				return nil, err
			}
			size, err := humanize.ParseBytes(v)
			if err != nil || size == 0 || size > 1<<40 {
				return nil, d.Errf("revocation: max_crl_size '%s': want a size such as 16MiB or 64MiB", v)
			}
			r.MaxCRLSize = int64(size)
		default:
			return nil, d.Errf("revocation: unrecognized setting '%s'; want crl, crl_from_cdp, ocsp, check, on_unknown, stale_grace, refresh, recheck, timeout or max_crl_size", name)
		}
	}
	if len(r.CRL) == 0 && !r.CRLFromCDP && !r.OCSP {
		return nil, d.Err("revocation: no source; give crl, crl_from_cdp or ocsp")
	}
	return r, nil
}

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*Matcher)(nil)
	_ caddyfile.Unmarshaler = (*Verifier)(nil)
)
