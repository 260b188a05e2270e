// Package pki makes and checks the certificates of a cluster's TLS: a CA
// per cluster, the servers' certificate and the superuser's client
// certificate. Keys are ECDSA P-256: small, fast to generate (a pass may
// issue several), and accepted by OpenSSL, Go and Java clients alike.
//
// It is a leaf package: PEM in, PEM out, no Kubernetes types.
package pki
