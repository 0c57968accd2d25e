// conditions.go: the table of identity conditions. Each entry says, once,
// everything about one condition: its name, its deny reason, what a match
// vouches for on an unverified chain, how its values are parsed and
// compiled, how it tests a certificate's facts, and how it is described to
// humans. Compilation, evaluation, reasons, Caddyfile parsing and error
// messages are all driven by it.

package clientcertificate

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// trust says what a condition's match vouches for when nobody verified the
// chain.
type trust uint8

const (
	// vouchedByChain: a name; anyone can mint a certificate with any name,
	// so it counts only on a verified chain.
	vouchedByChain trust = iota
	// pinsKey: the key is pinned, but its holder can mint any names.
	pinsKey
	// pinsCertificate: the exact certificate, names included, is pinned.
	pinsCertificate
)

// holdsFunc tests a certificate's facts and the digests of the CA
// certificates of its verified chains. It has no side effects.
type holdsFunc func(f *contentFacts, issuers []caDigest) bool

// condition is one entry of the table.
type condition struct {
	name   string // as written in the Caddyfile and JSON
	reason string // the deny reason when it does not hold at top level
	trust  trust
	// readsIssuers: the test looks at the CA certificates of the verified
	// chains, which are then computed for it.
	readsIssuers bool
	// values returns the condition's values in a configuration.
	values func(*Conditions) *[]string
	// validate parses one value, for the Caddyfile; its error says what
	// would be accepted.
	validate func(string) error
	// compile parses every value and returns the test; a bad value is
	// reported as a *valueError.
	compile func(values []string) (holdsFunc, error)
	// offered is what the certificate offers for this condition, for
	// humans.
	offered func(f *contentFacts, issuers []caDigest) []string
	// index is the position in conditionTable (of the reason, in
	// metrics.go's reasonNames).
	index int
}

// valueError is a bad value of a condition, at index in its list.
type valueError struct {
	index int
	value string
	err   error
}

func (e *valueError) Error() string { return fmt.Sprintf("[%d] %q: %v", e.index, e.value, e.err) }

// defineCondition builds a table entry from a value parser, a constructor
// of the test from the parsed values (so it can precompute, e.g. a digest
// set) and what the certificate offers.
func defineCondition[T any](name string, tr trust, values func(*Conditions) *[]string,
	parse func(string) (T, error),
	test func(want []T) holdsFunc,
	offered func(f *contentFacts, issuers []caDigest) []string,
) *condition {
	return &condition{
		name:   name,
		reason: name + "_mismatch",
		trust:  tr,
		values: values,
		validate: func(v string) error {
			_, err := parse(v)
			return err
		},
		compile: func(values []string) (holdsFunc, error) {
			want := make([]T, 0, len(values))
			for i, v := range values {
				t, err := parse(v)
				if err != nil {
					return nil, &valueError{index: i, value: v, err: err}
				}
				want = append(want, t)
			}
			return test(want), nil
		},
		offered: offered,
	}
}

