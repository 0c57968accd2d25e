// Package testpki builds throwaway X.509 PKIs at test time, so that no
// private key ever has to be committed to the repository.
//
// Everything is generated with the standard library (crypto/x509 and ECDSA
// P-256 keys by default) and lives only in memory until a caller writes it
// out with [WriteFile]. [Standard] builds the fixed set of certificates the
// plugin's tests and demos use; [NewRoot], [CA.NewIntermediate], [CA.Issue]
// and [SelfSigned] build anything else.
//
// The package is meant for tests and demos only. It deliberately makes
// certificates with odd properties (expired, rogue issuers, CA certificates
// used as client certificates) and must never be used to issue real ones.
package testpki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"time"
)

// CA is a certificate authority: a CA certificate and the key that signs
// with it.
type CA struct {
	// Cert is the CA's own certificate.
	Cert *x509.Certificate
	// Key is the private key matching Cert.
	Key crypto.Signer
	// Chain holds the CA's issuers from its direct issuer up to, but
	// excluding, the root. It is empty for a root and for a CA issued
	// directly by a root.
	Chain []*x509.Certificate
}

// Leaf is an end-entity certificate with its key and the intermediate
// certificates a peer needs to build a path to the root.
type Leaf struct {
	// Cert is the leaf certificate.
	Cert *x509.Certificate
	// Key is the private key matching Cert.
	Key crypto.Signer
	// Chain holds the intermediates to send after the leaf, nearest issuer
	// first. It never contains the root.
	Chain []*x509.Certificate
}

// Options describes a certificate to create. The zero value is valid: it
// yields a certificate with an empty subject, a fresh P-256 key, a random
// serial number and a validity of one hour ago until 24 hours from now.
type Options struct {
	// Subject is the subject distinguished name. It is ignored if
	// RawSubject is set.
	Subject pkix.Name
	// RawSubject is a DER-encoded Name used verbatim as the subject, for
	// multi-valued RDNs, unusual attribute order or odd string encodings.
	RawSubject []byte

	// DNSNames, Emails, URIs and IPs become subjectAltName entries. URIs are
	// parsed with url.Parse.
	DNSNames []string
	Emails   []string
	URIs     []string
	IPs      []net.IP

	// NotBefore and NotAfter bound the validity period. A zero NotBefore
	// means one hour ago; a zero NotAfter means 24 hours from now.
	NotBefore, NotAfter time.Time

	// ExtKeyUsage lists the extended key usages. For leaves, nil means
	// ClientAuth only (pass ServerAuth for server certificates) and a
	// non-nil empty slice means no extendedKeyUsage extension at all. For
	// CAs, nil or empty means no extension, which places no EKU
	// restriction on the certificates below.
	ExtKeyUsage []x509.ExtKeyUsage

	// IsCA marks a leaf made by [CA.Issue] or [SelfSigned] as a CA
	// (basicConstraints CA:TRUE, keyCertSign). It is ignored, and
	// treated as true, by the functions that make a CA.
	IsCA bool

	// Serial is the serial number. Nil means a random positive 128-bit
	// number.
	Serial *big.Int

	// Key is the certificate's private key. Nil means a new P-256 key.
	Key crypto.Signer

	// CRLDistributionPoints and OCSPServer are the URLs of the
	// cRLDistributionPoints and authorityInfoAccess (OCSP) extensions.
	CRLDistributionPoints []string
	OCSPServer            []string
}

// NewRoot creates a self-signed root CA with the given subject and default
// Options.
func NewRoot(subject pkix.Name) (*CA, error) {
	return NewRootWithOptions(Options{Subject: subject})
}

// NewRootWithOptions creates a self-signed root CA. o.IsCA is ignored.
func NewRootWithOptions(o Options) (*CA, error) {
	return newCA(o, nil)
}

// NewIntermediate creates a CA with the given subject and default Options,
// signed by ca.
func (ca *CA) NewIntermediate(subject pkix.Name) (*CA, error) {
	return ca.NewIntermediateWithOptions(Options{Subject: subject})
}

