// ocsp.go: OCSP for client certificates: the request for a certificate's
// status (ocspRequestFor) and the checks a response must pass before its
// answer is believed (checkOCSPResponse). Fetching and caching are
// elsewhere.

package clientcertificate

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	"golang.org/x/crypto/ocsp"
)

// ocspClockSkew is the clock difference tolerated on thisUpdate/nextUpdate
// and on a delegated responder certificate's validity.
const ocspClockSkew = time.Minute

// ocspRequestFor returns the DER OCSP request for cert, issued by issuer
// (SHA-1 CertID, which every responder accepts; openssl ocsp uses it).
func ocspRequestFor(cert, issuer *x509.Certificate) ([]byte, error) {
	if cert == nil || cert.SerialNumber == nil || issuer == nil {
		return nil, errors.New("OCSP request needs the certificate and its issuer")
	}
	return ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: crypto.SHA1})
}

// ocspAnswer is what a verified OCSP response says about one certificate.
type ocspAnswer struct {
	status     int // ocsp.Good, ocsp.Revoked or ocsp.Unknown
	thisUpdate time.Time
	nextUpdate time.Time // zero when the responder gave none
	revokedAt  time.Time
	reason     int // ocsp reason code when revoked
}

// checkOCSPResponse verifies der as the responder's answer about cert
// (issued by issuer) at now, and returns it only if it may be trusted
// (RFC 6960 3.2): signed by issuer, or by a responder certificate issuer
// delegated OCSP signing to and valid at now; about cert (serial and
// issuer); current at now, give or take ocspClockSkew. The error names the
// first check that failed, in words for the operator.
func checkOCSPResponse(der []byte, cert, issuer *x509.Certificate, now time.Time) (ocspAnswer, error) {
	// With a nil issuer the library checks no signature at all.
	if cert == nil || cert.SerialNumber == nil || issuer == nil {
		return ocspAnswer{}, errors.New("cannot check an OCSP response without the certificate and its issuer")
	}
	resp, err := parseOCSPResponse(der, cert, issuer)
	if err != nil {
		return ocspAnswer{}, err
	}
	if err := checkOCSPCertID(resp, cert, issuer); err != nil {
		return ocspAnswer{}, err
	}
	if err := checkOCSPResponder(resp.Certificate, issuer, now); err != nil {
		return ocspAnswer{}, err
	}
	if err := checkOCSPTimes(resp.ThisUpdate, resp.NextUpdate, now); err != nil {
		return ocspAnswer{}, err
	}
	a := ocspAnswer{status: resp.Status, thisUpdate: resp.ThisUpdate, nextUpdate: resp.NextUpdate}
	if resp.Status == ocsp.Revoked {
		a.revokedAt, a.reason = resp.RevokedAt, resp.RevocationReason
	}
	return a, nil
}

// errOCSPNoMatch is the library's error for a response with no answer
// about the certificate's serial.
var errOCSPNoMatch = ocsp.ParseError("no response matching the supplied certificate")

// parseOCSPResponse parses der with ocsp.ParseResponseForCert, which checks
// the signature: by issuer, or by an embedded certificate that issuer
// signed. It turns the library's errors into the operator's. Besides
// ResponseError they are encoding/asn1's or bare strings; the strings
// matched here are x/crypto v0.57.0's, and a test pins each.
func parseOCSPResponse(der []byte, cert, issuer *x509.Certificate) (*ocsp.Response, error) {
	resp, err := ocsp.ParseResponseForCert(der, cert, issuer)
	if err == nil {
		return resp, nil
	}
	var status ocsp.ResponseError
	if errors.As(err, &status) {
		return nil, fmt.Errorf("OCSP responder says: %s", status.Status)
	}
	var syntax asn1.SyntaxError
	var structure asn1.StructuralError
	if errors.As(err, &syntax) || errors.As(err, &structure) {
		return nil, ocspNotAResponse(der, err)
	}
	if err == errOCSPNoMatch {
		return nil, ocspSerialMismatch(der, cert, issuer)
	}
	if strings.HasPrefix(err.Error(), "bad OCSP signature") {
		return ocspBadSignature(der, cert, issuer, err)
	}
	if strings.HasPrefix(err.Error(), "bad signature on embedded certificate") {
		return nil, fmt.Errorf("OCSP response not signed by the responder certificate it carries: %w", err)
	}
	return nil, fmt.Errorf("unusable OCSP response: %w", err)
}