// conditionTable lists every condition, in the order users read them in
// the documentation and error messages. Evaluation follows this order, and
// stops at the first condition that does not hold; pins and whole names,
// the cheapest and most selective tests, come first.
var conditionTable = []*condition{
	defineCondition("thumbprint", pinsCertificate, func(c *Conditions) *[]string { return &c.Thumbprint },
		parseThumbprint,
		func(want [][]byte) holdsFunc {
			set := newDigestSet(want)
			return func(f *contentFacts, _ []caDigest) bool { return set.contains(&f.sha1, &f.sha256) }
		},
		func(f *contentFacts, _ []caDigest) []string {
			return []string{"SHA-1 " + strings.ToUpper(hex.EncodeToString(f.sha1[:])), "SHA-256 " + hex.EncodeToString(f.sha256[:])}
		}),
	defineCondition("spki", pinsKey, func(c *Conditions) *[]string { return &c.SPKI },
		parseSPKI,
		func(want [][32]byte) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return containsDigest(want, &f.spki) }
		},
		func(f *contentFacts, _ []caDigest) []string {
			return []string{base64.StdEncoding.EncodeToString(f.spki[:])}
		}),
	defineCondition("subject", vouchedByChain, func(c *Conditions) *[]string { return &c.Subject },
		parseDNKeys,
		func(want [][]dnKey) holdsFunc {
			keys := slices.Concat(want...) // every name each value denotes
			return func(f *contentFacts, _ []caDigest) bool { return containsDN(keys, f.subject, f.subjectOther) }
		},
		func(f *contentFacts, _ []caDigest) []string { return []string{f.subjectString} }),
	defineCondition("issuer", vouchedByChain, func(c *Conditions) *[]string { return &c.Issuer },
		parseDNKeys,
		func(want [][]dnKey) holdsFunc {
			keys := slices.Concat(want...) // every name each value denotes
			return func(f *contentFacts, _ []caDigest) bool { return containsDN(keys, f.issuer, f.issuerOther) }
		},
		func(f *contentFacts, _ []caDigest) []string { return []string{f.issuerString} }),
	defineCondition("common_name", vouchedByChain, func(c *Conditions) *[]string { return &c.CommonName },
		parseCommonName,
		func(want []string) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return allStrings(want, f.commonNames) }
		},
		func(f *contentFacts, _ []caDigest) []string { return f.commonNames }),
	defineCondition("dns_name", vouchedByChain, func(c *Conditions) *[]string { return &c.DNSName },
		parseDNSPattern,
		func(want []dnsPattern) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return matchAny(want, f.dnsNames) }
		},
		func(f *contentFacts, _ []caDigest) []string { return f.dnsNames }),
	defineCondition("email", vouchedByChain, func(c *Conditions) *[]string { return &c.Email },
		parseEmail,
		func(want []string) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return anyString(want, f.emails) }
		},
		func(f *contentFacts, _ []caDigest) []string { return f.emails }),
	defineCondition("uri", vouchedByChain, func(c *Conditions) *[]string { return &c.URI },
		parseURIPattern,
		func(want []uriPattern) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return matchAny(want, f.uris) }
		},
		func(f *contentFacts, _ []caDigest) []string { return f.uris }),
	defineCondition("ip", vouchedByChain, func(c *Conditions) *[]string { return &c.IP },
		parseIPPrefix,
		func(want []netip.Prefix) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return matchIP(want, f.ips) }
		},
		func(f *contentFacts, _ []caDigest) []string {
			out := make([]string, len(f.ips))
			for i, a := range f.ips {
				out[i] = a.String()
			}
			return out
		}),
	defineCondition("serial", vouchedByChain, func(c *Conditions) *[]string { return &c.Serial },
		parseSerial,
		func(want []string) holdsFunc {
			return func(f *contentFacts, _ []caDigest) bool { return containsString(want, f.serial) }
		},
		func(f *contentFacts, _ []caDigest) []string { return []string{f.serial} }),
	readingIssuers(defineCondition("issuer_thumbprint", vouchedByChain, func(c *Conditions) *[]string { return &c.IssuerThumbprint },
		parseThumbprint,
		func(want [][]byte) holdsFunc {
			set := newDigestSet(want)
			return func(_ *contentFacts, issuers []caDigest) bool {
				for i := range issuers {
					if set.contains(&issuers[i].sha1, &issuers[i].sha256) {
						return true
					}
				}
				return false
			}
		},
		func(_ *contentFacts, issuers []caDigest) []string {
			out := make([]string, len(issuers))
			for i := range issuers {
				out[i] = "SHA-1 " + strings.ToUpper(hex.EncodeToString(issuers[i].sha1[:]))
			}
			return out
		})),
}

// readingIssuers marks a condition whose test reads the CA certificates of
// the verified chains (never those a client merely presented).
func readingIssuers(c *condition) *condition {
	c.readsIssuers = true
	return c
}

// conditionsByName finds a table entry by the name users write. Building
// it numbers the entries (index).
var conditionsByName = func() map[string]*condition {
	m := make(map[string]*condition, len(conditionTable))
	for i, c := range conditionTable {
		c.index = i
		m[c.name] = c
	}
	return m
}()

// conditionNames lists the conditions for messages, joined by sep, with
// last before the final one ("a, b or c").
func conditionNames(sep, last string) string {
	var b strings.Builder
	for i, c := range conditionTable {
		switch {
		case i == 0:
		case i == len(conditionTable)-1:
			b.WriteString(last)
		default:
			b.WriteString(sep)
		}
		b.WriteString(c.name)
	}
	return b.String()
}

// conditionTest is one compiled condition of a policy or identity.
type conditionTest struct {
	cond  *condition
	want  []string // the values as configured, for humans
	holds holdsFunc
}

// describe says, for humans, whether the test holds for a certificate and
// why: what the certificate offers against what the policy wants.
func (t *conditionTest) describe(f *contentFacts, issuers []caDigest) string {
	verdict := "holds"
	if !t.holds(f, issuers) {
		verdict = "does not hold"
	}
	return fmt.Sprintf("%s %s: the certificate has %s; the policy wants %s",
		t.cond.name, verdict, quoteList(t.cond.offered(f, issuers), "nothing"), quoteList(t.want, "nothing"))
}

