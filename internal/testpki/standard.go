// standard.go: the standard test PKI (Standard): root, intermediate, the
// client leaves every test uses, and the forgeries.

package testpki

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"net"
	"time"
)

// Set is the standard test PKI built by [Standard]. Unless noted, client
// leaves that reuse Good's identity copy both its subject and its
// subjectAltNames, so only the property under test differs from Good.
type Set struct {
	// Root is "CN=Contoso Weather Root CA,O=Contoso Weather,C=US".
	Root *CA
	// Intermediate is "CN=Contoso Weather Issuing CA,O=Contoso Weather,C=US",
	// signed by Root. It has no extendedKeyUsage, so it may issue client
	// and server certificates.
	Intermediate *CA
	// OtherRoot is an unrelated root: "CN=Fabrikam Root CA,O=Fabrikam,C=US".
	OtherRoot *CA
	// RogueRoot is a self-signed CA whose subject is byte-for-byte
	// Intermediate's subject, with a different key.
	RogueRoot *CA

	// Server is signed by Root for localhost, 127.0.0.1 and ::1, with
	// ExtKeyUsage ServerAuth.
	Server *Leaf

	// Good is signed by Intermediate:
	// CN=station-042,OU=Stations,O=Contoso Weather,C=US with DNS
	// station-042.stations.contoso-weather.example, email
	// station-042@contoso-weather.example, URI
	// spiffe://contoso-weather.example/stations/042 and IP 10.42.0.42.
	Good *Leaf
	// Other is signed by Intermediate:
	// CN=station-007,OU=Stations,O=Contoso Weather,C=US with the matching
	// SANs for station 007 (IP 10.42.0.7).
	Other *Leaf
	// Expired has Good's identity and expired 24 hours ago
	// (valid from now-48h to now-24h).
	Expired *Leaf
	// NotYetValid has Good's identity and is valid from now+24h to now+48h.
	NotYetValid *Leaf
	// ServerAuthOnly has Good's identity and ExtKeyUsage ServerAuth only.
	ServerAuthOnly *Leaf
	// FromOtherCA has Good's identity and is signed by OtherRoot.
	FromOtherCA *Leaf
	// FromRogueCA has Good's identity and is signed by RogueRoot, so its
	// issuer DN equals the real Intermediate's subject DN. Its Chain is
	// empty.
	FromRogueCA *Leaf
	// SelfSignedGood is a self-signed certificate with Good's identity.
	SelfSignedGood *Leaf
	// CommaCN is signed by Intermediate with subject
	// CN=Contoso Weather\, Inc,O=Contoso Weather,C=US (a comma inside the
	// CN) and no SANs.
	CommaCN *Leaf
	// RogueChain has Good's identity and is signed by RogueRoot, but its
	// Chain is the real Intermediate certificate, which did not sign it.
	RogueChain *Leaf
	// CAAsClient is Intermediate's own certificate and key presented as a
	// client certificate (IsCA true, empty Chain). crypto/tls accepts it
	// as a client certificate chaining to Root.
	CAAsClient *Leaf
}

// Distinguished names used by [Standard].
var (
	rootSubject = pkix.Name{
		CommonName: "Contoso Weather Root CA", Organization: []string{"Contoso Weather"}, Country: []string{"US"},
	}
	intermediateSubject = pkix.Name{
		CommonName: "Contoso Weather Issuing CA", Organization: []string{"Contoso Weather"}, Country: []string{"US"},
	}
	otherRootSubject = pkix.Name{
		CommonName: "Fabrikam Root CA", Organization: []string{"Fabrikam"}, Country: []string{"US"},
	}
)

// DefaultValidity is how long the CAs and the valid leaves of [Standard]
// remain valid from the time they are made.
const DefaultValidity = 24 * time.Hour

// Standard builds the standard test PKI described by [Set], with
// [DefaultValidity]. Every call makes new keys; tests that want to share
// one Set can wrap it in sync.OnceValues.
func Standard() (*Set, error) {
	return StandardWithValidity(DefaultValidity)
}

