package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// pdbRetry is how long the operator waits after the API refused the
// disruption budget: long enough not to flood Events, short enough that a
// fixed RBAC or a removed look-alike is picked up without a restart.
const pdbRetry = 10 * time.Minute

// syncDisruptionBudget creates the named budget, or writes buildPDBs'
// fields over the stored one. It returns false when it wrote nothing: the
// API refused (remembered and reported once per try), or the budget changed
// since the cache saw it (the next pass compares again).
func (c *Cluster) syncDisruptionBudget(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, name string) (bool, error) {
	var want *policyv1.PodDisruptionBudget
	for _, b := range buildPDBs(pgc) {
		if b.Name == name {
			want = b
		}
	}
	if want == nil {
		return false, fmt.Errorf("no disruption budget named %s", name)
	}
	api := c.cfg.Kube.PolicyV1().PodDisruptionBudgets(pgc.Namespace)
	var err error
	if have := obs.drain.pdbs[name]; have == nil {
		_, err = api.Create(ctx, want, metav1.CreateOptions{})
		if err == nil {
			c.expectations.expect("pdb", want.Name, true, c.cfg.Clock.Now())
		}
	} else {
		update := have.DeepCopy()
		update.Spec = want.Spec
		if _, err = api.Update(ctx, update, metav1.UpdateOptions{}); apierrors.IsConflict(err) {
			return false, nil
		}
	}
	if pdbRefused(err) {
		c.pdbRefusal = pdbRefusal{at: c.cfg.Clock.Now(), why: fmt.Sprintf(
			"the PodDisruptionBudget %s was refused, node drains are not limited: %v", want.Name, err)}
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, "DisruptionBudgetRefused", c.pdbRefusal.why)
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("writing pod disruption budget %s: %w", want.Name, err)
	}
	return true, nil
}

// pdbRefused: the API will refuse the same write again. AlreadyExists
// means a budget of that name that the operator's informer does not see:
// not labelled as the cluster's, so not the operator's to overwrite.
func pdbRefused(err error) bool {
	return (apierrors.IsAlreadyExists(err) || apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) && !namespaceTerminating(err)
}

// pdbRefusal is the API's refusal of the budget, and when.
type pdbRefusal struct {
	at  time.Time
	why string
}

// current returns why the write was refused if the retry is not due yet.
func (r pdbRefusal) current(now time.Time) string {
	if r.why == "" || now.Sub(r.at) >= pdbRetry {
		return ""
	}
	return r.why
}
