// caddyfile.go: the Caddyfile glue shared by the handler, the matcher and
// the verifier: one policy block, parsed and validated with file and line.

package clientcertificate

import (
	"fmt"
	"strconv"

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

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens.
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return h.Policy.unmarshalCaddyfile(d)
}

// UnmarshalCaddyfile sets up the matcher from Caddyfile tokens:
//
//	@name client_certificate {
//		<policy>
//	}
func (m *Matcher) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return m.Policy.unmarshalCaddyfile(d)
}

// UnmarshalCaddyfile sets up the verifier from Caddyfile tokens:
//
//	client_auth {
//		verifier client_certificate {
//			<policy>
//		}
//	}
func (v *Verifier) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return v.Policy.unmarshalCaddyfile(d)
}

// unmarshalCaddyfile parses the policy block shared by all three modules:
//
//	client_certificate {
//		trust_pool <module> [...]
//		require_unexpired
//		allow_unverified
//		verify_cache_size <n>
//		<condition> <value>...
//		identity [<name>] {
//			<condition> <value>...
//		}
//	}
//
// Every value is parsed here, so a typo fails `caddy adapt` with the file
// and line rather than at run time.
func (p *Policy) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
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
		default:
			handled, err := unmarshalCondition(d, &p.Conditions)
			if err != nil {
				return err
			}
			if !handled {
				return d.Errf("unrecognized subdirective '%s'; want trust_pool, require_unexpired, allow_unverified, verify_cache_size, identity, or a condition: %s", d.Val(), conditionNames(", ", ", "))
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

// Interface guards
var (
	_ caddyfile.Unmarshaler = (*Handler)(nil)
	_ caddyfile.Unmarshaler = (*Matcher)(nil)
	_ caddyfile.Unmarshaler = (*Verifier)(nil)
)
