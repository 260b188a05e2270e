package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/cluster"
)

// writePassfile writes a one-line libpq password file for the endpoint,
// readable by its owner alone (libpq ignores a passfile others can read),
// and returns its path and a function that removes it. The line names the
// host and port, so a \connect elsewhere in psql is never offered this
// password; database and user are wildcards so `-- -d app` still works.
func writePassfile(ep endpoint, password string) (string, func(), error) {
	f, err := os.CreateTemp("", "kubectl-pgc-*.pgpass")
	if err != nil {
		return "", nil, fmt.Errorf("creating the passfile: %w", err)
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	line := fmt.Sprintf("%s:%d:*:*:%s\n", passfileEscape(ep.name), ep.port, passfileEscape(password))
	// CreateTemp already makes the file 0600; Chmod says it on purpose.
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.WriteString(line)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return "", nil, fmt.Errorf("writing the passfile: %w", err)
	}
	return f.Name(), cleanup, nil
}

// passfileEscape escapes what the passfile format gives a meaning to.
func passfileEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `:`, `\:`).Replace(s)
}

// writeClientCerts writes the cluster's CA and the superuser's client
// certificate (Secret <cluster>-client-tls) to a private temporary
// directory: with spec.superuserAccess off, the members let the superuser
// in over TCP only with it. It returns the directory and its removal.
func (a *app) writeClientCerts(ctx context.Context, name string) (string, func(), error) {
	secret := cluster.ClientTLSSecretName(name)
	s, err := a.kube.CoreV1().Secrets(a.ns).Get(ctx, secret, metav1.GetOptions{})
	if err != nil {
		return "", nil, fmt.Errorf("reading the superuser's client certificate: %w", err)
	}
	dir, err := os.MkdirTemp("", "kubectl-pgc-tls-*")
	if err != nil {
		return "", nil, fmt.Errorf("creating a directory for the certificates: %w", err)
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	for _, key := range []string{"ca.crt", "tls.crt", "tls.key"} {
		if len(s.Data[key]) == 0 {
			cleanup()
			return "", nil, fmt.Errorf("secret %s has no %s", secret, key)
		}
		if err := os.WriteFile(filepath.Join(dir, key), s.Data[key], 0o600); err != nil {
			cleanup()
			return "", nil, fmt.Errorf("writing %s: %w", key, err)
		}
	}
	return dir, cleanup, nil
}