// maxDescribedValues bounds the values a description quotes: a client can
// present a certificate with thousands of names.
const maxDescribedValues = 8

func quoteList(values []string, none string) string {
	if len(values) == 0 {
		return none
	}
	n := min(len(values), maxDescribedValues)
	q := make([]string, n)
	for i, v := range values[:n] {
		q[i] = strconv.Quote(v)
	}
	if len(values) > n {
		q = append(q, fmt.Sprintf("and %d more", len(values)-n))
	}
	if len(values) == 1 {
		return q[0]
	}
	return "one of " + strings.Join(q, ", ")
}

// compiledConditions are the compiled conditions of a policy's top level
// or of one identity, in table order.
type compiledConditions struct {
	tests []conditionTest
	// What the conditions pin, for trustworthyUnverified.
	certPinned   bool
	keyPinned    bool
	hasNames     bool // some condition is trustworthy only on a verified chain
	readsIssuers bool
}

func (c *compiledConditions) empty() bool { return len(c.tests) == 0 }

// compileConditions compiles the conditions of one configuration block;
// path prefixes error messages (e.g. "identities[1].").
func compileConditions(path string, c *Conditions) (compiledConditions, error) {
	var out compiledConditions
	var errs []error
	for _, cond := range conditionTable {
		values := *cond.values(c)
		if len(values) == 0 {
			continue
		}
		holds, err := cond.compile(values)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s%s%v", path, cond.name, err))
			continue
		}
		out.tests = append(out.tests, conditionTest{cond: cond, want: values, holds: holds})
		switch cond.trust {
		case pinsCertificate:
			out.certPinned = true
		case pinsKey:
			out.keyPinned = true
		default:
			out.hasNames = true
		}
		out.readsIssuers = out.readsIssuers || cond.readsIssuers
	}
	return out, errors.Join(errs...)
}

// check returns the first test that does not hold, or nil when all hold.
func (c *compiledConditions) check(f *contentFacts, issuers []caDigest) *conditionTest {
	for i := range c.tests {
		if !c.tests[i].holds(f, issuers) {
			return &c.tests[i]
		}
	}
	return nil
}

// trustworthyUnverified reports whether the AND of the top-level conditions
// and an identity (nil: none) can be trusted without a verified chain: a
// thumbprint pins the whole certificate, names included, while conditions
// on names alone, or next to a key pin only, could be forged by anyone (or
// by the key holder) with a self-signed certificate.
func trustworthyUnverified(top, id *compiledConditions) bool {
	certPinned, keyPinned, hasNames := top.certPinned, top.keyPinned, top.hasNames
	if id != nil {
		certPinned = certPinned || id.certPinned
		keyPinned = keyPinned || id.keyPinned
		hasNames = hasNames || id.hasNames
	}
	return certPinned || (keyPinned && !hasNames)
}

func containsDigest(set [][32]byte, d *[32]byte) bool {
	for i := range set {
		if set[i] == *d {
			return true
		}
	}
	return false
}

// containsDN reports whether a certificate name's standard key, or one of
// its other keys (nameFacts: typed, and as .NET displays it), is among the
// policy's. A name without keys never matches.
func containsDN(set []dnKey, standard dnKey, others []dnKey) bool {
	if standard == "" {
		return false
	}
	for _, s := range set {
		if s == standard {
			return true
		}
	}
	for _, k := range others {
		for _, s := range set {
			if s == k {
				return true
			}
		}
	}
	return false
}

func containsString(set []string, s string) bool {
	if s == "" {
		return false
	}
	for _, v := range set {
		if v == s {
			return true
		}
	}
	return false
}

func anyString(want, have []string) bool {
	for _, h := range have {
		if containsString(want, h) {
			return true
		}
	}
	return false
}

// allStrings reports whether have is non-empty and each of its values is in
// want. Used for common names: a subject with two CNs must not pass on one
// while the other, unlisted, is what placeholders and logs report.
func allStrings(want, have []string) bool {
	for _, h := range have {
		if !containsString(want, h) {
			return false
		}
	}
	return len(have) > 0
}

// matchAny reports whether any SAN in have matches any pattern in want.
func matchAny[P interface{ match(string) bool }](want []P, have []string) bool {
	for _, h := range have {
		for _, w := range want {
			if w.match(h) {
				return true
			}
		}
	}
	return false
}

func matchIP(want []netip.Prefix, have []netip.Addr) bool {
	for _, h := range have {
		for _, w := range want {
			if w.Contains(h) {
				return true
			}
		}
	}
	return false
}