// ocspNotAResponse describes a body that is not DER at all; most often an
// HTML page from a proxy or a misconfigured responder URL.
func ocspNotAResponse(der []byte, err error) error {
	if len(der) == 0 {
		return errors.New("not an OCSP response: empty body")
	}
	head := der[:min(len(der), 48)]
	text := !bytes.ContainsFunc(head, func(r rune) bool {
		return (r < 0x20 || r > 0x7e) && r != '\t' && r != '\r' && r != '\n'
	})
	if text {
		return fmt.Errorf("not an OCSP response: the body is text starting %q", head)
	}
	return fmt.Errorf("not an OCSP response: %w", err)
}

// ocspSerialMismatch names the serial the response is about when it is
// signed by issuer and about one certificate; else it only says which
// serial is missing.
func ocspSerialMismatch(der []byte, cert, issuer *x509.Certificate) error {
	if other, err := ocsp.ParseResponse(der, issuer); err == nil {
		return fmt.Errorf("OCSP response is for serial %s, not %s", ocspSerial(other.SerialNumber), ocspSerial(cert.SerialNumber))
	}
	return fmt.Errorf("OCSP response has no answer for serial %s", ocspSerial(cert.SerialNumber))
}

// ocspBadSignature handles a response whose signature issuer did not make,
// directly or through the embedded certificate. It reads der again without
// the issuer, which checks only that the embedded certificate signed it,
// to say which part failed. It also accepts a response that embeds issuer's
// own certificate: RFC 6960 lets the CA sign itself, and some responders
// attach the CA's certificate, but the library then checks that issuer
// signed its own certificate, which only a self-signed issuer did.
func ocspBadSignature(der []byte, cert, issuer *x509.Certificate, err error) (*ocsp.Response, error) {
	name := issuer.Subject.String()
	resp, rerr := ocsp.ParseResponseForCert(der, cert, nil)
	switch {
	case rerr != nil || resp.Certificate == nil:
		return nil, fmt.Errorf("OCSP response not signed by %s: %w", name, err)
	case resp.Certificate.Equal(issuer):
		if resp.CheckSignatureFrom(issuer) != nil {
			return nil, fmt.Errorf("OCSP response not signed by %s: %w", name, err)
		}
		return resp, nil
	case !bytes.Equal(resp.Certificate.RawIssuer, issuer.RawSubject):
		return nil, fmt.Errorf("responder certificate not issued by %s (its issuer is %s)", name, resp.Certificate.Issuer)
	default:
		return nil, fmt.Errorf("responder certificate not issued by %s (it names that issuer, but another key signed it)", name)
	}
}

// checkOCSPCertID checks that the answer the library chose is about cert as
// issued by issuer. The library picks it by serial alone, so a responder
// serving several CAs could otherwise answer with another CA's
// certificate of the same serial (RFC 6960 3.2, point 1).
func checkOCSPCertID(resp *ocsp.Response, cert, issuer *x509.Certificate) error {
	// The library computes the expected hashes, with the response's
	// algorithm.
	reqDER, err := ocsp.CreateRequest(cert, issuer, &ocsp.RequestOptions{Hash: resp.IssuerHash})
	if err != nil {
		return fmt.Errorf("unusable OCSP response: %w", err)
	}
	want, err := ocsp.ParseRequest(reqDER)
	if err != nil {
		return fmt.Errorf("unusable OCSP response: %w", err)
	}
	nameHash, keyHash, ok := ocspIssuerHashes(resp.TBSResponseData, cert.SerialNumber)
	if !ok {
		return errors.New("unusable OCSP response: cannot read its certificate IDs")
	}
	if !bytes.Equal(nameHash, want.IssuerNameHash) || !bytes.Equal(keyHash, want.IssuerKeyHash) {
		return fmt.Errorf("OCSP response is about serial %s of another issuer, not %s", ocspSerial(cert.SerialNumber), issuer.Subject)
	}
	return nil
}

