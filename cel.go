// cel.go: the matcher inside CEL `expression` matchers, as
// client_certificate({'thumbprint': ['…']}): the map literal is checked and
// turned into the matcher's JSON config, and the matcher is loaded and
// provisioned once, when Caddy compiles the expression.

package clientcertificate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

const (
	// celMacroName is what users write in an expression.
	celMacroName = "client_certificate"
	// celFuncName is the function the macro expands to, as Caddy names
	// them (header_matcher_request_map).
	celFuncName = "client_certificate_request_map"
)

// celFlags are the policy flags a CEL map may set. Caddy's map macro takes
// only string and list-of-string values, so a flag is the string 'true' or
// 'false'.
var celFlags = []string{"require_unexpired", "allow_unverified"}

// celModuleOnly are the policy fields an expression cannot hold, with why.
// They stay with the matcher module, which can sit beside the expression in
// the same named matcher (a named matcher holds when all its matchers do).
var celModuleOnly = map[string]string{
	"trust_pool":        "a trust_pool is a module (tls.ca_pool.source), not a string",
	"revocation":        "revocation is a block of settings, not a string",
	"identities":        "identities are named sets of conditions, not strings",
	"identity":          "identities are named sets of conditions, not strings",
	"verify_cache_size": "it sizes the trust_pool cache, and an expression has no trust_pool",
}

// celMatcherImpl is caddyhttp.CELMatcherImpl; a test replaces it to check
// that its failure does not fail expressions that do not use us.
var celMatcherImpl = caddyhttp.CELMatcherImpl

// celLibrary is the CEL library behind Matcher.CELLibrary. Every
// `expression` matcher of every config asks every matcher module for its
// library, so this only declares the macro and function: nothing is parsed
// or compiled until an expression calls client_certificate(), and it never
// fails. Were Caddy's CELMatcherImpl to fail, expressions that use
// client_certificate() would fail to compile (it would be undeclared), and
// the others would not notice.
func celLibrary(ctx caddy.Context) cel.Library {
	lib, err := celMatcherImpl(celMacroName, celFuncName, []*cel.Type{caddyhttp.CELTypeJSON}, celMatcherFactory(ctx))
	if err != nil {
		ctx.Logger().Error("client_certificate is not available in CEL expressions", zap.Error(err))
		return caddyhttp.NewMatcherCELLibrary(nil, nil)
	}
	// celLiteralsOnly runs first, so a map that is not a constant is
	// refused before Caddy's decorator would leave it to run per request.
	prg := append([]cel.ProgramOption{cel.CustomDecorator(celLiteralsOnly())}, lib.ProgramOptions()...)
	return caddyhttp.NewMatcherCELLibrary(lib.CompileOptions(), prg)
}

// celMatcherFactory returns the factory Caddy's CEL decorator calls once
// per client_certificate() call when it plans the expression (at
// Provision, so `caddy validate` reports a bad map): it loads a Matcher
// exactly as from JSON, so it is provisioned and validated like one, logs
// as one and sets the same placeholders.
func celMatcherFactory(ctx caddy.Context) caddyhttp.CELMatcherWithErrorFactory {
	return func(data ref.Val) (caddyhttp.RequestMatcherWithError, error) {
		raw, err := celPolicyJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", celMacroName, err)
		}
		mod, err := ctx.LoadModuleByID("http.matchers."+celMacroName, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", celMacroName, err)
		}
		return mod.(*Matcher), nil
	}
}

// celLiteralsOnly returns the decorator that refuses, when the expression
// is compiled, a client_certificate() whose map is not a constant (a
// placeholder, a concatenation: Caddy would otherwise build a policy on
// every request, from request data, unprovisioned) or repeats a key (CEL
// keeps one of the two lists, silently). It sees each map literal before
// CEL folds it into a constant, and the call after.
func celLiteralsOnly() interpreter.InterpretableDecorator {
	var repeated map[int64]string // map literal id → a key it repeats; made when needed
	return func(i interpreter.Interpretable) (interpreter.Interpretable, error) {
		if c, ok := i.(interpreter.InterpretableConstructor); ok && c.Type() == types.MapType {
			if key, ok := celRepeatedKey(c.InitVals()); ok {
				if repeated == nil {
					repeated = make(map[int64]string)
				}
				repeated[c.ID()] = key
			}
			return i, nil
		}
		call, ok := i.(interpreter.InterpretableCall)
		if !ok || call.OverloadID() != celFuncName {
			return i, nil
		}
		args := call.Args()
		if len(args) == 2 {
			if key, ok := repeated[args[1].ID()]; ok {
				return nil, fmt.Errorf("%s: key %q given twice; give each key once, with all its values in one list", celMacroName, key)
			}
			if _, ok := args[1].(interpreter.InterpretableConst); ok {
				return i, nil
			}
		}
		return nil, errors.New(celMacroName + ": the map and its values must be literals: no placeholders, concatenation or variables " +
			"(the policy is compiled once, with the expression; it cannot depend on the request)")
	}
}