// NewIntermediateWithOptions creates a CA signed by ca. o.IsCA is ignored.
// The new CA's Chain is ca (unless ca is a root) followed by ca.Chain.
func (ca *CA) NewIntermediateWithOptions(o Options) (*CA, error) {
	return newCA(o, ca)
}

// Issue creates a leaf certificate signed by ca. The leaf's Chain is ca
// itself (unless ca is a root) followed by ca.Chain.
func (ca *CA) Issue(o Options) (*Leaf, error) {
	return newLeaf(o, ca)
}

// SelfSigned creates a self-signed leaf certificate.
func SelfSigned(o Options) (*Leaf, error) {
	return newLeaf(o, nil)
}

// IsRoot reports whether ca's certificate is self-issued and self-signed.
func (ca *CA) IsRoot() bool {
	c := ca.Cert
	return bytes.Equal(c.RawIssuer, c.RawSubject) &&
		c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

// CertPEM returns ca's own certificate, PEM-encoded (without ca.Chain).
func (ca *CA) CertPEM() []byte {
	return certsPEM(ca.Cert)
}

// TLSCertificate returns the leaf, its Chain and its key as a
// tls.Certificate, ready for tls.Config.Certificates.
func (l *Leaf) TLSCertificate() tls.Certificate {
	der := make([][]byte, 0, 1+len(l.Chain))
	der = append(der, l.Cert.Raw)
	for _, c := range l.Chain {
		der = append(der, c.Raw)
	}
	return tls.Certificate{Certificate: der, PrivateKey: l.Key, Leaf: l.Cert}
}

// CertPEM returns the leaf followed by its Chain, PEM-encoded.
func (l *Leaf) CertPEM() []byte {
	return certsPEM(append([]*x509.Certificate{l.Cert}, l.Chain...)...)
}

// KeyPEM returns the leaf's private key as a PKCS #8 "PRIVATE KEY" PEM
// block. It returns nil if the key cannot be marshaled (for example, a
// crypto.Signer backed by hardware).
func (l *Leaf) KeyPEM() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(l.Key)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// Pool returns a new certificate pool holding the certificates of cas.
func Pool(cas ...*CA) *x509.CertPool {
	p := x509.NewCertPool()
	for _, ca := range cas {
		p.AddCert(ca.Cert)
	}
	return p
}

// WriteFile writes data to path with permissions 0600, creating or
// truncating the file. An existing file's permissions are reset to 0600.
func WriteFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func certsPEM(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		// Encoding to a bytes.Buffer cannot fail.
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// issuedChain is the Chain of a certificate that ca signs.
func (ca *CA) issuedChain() []*x509.Certificate {
	if ca.IsRoot() {
		return append([]*x509.Certificate(nil), ca.Chain...)
	}
	return append([]*x509.Certificate{ca.Cert}, ca.Chain...)
}

func newCA(o Options, parent *CA) (*CA, error) {
	o.IsCA = true
	key, tmpl, err := prepare(o)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	if len(o.ExtKeyUsage) > 0 {
		tmpl.ExtKeyUsage = o.ExtKeyUsage
	}
	ca := &CA{Key: key}
	if parent == nil {
		ca.Cert, err = create(tmpl, tmpl, key, key)
	} else {
		ca.Cert, err = create(tmpl, parent.Cert, key, parent.Key)
		ca.Chain = parent.issuedChain()
	}
	if err != nil {
		return nil, err
	}
	return ca, nil
}

func newLeaf(o Options, parent *CA) (*Leaf, error) {
	key, tmpl, err := prepare(o)
	if err != nil {
		return nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if o.IsCA {
		tmpl.KeyUsage |= x509.KeyUsageCertSign
	}
	if o.ExtKeyUsage == nil {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = o.ExtKeyUsage
	}
	l := &Leaf{Key: key}
	if parent == nil {
		l.Cert, err = create(tmpl, tmpl, key, key)
	} else {
		l.Cert, err = create(tmpl, parent.Cert, key, parent.Key)
		l.Chain = parent.issuedChain()
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// prepare returns the certificate's key and a template holding everything
// but the key usages.
func prepare(o Options) (crypto.Signer, *x509.Certificate, error) {
	key := o.Key
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, fmt.Errorf("testpki: generating key: %w", err)
		}
		key = k
	}
	serial := o.Serial
	if serial == nil {
		var err error
		if serial, err = randomSerial(); err != nil {
			return nil, nil, err
		}
	}
	now := time.Now()
	notBefore, notAfter := o.NotBefore, o.NotAfter
	if notBefore.IsZero() {
		notBefore = now.Add(-time.Hour)
	}
	if notAfter.IsZero() {
		notAfter = now.Add(24 * time.Hour)
	}
	var uris []*url.URL
	for _, s := range o.URIs {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, fmt.Errorf("testpki: URI SAN: %w", err)
		}
		uris = append(uris, u)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               o.Subject,
		RawSubject:            o.RawSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		DNSNames:              o.DNSNames,
		EmailAddresses:        o.Emails,
		URIs:                  uris,
		IPAddresses:           o.IPs,
		BasicConstraintsValid: true,
		IsCA:                  o.IsCA,
		CRLDistributionPoints: o.CRLDistributionPoints,
		OCSPServer:            o.OCSPServer,
	}
	return key, tmpl, nil
}

// randomSerial returns a uniformly random serial number in [1, 2^128).
func randomSerial() (*big.Int, error) {
	limit := new(big.Int).Lsh(big.NewInt(1), 128)
	for {
		n, err := rand.Int(rand.Reader, limit)
		if err != nil {
			return nil, fmt.Errorf("testpki: generating serial: %w", err)
		}
		if n.Sign() > 0 {
			return n, nil
		}
	}
}

// create signs tmpl (holding key's public half) with signer on behalf of
// parent and parses the result.
func create(tmpl, parent *x509.Certificate, key, signer crypto.Signer) (*x509.Certificate, error) {
	if signer == nil {
		return nil, errors.New("testpki: issuing CA has no key")
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), signer)
	if err != nil {
		return nil, fmt.Errorf("testpki: creating certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testpki: parsing created certificate: %w", err)
	}
	return cert, nil
}

// CRLOptions describes a certificate revocation list to create with
// [CA.CRL]. Zero times mean ThisUpdate an hour ago and NextUpdate in 24
// hours; a nil Number means 1.
type CRLOptions struct {
	Number                 *big.Int
	ThisUpdate, NextUpdate time.Time
	// Revoked lists the revoked serial numbers (reason unspecified).
	Revoked []*big.Int
	// Entries are added as they are, after Revoked (reason codes,
	// extensions).
	Entries []x509.RevocationListEntry
	// ExtraExtensions are added to the CRL (e.g. an unknown critical one).
	ExtraExtensions []pkix.Extension
}

// CRL returns a DER CRL signed by ca.
func (ca *CA) CRL(o CRLOptions) ([]byte, error) {
	now := time.Now()
	if o.ThisUpdate.IsZero() {
		o.ThisUpdate = now.Add(-time.Hour)
	}
	if o.NextUpdate.IsZero() {
		o.NextUpdate = now.Add(24 * time.Hour)
	}
	if o.Number == nil {
		o.Number = big.NewInt(1)
	}
	tmpl := &x509.RevocationList{
		Number:          o.Number,
		ThisUpdate:      o.ThisUpdate,
		NextUpdate:      o.NextUpdate,
		ExtraExtensions: o.ExtraExtensions,
	}
	for _, s := range o.Revoked {
		tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: o.ThisUpdate})
	}
	tmpl.RevokedCertificateEntries = append(tmpl.RevokedCertificateEntries, o.Entries...)
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, ca.Cert, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("testpki: creating CRL: %w", err)
	}
	return der, nil
}
