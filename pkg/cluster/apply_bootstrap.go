package cluster

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// createSecrets writes the operator's record, taking each password from
// its user Secret if one exists with a usable password and generating the
// others, then creates whichever user Secret is missing from the record.
// The seed's initdb reads the superuser's password from the record, so the
// role and the record agree from the first start. An existing user Secret
// is never overwritten.
func (c *Cluster) createSecrets(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	rec := obs.creds.record
	if rec == nil || !rec.complete() || !obs.creds.inAPI {
		p, _, err := fillRecord(pgc, obs)
		if err != nil {
			return err
		}
		if err := c.writeRecord(ctx, pgc, obs.creds.inAPI, p); err != nil {
			return err
		}
		rec = &p
	}
	for _, r := range managedRoles {
		if obs.secrets[r.secret(pgc.Name)] != nil {
			continue
		}
		if _, err := c.restoreSecret(ctx, pgc, r, rec.of(r)); err != nil {
			return err
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
		services := c.cfg.Kube.CoreV1().Services(pgc.Namespace)
		_, err := services.Create(ctx, svc, metav1.CreateOptions{})
		if err := createdOrOurs(ctx, pgc, "Service", svc.Name, err, func(ctx context.Context, o metav1.ListOptions) (metav1.Object, error) {
			l, err := services.List(ctx, o)
			if err != nil {
				return nil, err
			}
			return named(l.Items, svc.Name), nil
		}, relabelWith[*corev1.Service](services)); err != nil {
			return err // foreign.go: never route clients to another's Service
		}
	}
	return nil
}

// repairService puts back the routing of one of the cluster's Services
// (serviceDrift).
func (c *Cluster) repairService(ctx context.Context, pgc *v1alpha1.PostgresCluster, name string) error {
	for _, want := range buildServices(pgc) {
		if want.Name != name {
			continue
		}
		patch, err := serviceRepairPatch(want)
		if err != nil {
			return err
		}
		_, err = c.cfg.Kube.CoreV1().Services(pgc.Namespace).Patch(ctx, name, types.JSONPatchType, patch, metav1.PatchOptions{})
		if err != nil {
			return fmt.Errorf("restoring Service %s: %w", name, err)
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
	if err := c.cfg.Postgres.EnsureRole(ctx, ep, replicationUser, true, true); err != nil {
		return err
	}
	if err := c.cfg.Postgres.SetPassword(ctx, ep, replicationUser, obs.creds.record.replication); err != nil {
		return err
	}
	return c.writeStatus(ctx, pgc, func(st *v1alpha1.PostgresClusterStatus) {
		st.Initialized = true
		st.Primary = act.member
	})
}
