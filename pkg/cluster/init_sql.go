package cluster

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// spec.bootstrap.initdb.databaseInitSQL: scripts run once each, in order,
// in the application database, each in one transaction (RunScript).
//
// What ran is recorded in status.initSQL.applied, a count: all state lives
// in the API, and a count is enough because the list is immutable (it is
// part of spec.bootstrap). No marker table is kept in the user's database.
// The count is written by the status update that ends the pass that ran
// the script (the actor remembers it until then, so a failed status write
// never runs a script twice); only an operator crash between the commit
// and that write runs it again, which is why scripts are best written to
// be repeatable (IF NOT EXISTS).
//
// A script that fails is rolled back, reported (condition InitSQLApplied,
// a Warning Event) and tried again after managedRetry, at once on a new
// primary, or on the next pass once its ConfigMap or Secret holds other
// text (observeFailedScript). The scripts after it wait. Nothing else
// waits for them.

// ranScripts is the actor's memory of the count, for one cluster object.
type ranScripts struct {
	uid string
	n   int
}

// applied is how many scripts ran: status, or the actor's newer memory.
func (m *managedObs) applied(pgc *v1alpha1.PostgresCluster) int {
	n := 0
	if pgc.Status.InitSQL != nil {
		n = int(pgc.Status.InitSQL.Applied)
	}
	if m.mem.ran.uid == string(pgc.UID) {
		n = max(n, m.mem.ran.n)
	}
	return n
}

func scriptKey(i int) string { return fmt.Sprintf("%s/%d", initSQLKey, i) }

// runInitSQL runs the next script.
func (c *Cluster) runInitSQL(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) ([]string, error) {
	m := obs.managed
	now := c.cfg.Clock.Now()
	i, ok := m.nextScript(pgc, now)
	if !ok {
		return nil, nil
	}
	ref := pgc.Spec.InitSQL()[i]
	script, problem, err := c.readScript(ctx, pgc.Namespace, ref)
	if err != nil {
		return nil, err
	}
	input := scriptInput(script, problem)
	if problem == "" {
		ep, err := primaryEndpoint(pgc, obs)
		if err != nil {
			return nil, err
		}
		err = c.cfg.Postgres.RunScript(ctx, ep, pgc.Spec.AppDatabase(), script)
		if postgres.IsUnreachable(err) {
			return nil, err
		}
		problem = outcome(err)
	}
	c.managed.tried(scriptKey(i), m.scriptFP(pgc, i), problem, now)
	if problem != "" {
		c.managed.failedInput = input
		return nil, nil
	}
	c.managed.ran = ranScripts{uid: string(pgc.UID), n: i + 1}
	return []string{fmt.Sprintf("ran databaseInitSQL[%d] (%s) in database %s", i, describeSQLRef(ref), pgc.Spec.AppDatabase())}, nil
}

// scriptInput identifies what a try of a script met: its text, or why
// there was none.
func scriptInput(script, problem string) string { return itemFingerprint(script, problem) }

// observeFailedScript reads the next script again while its failure waits
// for managedRetry, so a fixed ConfigMap or Secret (or one created at
// last) runs on the next pass. The informers do not hold the user's
// objects, so this is a read a pass, for a cluster whose script failed
// only; an error reading it leaves the retry to the clock.
func (c *Cluster) observeFailedScript(ctx context.Context, pgc *v1alpha1.PostgresCluster, m *managedObs) {
	i := m.applied(pgc)
	if i >= len(pgc.Spec.InitSQL()) {
		return
	}
	t, ok := m.mem.tries[scriptKey(i)]
	if !ok || t.message == "" || !m.waiting(scriptKey(i), m.scriptFP(pgc, i), c.cfg.Clock.Now()) {
		return
	}
	script, problem, err := c.readScript(ctx, pgc.Namespace, pgc.Spec.InitSQL()[i])
	m.scriptChanged = err == nil && scriptInput(script, problem) != m.mem.failedInput
}

// scriptSource names the object a script is read from.
func scriptSource(ref v1alpha1.SQLRef) string {
	if ref.ConfigMap != "" {
		return "ConfigMap"
	}
	return "Secret"
}

// readScript reads a script from the API (scripts are read until they
// ran, not cached: the informers hold labelled objects only). A missing
// object or key is the user's to fix; other errors are retried.
func (c *Cluster) readScript(ctx context.Context, ns string, ref v1alpha1.SQLRef) (string, string, error) {
	if ref.ConfigMap != "" {
		cm, err := c.cfg.Kube.CoreV1().ConfigMaps(ns).Get(ctx, ref.ConfigMap, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return "", fmt.Sprintf("ConfigMap %s does not exist", ref.ConfigMap), nil
		case err != nil:
			return "", "", fmt.Errorf("reading configmap %s: %w", ref.ConfigMap, err)
		}
		if v, ok := cm.Data[ref.Key]; ok {
			return v, "", nil
		}
		if v, ok := cm.BinaryData[ref.Key]; ok {
			return string(v), "", nil
		}
		return "", fmt.Sprintf("ConfigMap %s has no key %s", ref.ConfigMap, ref.Key), nil
	}
	s, err := c.cfg.Kube.CoreV1().Secrets(ns).Get(ctx, ref.Secret, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return "", fmt.Sprintf("Secret %s does not exist", ref.Secret), nil
	case err != nil:
		return "", "", fmt.Errorf("reading secret %s: %w", ref.Secret, err)
	}
	if v, ok := s.Data[ref.Key]; ok {
		return string(v), "", nil
	}
	return "", fmt.Sprintf("Secret %s has no key %s", ref.Secret, ref.Key), nil
}