// celRepeatedKey finds a constant string key that a map literal's
// key/value list holds twice.
func celRepeatedKey(kv []interpreter.InterpretableV2) (string, bool) {
	seen := make(map[types.String]bool, len(kv)/2)
	for j := 0; j+1 < len(kv); j += 2 {
		c, ok := kv[j].(interpreter.InterpretableConst)
		if !ok {
			continue
		}
		if k, ok := c.Value().(types.String); ok {
			if seen[k] {
				return string(k), true
			}
			seen[k] = true
		}
	}
	return "", false
}

// celPolicyJSON checks the map of client_certificate({...}) and returns
// the matcher's JSON config. Each error names the key (and the value) and
// says what is accepted; values are parsed by the Caddyfile's parsers.
func celPolicyJSON(data ref.Val) (json.RawMessage, error) {
	m, ok := data.(traits.Mapper)
	if !ok {
		return nil, fmt.Errorf("want a map such as {'thumbprint': ['…']}, got %s", data.Type().TypeName())
	}
	var keys []string
	for it := m.Iterator(); it.HasNext() == types.True; {
		k := it.Next()
		s, ok := k.(types.String)
		if !ok {
			return nil, fmt.Errorf("map key %v: want a string", k)
		}
		keys = append(keys, string(s))
	}
	slices.Sort(keys) // the first error is the same on every run
	config := make(map[string]any, len(keys))
	for _, key := range keys {
		value := m.Get(types.String(key))
		if cond, ok := conditionsByName[key]; ok {
			values, err := celConditionValues(key, value, cond)
			if err != nil {
				return nil, err
			}
			config[key] = values
			continue
		}
		if slices.Contains(celFlags, key) {
			s, ok := value.(types.String)
			if !ok || (s != "true" && s != "false") {
				return nil, fmt.Errorf("%s %s: want 'true' or 'false' (a string)", key, celShow(value))
			}
			config[key] = s == "true"
			continue
		}
		if why, ok := celModuleOnly[key]; ok {
			return nil, fmt.Errorf("%s is not available in an expression (%s); put a client_certificate matcher with it "+
				"in the same named matcher as the expression, e.g. @name { client_certificate { %s … } expression … }", key, why, key)
		}
		return nil, fmt.Errorf("unknown key %q; want a condition (%s) or a flag (%s)", key, conditionNames(", ", ", "), strings.Join(celFlags, ", "))
	}
	return json.Marshal(config)
}

// celConditionValues returns a condition's values: a list of strings, or
// one string (one value: a DN's commas do not split it), each parsed as
// Provision will.
func celConditionValues(key string, value ref.Val, cond *condition) ([]string, error) {
	if s, ok := value.(types.String); ok {
		if err := cond.validate(string(s)); err != nil {
			return nil, fmt.Errorf("%s %q: %v", key, string(s), err)
		}
		return []string{string(s)}, nil
	}
	list, ok := value.(traits.Lister)
	if !ok {
		return nil, fmt.Errorf("%s %s: want a list of strings or one string", key, celShow(value))
	}
	n, _ := list.Size().(types.Int)
	if n == 0 {
		// An empty list would drop the condition, and widen the policy.
		return nil, fmt.Errorf("%s: empty list; give at least one value", key)
	}
	values := make([]string, 0, n)
	for i := types.Int(0); i < n; i++ {
		s, ok := list.Get(i).(types.String)
		if !ok {
			return nil, fmt.Errorf("%s[%d] %s: want a string", key, i, celShow(list.Get(i)))
		}
		if err := cond.validate(string(s)); err != nil {
			return nil, fmt.Errorf("%s[%d] %q: %v", key, i, string(s), err)
		}
		values = append(values, string(s))
	}
	return values, nil
}

// celShow shows a CEL value in a message: a string quoted, else its type.
func celShow(v ref.Val) string {
	if s, ok := v.(types.String); ok {
		return fmt.Sprintf("%q", string(s))
	}
	return "(" + v.Type().TypeName() + ")"
}

// Interface guards
var _ caddyhttp.CELLibraryProducer = (*Matcher)(nil)
