package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// syncRoleSecrets creates the missing generated Secrets, labels the users'
// Secrets so that the cache (which holds labelled Secrets only) shows them
// and each change of their password wakes the cluster, and keeps the
// application Secret's connection details in line with its password.
func (c *Cluster) syncRoleSecrets(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) ([]string, error) {
	m := obs.managed
	now := c.cfg.Clock.Now()
	var did []string
	for _, w := range m.secretsToSync(pgc, now) {
		done, problem, err := c.syncRoleSecret(ctx, pgc, m, w)
		if err != nil {
			return did, err
		}
		c.managed.tried(w.key(), m.secretFP(w), problem, now)
		if done != "" {
			did = append(did, done)
		}
	}
	return did, nil
}

// syncRoleSecret returns what it did, or a problem only the user can fix
// (a missing Secret), or an error of the API (retried next pass).
func (c *Cluster) syncRoleSecret(ctx context.Context, pgc *v1alpha1.PostgresCluster, m *managedObs, w secretWork) (string, string, error) {
	api := c.cfg.Kube.CoreV1().Secrets(pgc.Namespace)
	switch w.what {
	case "details":
		return c.patchAppDetails(ctx, pgc, m, w)
	case "create":
		pw, err := newPassword()
		if err != nil {
			return "", "", err
		}
		s := buildRoleSecret(pgc, w.role, pw)
		if w.name == AppSecretName(pgc.Name) {
			s = buildAppSecret(pgc, pw, m.ca)
		}
		created, err := api.Create(ctx, s, metav1.CreateOptions{})
		if err == nil {
			m.secrets[w.name] = created // the role gets its password in this pass
			c.managed.created.add(created, c.cfg.Clock.Now())
			return fmt.Sprintf("created Secret %s with a generated password for role %s", w.name, w.role), "", nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return "", "", fmt.Errorf("creating secret %s: %w", w.name, err)
		}
	}
	return c.adoptSecret(ctx, pgc, w)
}

// adoptSecret labels a Secret the cache does not show. One a user made
// under a generated name is taken as is: its password goes to the role.
func (c *Cluster) adoptSecret(ctx context.Context, pgc *v1alpha1.PostgresCluster, w secretWork) (string, string, error) {
	api := c.cfg.Kube.CoreV1().Secrets(pgc.Namespace)
	live, err := api.Get(ctx, w.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Sprintf("Secret %s does not exist: create it with the password of role %s in key %q", w.name, w.role, passwordKey), nil
	case err != nil:
		return "", "", fmt.Errorf("reading secret %s: %w", w.name, err)
	case live.Labels[ClusterLabel] != "":
		return "", "", nil // labelled already: the cache is behind
	}
	if err := c.patchSecret(ctx, pgc.Namespace, w.name, "labelling", clusterLabelPatch(pgc.Name)); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("labelled Secret %s with %s=%s so that the operator sees its changes", w.name, ClusterLabel, pgc.Name), "", nil
}

// patchAppDetails writes the stale keys of the application Secret with a
// merge patch: the password, the user's, is never written back.
func (c *Cluster) patchAppDetails(ctx context.Context, pgc *v1alpha1.PostgresCluster, m *managedObs, w secretWork) (string, string, error) {
	stale := appDetailsStale(pgc, m.secrets[w.name], m.ca)
	if len(stale) == 0 {
		return "", "", nil
	}
	if err := c.patchSecret(ctx, pgc.Namespace, w.name, "updating", dataPatch(stale)); err != nil {
		return "", "", err
	}
	return fmt.Sprintf("updated the connection details in Secret %s", w.name), "", nil
}