// StandardWithValidity is [Standard] with the valid leaves (Server, Good,
// Other, ServerAuthOnly, FromOtherCA, FromRogueCA, SelfSignedGood, CommaCN,
// RogueChain) valid from one hour ago until now+validity. CAs are valid
// from now-72h until now+validity+72h so that they cover the Expired and
// NotYetValid leaves.
func StandardWithValidity(validity time.Duration) (*Set, error) {
	if validity <= 0 {
		return nil, errors.New("testpki: validity must be positive")
	}
	now := time.Now()
	caFrom, caUntil := now.Add(-72*time.Hour), now.Add(validity+72*time.Hour)
	from, until := now.Add(-time.Hour), now.Add(validity)

	var s Set
	var err error
	step := func(what string, f func() error) {
		if err == nil {
			if e := f(); e != nil {
				err = fmt.Errorf("testpki: standard %s: %w", what, e)
			}
		}
	}
	leaf := func(dst **Leaf, what string, issue func(Options) (*Leaf, error), o Options) {
		step(what, func() (e error) { *dst, e = issue(o); return })
	}
	caOpts := func(subject pkix.Name) Options {
		return Options{Subject: subject, NotBefore: caFrom, NotAfter: caUntil}
	}

	step("root", func() (e error) { s.Root, e = NewRootWithOptions(caOpts(rootSubject)); return })
	step("intermediate", func() (e error) {
		s.Intermediate, e = s.Root.NewIntermediateWithOptions(caOpts(intermediateSubject))
		return
	})
	step("other root", func() (e error) { s.OtherRoot, e = NewRootWithOptions(caOpts(otherRootSubject)); return })
	step("rogue root", func() (e error) {
		o := caOpts(pkix.Name{})
		o.RawSubject = s.Intermediate.Cert.RawSubject
		s.RogueRoot, e = NewRootWithOptions(o)
		return
	})
	if err != nil {
		return nil, err
	}

	good := station("042", net.IPv4(10, 42, 0, 42))
	good.NotBefore, good.NotAfter = from, until
	other := station("007", net.IPv4(10, 42, 0, 7))
	other.NotBefore, other.NotAfter = from, until

	with := func(f func(*Options)) Options {
		o := good
		f(&o)
		return o
	}
	inter := s.Intermediate.Issue

	leaf(&s.Server, "server", s.Root.Issue, Options{
		Subject:     pkix.Name{CommonName: "localhost", Organization: []string{"Contoso Weather"}, Country: []string{"US"}},
		DNSNames:    []string{"localhost"},
		IPs:         []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		NotBefore:   from,
		NotAfter:    until,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	leaf(&s.Good, "good", inter, good)
	leaf(&s.Other, "other", inter, other)
	leaf(&s.Expired, "expired", inter, with(func(o *Options) {
		o.NotBefore, o.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}))
	leaf(&s.NotYetValid, "not yet valid", inter, with(func(o *Options) {
		o.NotBefore, o.NotAfter = now.Add(24*time.Hour), now.Add(48*time.Hour)
	}))
	leaf(&s.ServerAuthOnly, "server auth only", inter, with(func(o *Options) {
		o.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}))
	leaf(&s.FromOtherCA, "from other CA", s.OtherRoot.Issue, good)
	leaf(&s.FromRogueCA, "from rogue CA", s.RogueRoot.Issue, good)
	leaf(&s.SelfSignedGood, "self-signed", SelfSigned, good)
	leaf(&s.CommaCN, "comma CN", inter, Options{
		Subject:   pkix.Name{CommonName: "Contoso Weather, Inc", Organization: []string{"Contoso Weather"}, Country: []string{"US"}},
		NotBefore: from,
		NotAfter:  until,
	})
	leaf(&s.RogueChain, "rogue chain", s.RogueRoot.Issue, good)
	if err != nil {
		return nil, err
	}
	s.RogueChain.Chain = []*x509.Certificate{s.Intermediate.Cert}
	s.CAAsClient = &Leaf{Cert: s.Intermediate.Cert, Key: s.Intermediate.Key}
	return &s, nil
}

// station returns the client identity of weather station n.
func station(n string, ip net.IP) Options {
	return Options{
		Subject: pkix.Name{
			CommonName:         "station-" + n,
			OrganizationalUnit: []string{"Stations"},
			Organization:       []string{"Contoso Weather"},
			Country:            []string{"US"},
		},
		DNSNames: []string{"station-" + n + ".stations.contoso-weather.example"},
		Emails:   []string{"station-" + n + "@contoso-weather.example"},
		URIs:     []string{"spiffe://contoso-weather.example/stations/" + n},
		IPs:      []net.IP{ip},
	}
}
