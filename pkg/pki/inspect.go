package pki

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// ParseCert reads the first certificate of a PEM bundle.
func ParseCert(certPEM []byte) (*x509.Certificate, error) {
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("no PEM certificate found")
		}
		if block.Type == "CERTIFICATE" {
			return x509.ParseCertificate(block.Bytes)
		}
	}
}

// parsePair checks that the key belongs to the certificate, and returns both.
func parsePair(p Pair) (*x509.Certificate, crypto.Signer, error) {
	tc, err := tls.X509KeyPair(p.Cert, p.Key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(tc.Certificate[0])
	if err != nil {
		return nil, nil, err
	}
	signer, ok := tc.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("the key cannot sign")
	}
	return cert, signer, nil
}

// CheckCA reports why a pair cannot serve as a CA, or nil.
func CheckCA(p Pair, now time.Time) error {
	cert, _, err := parsePair(p)
	if err != nil {
		return err
	}
	if !cert.IsCA {
		return fmt.Errorf("the certificate %q is not a CA", cert.Subject.CommonName)
	}
	if now.After(cert.NotAfter) {
		return fmt.Errorf("the CA %q expired at %s", cert.Subject.CommonName, cert.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}

// Check is what a certificate needs to serve: signed by a CA of the bundle,
// its key matching, currently valid and, for a server, valid for every one
// of names. It returns the certificate's expiry and why it cannot serve.
func Check(p Pair, caBundle []byte, names []string, usage x509.ExtKeyUsage, now time.Time) (time.Time, error) {
	cert, _, err := parsePair(p)
	if err != nil {
		return time.Time{}, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caBundle) {
		return cert.NotAfter, errors.New("the CA bundle holds no certificate")
	}
	opts := x509.VerifyOptions{Roots: roots, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{usage}}
	if _, err := cert.Verify(opts); err != nil {
		return cert.NotAfter, err
	}
	for _, n := range names {
		if err := cert.VerifyHostname(n); err != nil {
			return cert.NotAfter, err
		}
	}
	return cert.NotAfter, nil
}

// DueForRenewal: less than a third of the certificate's life is left, so
// that the renewed one reaches every member (the kubelet refreshes mounted
// Secrets within about a minute) long before this one expires.
func DueForRenewal(certPEM []byte, now time.Time) bool {
	renewAt, _, err := RenewalTimes(certPEM)
	return err != nil || now.After(renewAt)
}

// RenewalTimes are when the certificate becomes due for renewal (a third
// of its life left) and when it expires: what DueForRenewal decides on,
// for callers that keep them instead of parsing the certificate again.
func RenewalTimes(certPEM []byte) (renewAt, expiry time.Time, err error) {
	cert, err := ParseCert(certPEM)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	life := cert.NotAfter.Sub(cert.NotBefore.Add(backdate))
	return cert.NotAfter.Add(-life / 3), cert.NotAfter, nil
}
