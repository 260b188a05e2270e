package cluster

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// catalogRecheck is how long a primary whose roles and databases matched
// the declaration is trusted without reading them again. Changes to the
// spec, the password Secrets or the primary are seen at once (they change
// the fingerprint); only changes made by hand in PostgreSQL wait for it.
// It keeps the steady state at the probes alone.
const catalogRecheck = time.Minute

// managedRetry is how long an attempt on one role, database, Secret or
// script stands before it is tried again with the same inputs: a failure
// is not retried on every pass, and a change that does not hold cannot
// make this rule fire on every pass and starve the rules after it.
const managedRetry = time.Minute

// managedObs is what a pass knows of the declared roles and databases.
type managedObs struct {
	// ca is what the members' certificate chains to, for the app Secret
	// (observe_tls.go); nil until the certificates exist.
	ca        []byte
	roles     []wantRole
	databases []wantDatabase
	// secrets by name, as the cache has them (nil: not there).
	secrets map[string]*corev1.Secret
	// foreign: a Secret the operator would generate exists, labelled for
	// another cluster (two clusters' derived names can meet): it is never
	// used nor touched. Secret name → that cluster.
	foreign map[string]string
	// sql: the primary can take changes this pass.
	sql        bool
	primaryUID string
	// catalog is the primary's state of the declared names, read this
	// pass; nil when not read: no primary, or verified.
	catalog *postgres.Catalog
	// verified: the same declaration matched this primary less than
	// catalogRecheck ago, so it was not read again.
	verified bool
	// scriptChanged: the failed next script's text is not the one that
	// failed (observeFailedScript).
	scriptChanged bool
	// passwordOK: the role's stored verifier was made from its Secret's
	// password.
	passwordOK map[string]bool
	mem        *managedMemory
}

// managedMemory is the actor's memory of the declared objects.
type managedMemory struct {
	verifiedFP string
	verifiedAt time.Time
	// passwords caches the verifier checks (a key derivation each).
	passwords map[string]passwordCheck
	// extensions: database → fingerprint of the extensions created, on
	// which primary pod.
	extensions map[string]string
	// tries: the last attempt on each item ("role/x", "database/x",
	// "secret/x", "initsql"), successful or not.
	tries map[string]attempt
	// ran: scripts run, until status says so (init_sql.go).
	ran ranScripts
	// failedInput: what the last failed script met (scriptInput).
	failedInput string
	// created: Secrets created, until the cache shows them.
	created createdSecrets
}

type passwordCheck struct {
	verifier, password string // fingerprints
	ok                 bool
}

// attempt is one try on an item: message is "" when it succeeded.
type attempt struct {
	fingerprint, message string
	at                   time.Time
}

func (m *managedMemory) tried(key, fp, message string, now time.Time) {
	if m.tries == nil {
		m.tries = map[string]attempt{}
	}
	m.tries[key] = attempt{fingerprint: fp, message: message, at: now}
}

// observeManaged reads the password Secrets from the cache and, from a
// healthy primary, the declared roles and databases in one query, unless
// they matched recently.
func (c *Cluster) observeManaged(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) error {
	m := &managedObs{roles: desiredRoles(pgc), databases: desiredDatabases(pgc),
		secrets: map[string]*corev1.Secret{}, foreign: map[string]string{}, mem: &c.managed, ca: obs.tls.serverBundle}
	obs.managed = m
	if err := c.observeRoleSecrets(pgc, m); err != nil {
		return err
	}
	p := obs.members.primary()
	if !pgc.Status.Initialized || p == nil || !p.healthy() || !p.isPrimary() {
		return nil
	}
	if _, err := primaryEndpoint(pgc, obs); err != nil {
		return nil // no password to log in with: the password rules see to it
	}
	m.sql, m.primaryUID = true, string(p.pod.UID)
	c.observeFailedScript(ctx, pgc, m)
	if c.managed.verifiedFP == m.fingerprint() && c.cfg.Clock.Since(c.managed.verifiedAt) < catalogRecheck {
		m.verified = true
		return nil
	}
	c.readCatalog(ctx, pgc, obs)
	return nil
}

