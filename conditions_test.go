// conditions_test.go: the table of conditions agrees with the JSON fields
// of Conditions, and describes decisions for humans.

package clientcertificate

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Every field of Conditions is one table entry, named as in JSON, and every
// entry reads its own field: adding a field without an entry (or the
// reverse) fails here.
func TestConditionTableMatchesTheConfiguration(t *testing.T) {
	typ := reflect.TypeFor[Conditions]()
	if typ.NumField() != len(conditionTable) {
		t.Fatalf("Conditions has %d fields, the table %d entries", typ.NumField(), len(conditionTable))
	}
	for i := 0; i < typ.NumField(); i++ {
		field := typ.Field(i)
		name, _, _ := strings.Cut(field.Tag.Get("json"), ",")
		cond, ok := conditionsByName[name]
		if !ok {
			t.Errorf("field %s (json %q) has no table entry", field.Name, name)
			continue
		}
		var c Conditions
		reflect.ValueOf(&c).Elem().Field(i).Set(reflect.ValueOf([]string{"x"}))
		if got := *cond.values(&c); len(got) != 1 || got[0] != "x" {
			t.Errorf("entry %q does not read field %s", name, field.Name)
		}
		if cond.reason != name+"_mismatch" {
			t.Errorf("entry %q has reason %q", name, cond.reason)
		}
	}
}

// What a condition vouches for without a verified chain: only the
// thumbprint pins names; the spki pin pins the key.
func TestConditionTrust(t *testing.T) {
	for _, c := range conditionTable {
		want := vouchedByChain
		switch c.name {
		case "thumbprint":
			want = pinsCertificate
		case "spki":
			want = pinsKey
		}
		if c.trust != want {
			t.Errorf("%s: trust %d, want %d", c.name, c.trust, want)
		}
		if c.readsIssuers != (c.name == "issuer_thumbprint") {
			t.Errorf("%s: readsIssuers %v", c.name, c.readsIssuers)
		}
	}
}

func TestConditionDescribe(t *testing.T) {
	s := pki(t)
	p := compiled(t, Policy{Conditions: Conditions{
		Subject:    []string{"CN=station-007,OU=Stations,O=Contoso Weather,C=US", goodSubject},
		CommonName: []string{"station-007"},
	}}, nil)
	f := factsOf(s.Good.Cert)
	failed := p.top.check(f, nil)
	if failed == nil || failed.cond.name != "common_name" {
		t.Fatalf("first failing condition %v, want common_name", failed)
	}
	if got, want := failed.describe(f, nil), `common_name does not hold: the certificate has "station-042"; the policy wants "station-007"`; got != want {
		t.Errorf("describe = %s\nwant       %s", got, want)
	}
	if got, want := p.top.tests[0].describe(f, nil), `subject holds: the certificate has "`+goodSubject+`"; the policy wants one of "CN=station-007,OU=Stations,O=Contoso Weather,C=US", "`+goodSubject+`"`; got != want {
		t.Errorf("describe = %s\nwant       %s", got, want)
	}
}

// A client can present thousands of names; a description quotes a few.
func TestConditionDescribeIsBounded(t *testing.T) {
	p := compiled(t, Policy{Conditions: Conditions{DNSName: []string{"station-042.example"}}}, nil)
	names := make([]string, 20)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i) + ".example"
	}
	got := p.top.tests[0].describe(&contentFacts{dnsNames: names}, nil)
	want := `dns_name does not hold: the certificate has one of "n0.example", "n1.example", "n2.example", "n3.example", "n4.example", "n5.example", "n6.example", "n7.example", and 12 more; the policy wants "station-042.example"`
	if got != want {
		t.Errorf("describe = %s\nwant       %s", got, want)
	}
}