// ocspIssuerHashes returns the issuer name and key hashes of the first
// SingleResponse about serial in tbs, a ResponseData (RFC 6960 4.2.1)
// whose signature the library has checked: the library exposes only the
// serial of the answer it chose, the first about serial.
func ocspIssuerHashes(tbs []byte, serial *big.Int) (nameHash, keyHash []byte, ok bool) {
	in := cryptobyte.String(tbs)
	var data, responses cryptobyte.String
	var responderID cryptobyte.String
	var responderTag cbasn1.Tag
	if !in.ReadASN1(&data, cbasn1.SEQUENCE) ||
		!data.SkipOptionalASN1(cbasn1.Tag(0).Constructed().ContextSpecific()) || // version
		!data.ReadAnyASN1(&responderID, &responderTag) ||
		!data.SkipASN1(cbasn1.GeneralizedTime) || // producedAt
		!data.ReadASN1(&responses, cbasn1.SEQUENCE) {
		return nil, nil, false
	}
	for !responses.Empty() {
		var single, certID cryptobyte.String
		n := new(big.Int)
		if !responses.ReadASN1(&single, cbasn1.SEQUENCE) ||
			!single.ReadASN1(&certID, cbasn1.SEQUENCE) ||
			!certID.SkipASN1(cbasn1.SEQUENCE) || // hashAlgorithm
			!certID.ReadASN1Bytes(&nameHash, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1Bytes(&keyHash, cbasn1.OCTET_STRING) ||
			!certID.ReadASN1Integer(n) {
			return nil, nil, false
		}
		if n.Cmp(serial) == 0 {
			return nameHash, keyHash, true
		}
	}
	return nil, nil, false
}

// checkOCSPResponder checks the certificate embedded in a response whose
// signature the library verified. The library checked only that issuer
// signed it; a delegated responder must also be one issuer meant for OCSP
// (RFC 6960 4.2.2.2) and be valid now. No certificate, or issuer's own,
// means issuer's key signed the response.
func checkOCSPResponder(rc, issuer *x509.Certificate, now time.Time) error {
	if rc == nil || rc.Equal(issuer) {
		return nil
	}
	if !bytes.Equal(rc.RawIssuer, issuer.RawSubject) {
		return fmt.Errorf("responder certificate not issued by %s (its issuer is %s)", issuer.Subject, rc.Issuer)
	}
	// Not anyExtendedKeyUsage, nor no extension at all: any certificate
	// the CA ever issued would then speak for it.
	if !slices.Contains(rc.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
		return fmt.Errorf("responder certificate %s lacks id-kp-OCSPSigning", rc.Subject)
	}
	if now.Add(ocspClockSkew).Before(rc.NotBefore) {
		return fmt.Errorf("responder certificate not valid until %s", rc.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.Add(-ocspClockSkew).After(rc.NotAfter) {
		return fmt.Errorf("responder certificate expired at %s", rc.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// checkOCSPTimes checks that an answer is current at now (RFC 6960 3.2,
// points 4 and 5). Without nextUpdate the responder promises no lifetime;
// how long to keep such an answer is the caller's choice.
func checkOCSPTimes(thisUpdate, nextUpdate, now time.Time) error {
	if thisUpdate.After(now.Add(ocspClockSkew)) {
		return fmt.Errorf("OCSP response is from the future (thisUpdate %s)", thisUpdate.UTC().Format(time.RFC3339))
	}
	if nextUpdate.IsZero() {
		return nil
	}
	if nextUpdate.Before(thisUpdate) {
		return fmt.Errorf("OCSP response's nextUpdate %s is before its thisUpdate %s",
			nextUpdate.UTC().Format(time.RFC3339), thisUpdate.UTC().Format(time.RFC3339))
	}
	if nextUpdate.Before(now.Add(-ocspClockSkew)) {
		return fmt.Errorf("OCSP response expired at %s", nextUpdate.UTC().Format(time.RFC3339))
	}
	return nil
}

// ocspSerial formats a serial as the serial condition and placeholder do:
// upper-case hexadecimal.
func ocspSerial(n *big.Int) string {
	if n == nil {
		return "(none)"
	}
	return strings.ToUpper(n.Text(16))
}