// observeRoleSecrets finds each password Secret in the cache, or among
// the ones this actor just created and the cache does not show yet.
func (c *Cluster) observeRoleSecrets(pgc *v1alpha1.PostgresCluster, m *managedObs) error {
	for _, r := range m.roles {
		if r.secret == "" || m.secrets[r.secret] != nil || m.foreign[r.secret] != "" {
			continue
		}
		s, err := c.cfg.Listers.Secrets.Secrets(pgc.Namespace).Get(r.secret)
		switch {
		case err != nil && !apierrors.IsNotFound(err):
			return fmt.Errorf("reading secret %s: %w", r.secret, err)
		case err != nil:
			s = c.managed.created.get(r.secret, c.cfg.Clock.Now())
		default:
			c.managed.created.forget(r.secret)
		}
		switch {
		case s == nil:
		case r.generated && s.Labels[ClusterLabel] != pgc.Name:
			m.foreign[r.secret] = s.Labels[ClusterLabel]
		default:
			m.secrets[r.secret] = s
		}
	}
	return nil
}

// readCatalog reads the declared names on the primary: at observation,
// and again after a change, so status tells what the change did.
func (c *Cluster) readCatalog(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) {
	m := obs.managed
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	cat, err := c.cfg.Postgres.ReadCatalog(ctx, ep, roleNames(m.roles), databaseNames(m.databases))
	if err != nil {
		klog.FromContext(ctx).V(2).Info("Cannot read the declared roles and databases", "err", err)
		m.sql, m.catalog = false, nil
		return
	}
	m.catalog = &cat
	m.passwordOK = c.managed.checkPasswords(m)
	if m.inSync() {
		c.managed.verifiedFP, c.managed.verifiedAt = m.fingerprint(), c.cfg.Clock.Now()
	}
}

// createdSecrets are Secrets the actor created, kept until the cache
// shows them (or expectationTimeout passed), so the passes right after a
// creation neither see it missing nor create it again.
type createdSecrets map[string]createdSecret

type createdSecret struct {
	secret *corev1.Secret
	at     time.Time
}

func (cs *createdSecrets) add(s *corev1.Secret, now time.Time) {
	if *cs == nil {
		*cs = createdSecrets{}
	}
	(*cs)[s.Name] = createdSecret{secret: s, at: now}
}

func (cs createdSecrets) get(name string, now time.Time) *corev1.Secret {
	if e, ok := cs[name]; ok && now.Sub(e.at) < expectationTimeout {
		return e.secret
	}
	return nil
}

func (cs createdSecrets) forget(name string) { delete(cs, name) }

// fingerprint identifies the declaration, the passwords asked for and the
// primary: what a verified catalog stands for.
func (m *managedObs) fingerprint() string {
	pws := map[string]string{}
	for name, s := range m.secrets {
		pws[name] = fingerprint(string(s.Data[passwordKey]))
	}
	return itemFingerprint(m.roles, m.databases, pws, m.primaryUID)
}

// checkPasswords compares each role's verifier with its Secret's
// password, deriving a key only when either changed since the last check.
func (mem *managedMemory) checkPasswords(m *managedObs) map[string]bool {
	if mem.passwords == nil {
		mem.passwords = map[string]passwordCheck{}
	}
	out := map[string]bool{}
	for _, r := range m.roles {
		pw, ok := m.password(r)
		have, exists := m.catalog.Roles[r.Name]
		if !ok || !exists {
			continue
		}
		want := passwordCheck{verifier: fingerprint(have.Verifier), password: fingerprint(pw)}
		if prev, ok := mem.passwords[r.Name]; ok && prev.verifier == want.verifier && prev.password == want.password {
			out[r.Name] = prev.ok
			continue
		}
		want.ok = postgres.PasswordMatches(have.Verifier, pw)
		mem.passwords[r.Name] = want
		out[r.Name] = want.ok
	}
	return out
}

// password is the usable password the role's Secret asks for.
func (m *managedObs) password(r wantRole) (string, bool) {
	s := m.secrets[r.secret]
	if r.secret == "" || s == nil {
		return "", false
	}
	pw := string(s.Data[passwordKey])
	return pw, validatePassword(pw) == nil
}
