package cluster

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// certRecheck is how long the verification of unchanged certificates is
// reused. Verifying a chain (parsing, an ECDSA signature check) on every
// pass was the largest part of an idle operator's CPU after the TLS
// handshakes; certificates change only when the operator or a user
// replaces their Secret, which changes the digest, and expire on a scale
// of months, which a minute's delay does not hide (renewal starts with a
// third of the life left).
const certRecheck = time.Minute

// certMemo is an actor's memory of its last verifications, one per kind
// of certificate (CA, server, client). Only the actor's goroutine uses it.
type certMemo struct {
	entries map[string]certCheck
	times   map[string]certTimes
}

// certTimes are a certificate's renewal time and expiry, with the digest
// of the PEM they were read from. They depend on the bytes alone, so they
// are kept for as long as the bytes stay the same: parsing the three
// certificates again at every pass was a fifth of an idle fleet's
// allocations.
type certTimes struct {
	digest          [sha256.Size]byte
	renewAt, expiry time.Time
	err             error
}

type certCheck struct {
	digest [sha256.Size]byte
	at     time.Time
	expiry time.Time
	err    error
}

// check is pki.Check, reused for certRecheck while its inputs are the same.
func (m *certMemo) check(kind string, p pki.Pair, bundle []byte, names []string, usage x509.ExtKeyUsage, now time.Time) (time.Time, error) {
	d := digestOf(p.Cert, p.Key, bundle, []byte(strings.Join(names, "\x00")), []byte{byte(usage)})
	if e, ok := m.recall(kind, d, now); ok {
		return e.expiry, e.err
	}
	expiry, err := pki.Check(p, bundle, names, usage, now)
	m.remember(kind, certCheck{digest: d, at: now, expiry: expiry, err: err})
	return expiry, err
}

// checkCA is pki.CheckCA, reused in the same way.
func (m *certMemo) checkCA(p pki.Pair, now time.Time) error {
	d := digestOf(p.Cert, p.Key)
	if e, ok := m.recall("ca", d, now); ok {
		return e.err
	}
	err := pki.CheckCA(p, now)
	m.remember("ca", certCheck{digest: d, at: now, err: err})
	return err
}

// dueForRenewal is pki.DueForRenewal on kind's certificate, parsed once
// per change of its bytes.
func (m *certMemo) dueForRenewal(kind string, certPEM []byte, now time.Time) bool {
	t := m.timesOf(kind, certPEM)
	return t.err != nil || now.After(t.renewAt)
}

// expiry is when kind's certificate expires; false if it cannot be read.
func (m *certMemo) expiry(kind string, certPEM []byte) (time.Time, bool) {
	t := m.timesOf(kind, certPEM)
	return t.expiry, t.err == nil
}

func (m *certMemo) timesOf(kind string, certPEM []byte) certTimes {
	d := digestOf(certPEM)
	if t, ok := m.times[kind]; ok && t.digest == d {
		return t
	}
	t := certTimes{digest: d}
	t.renewAt, t.expiry, t.err = pki.RenewalTimes(certPEM)
	if m.times == nil {
		m.times = map[string]certTimes{}
	}
	m.times[kind] = t
	return t
}

func (m *certMemo) recall(kind string, d [sha256.Size]byte, now time.Time) (certCheck, bool) {
	e, ok := m.entries[kind]
	fresh := ok && e.digest == d && !now.Before(e.at) && now.Sub(e.at) < certRecheck
	return e, fresh
}

func (m *certMemo) remember(kind string, e certCheck) {
	if m.entries == nil {
		m.entries = map[string]certCheck{}
	}
	m.entries[kind] = e
}

// digestOf hashes the parts with their lengths, so that no two different
// lists of parts hash alike.
func digestOf(parts ...[]byte) [sha256.Size]byte {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.BigEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write(p)
	}
	var out [sha256.Size]byte
	copy(out[:], h.Sum(nil))
	return out
}
