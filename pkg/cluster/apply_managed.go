package cluster

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// applyManaged carries out the actions of plan_managed.go. Each item (a
// Secret, a role, a database, a script) is tried on its own and its
// outcome remembered: a failure shows in status, is announced once by a
// Warning Event (announceManaged) and never stops the other items. The
// action fails as a whole only when the primary or the API cannot be
// reached; then nothing is remembered and the next pass tries again.
func (c *Cluster) applyManaged(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) (bool, error) {
	var did []string
	var err error
	if act.kind == actRunInitSQL {
		did, err = c.runInitSQL(ctx, pgc, obs)
	} else {
		did, err = c.syncManaged(ctx, pgc, obs)
	}
	if len(did) > 0 {
		msg := strings.Join(did, "; ")
		c.cfg.Recorder.Event(pgc, corev1.EventTypeNormal, string(act.kind), msg)
		klog.FromContext(ctx).Info("Action applied", "action", string(act.kind), "reason", msg)
		c.cfg.metrics().ActionApplied(string(act.kind))
	}
	return len(did) > 0, err
}

// failureMessage is what users read of a failed item: PostgreSQL's words,
// without the operator's "postgres <op> <address>" prefix. No password is
// ever in it: the calls never send one but as a verifier.
func failureMessage(err error) string {
	var pe *postgres.Error
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// outcome is the message an attempt leaves: "" for success.
func outcome(err error) string {
	if err == nil {
		return ""
	}
	return failureMessage(err)
}

// syncManaged: the Secrets first, as a role's password comes from one.
func (c *Cluster) syncManaged(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) ([]string, error) {
	did, err := c.syncRoleSecrets(ctx, pgc, obs)
	if err != nil || !obs.managed.sql {
		return did, err
	}
	roles, err := c.syncRoles(ctx, pgc, obs)
	if did = append(did, roles...); err != nil {
		return did, err
	}
	dbs, err := c.syncDatabases(ctx, pgc, obs)
	if did = append(did, dbs...); err == nil && len(did) > 0 {
		c.readCatalog(ctx, pgc, obs) // status then reports what the changes did
	}
	return did, err
}

func (c *Cluster) syncRoles(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) ([]string, error) {
	m := obs.managed
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return nil, err
	}
	now := c.cfg.Clock.Now()
	var did []string
	for _, w := range orderRoles(m.rolesToSync(now)) {
		what, err := c.syncRole(ctx, ep, m, w)
		if postgres.IsUnreachable(err) {
			return did, err
		}
		c.managed.tried(roleKey(w.Name), m.roleFP(w.wantRole), outcome(err), now)
		if err == nil {
			did = append(did, what)
		}
	}
	return did, nil
}

func (c *Cluster) syncRole(ctx context.Context, ep postgres.Endpoint, m *managedObs, w roleWork) (string, error) {
	pg := c.cfg.Postgres
	if w.what == "drop" {
		return "dropped role " + w.Name, pg.DropManagedRole(ctx, ep, w.Name)
	}
	pw, ok := m.password(w.wantRole)
	if !ok || m.passwordOK[w.Name] {
		pw = "" // none to set: the role keeps the one it has
	}
	if err := pg.EnsureManagedRole(ctx, ep, w.ManagedRole, pw); err != nil {
		return "", err
	}
	var did []string
	if w.what != "password" {
		did = append(did, map[string]string{"create": "created", "alter": "altered"}[w.what]+" role "+w.Name)
	}
	if pw != "" {
		did = append(did, fmt.Sprintf("set the password in Secret %s on role %s", w.secret, w.Name))
	}
	return strings.Join(did, ", "), nil
}

// orderRoles puts a role after the roles of the same pass it joins, so a
// group and its member declared together are made in one pass, and drops
// last.
func orderRoles(ws []roleWork) []roleWork {
	var out, rest, drops []roleWork
	pending := map[string]bool{}
	for _, w := range ws {
		if w.what == "drop" {
			drops = append(drops, w)
		} else {
			rest, pending[w.Name] = append(rest, w), true
		}
	}
	for len(rest) > 0 {
		var later []roleWork
		for _, w := range rest {
			if slices.ContainsFunc(w.InRoles, func(g string) bool { return pending[g] && g != w.Name }) {
				later = append(later, w)
				continue
			}
			out = append(out, w)
			delete(pending, w.Name)
		}
		if len(later) == len(rest) { // a cycle: PostgreSQL refuses it, and says so
			out = append(out, later...)
			break
		}
		rest = later
	}
	return append(out, drops...)
}

func (c *Cluster) syncDatabases(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) ([]string, error) {
	m := obs.managed
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return nil, err
	}
	now := c.cfg.Clock.Now()
	ws := m.databasesToSync(now)
	// Drops last: a database dropped and another created under its owner
	// in the same pass need no order, but data goes only after the rest.
	slices.SortStableFunc(ws, func(a, b dbWork) int { return boolCmp(a.what == "drop", b.what == "drop") })
	var did []string
	for _, w := range ws {
		what, err := c.syncDatabase(ctx, ep, m, w)
		if postgres.IsUnreachable(err) {
			return did, err
		}
		c.managed.tried(databaseKey(w.name), m.databaseFP(w.wantDatabase), outcome(err), now)
		if what != "" {
			did = append(did, what)
		}
	}
	return did, nil
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

func (c *Cluster) syncDatabase(ctx context.Context, ep postgres.Endpoint, m *managedObs, w dbWork) (string, error) {
	pg := c.cfg.Postgres
	if w.what == "drop" {
		if err := pg.DropDatabase(ctx, ep, w.name, w.withData); err != nil {
			return "", err
		}
		if w.withData {
			return fmt.Sprintf("dropped database %s with its data (reclaim: delete)", w.name), nil
		}
		return fmt.Sprintf("dropped database %s, which had no tables", w.name), nil
	}
	var did []string
	if w.what == "create" || w.what == "owner" {
		if err := pg.EnsureDatabase(ctx, ep, w.name, w.owner); err != nil {
			return "", err
		}
		done := "created database %s owned by %s"
		if w.what == "owner" {
			done = "gave database %s to %s"
		}
		did = append(did, fmt.Sprintf(done, w.name, w.owner))
	}
	if fp := m.extensionsFP(w.wantDatabase); len(w.extensions) > 0 && c.managed.extensions[w.name] != fp {
		if err := pg.EnsureExtensions(ctx, ep, w.name, w.extensions); err != nil {
			return strings.Join(did, ", "), err
		}
		if c.managed.extensions == nil {
			c.managed.extensions = map[string]string{}
		}
		c.managed.extensions[w.name] = fp
		did = append(did, fmt.Sprintf("made sure of extensions %s in database %s", strings.Join(w.extensions, ", "), w.name))
	}
	return strings.Join(did, ", "), nil
}
