package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// createSecrets generates whichever of the two password Secrets is missing.
// An existing Secret is never overwritten: the data directory was
// initialised with its password.
func (c *Cluster) createSecrets(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	builders := map[string]func(*v1alpha1.PostgresCluster, string) *corev1.Secret{
		SuperuserSecretName(pgc.Name):   buildSuperuserSecret,
		ReplicationSecretName(pgc.Name): buildReplicationSecret,
	}
	for name, build := range builders {
		if obs.secrets[name] != nil {
			continue
		}
		pw, err := newPassword()
		if err != nil {
			return err
		}
		_, err = c.cfg.Kube.CoreV1().Secrets(pgc.Namespace).Create(ctx, build(pgc, pw), metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating secret %s: %w", name, err)
		}
	}
	return nil
}

// createServices creates whichever of the -rw and -ro Services is missing.
func (c *Cluster) createServices(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	for _, svc := range buildServices(pgc) {
		if obs.services[svc.Name] != nil {
			continue
		}
		_, err := c.cfg.Kube.CoreV1().Services(pgc.Namespace).Create(ctx, svc, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating service %s: %w", svc.Name, err)
		}
	}
	return nil
}

// finishBootstrap creates the replication role on the seed, then records in
// status that the cluster is initialized: from then on no member ever runs
// initdb again.
func (c *Cluster) finishBootstrap(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return err
	}
	repl := obs.secrets[ReplicationSecretName(pgc.Name)]
	if err := c.cfg.Postgres.EnsureRole(ctx, ep, replicationUser, true, true); err != nil {
		return err
	}
	if err := c.cfg.Postgres.SetPassword(ctx, ep, replicationUser, string(repl.Data[passwordKey])); err != nil {
		return err
	}
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		st.Initialized = true
		st.Primary = act.member
	})
}
