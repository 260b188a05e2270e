package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// credentialsObs is what a pass knows of the passwords (see credentials.go).
type credentialsObs struct {
	// record is the operator's record: as the cache has it, or as this
	// actor last wrote it while the cache catches up, or as remembered
	// when the Secret is gone (then inAPI is false). nil: nothing known.
	record *passwords
	inAPI  bool
	// login is how the primary let the operator in as postgres.
	login loginState
	// replicationStale: the primary's replication role lacks the recorded
	// password (or the role itself is gone).
	replicationStale bool
	// reported maps a user Secret to the fingerprint of its refused
	// password already reported in an Event.
	reported map[string]string
}

// loginState is what the primary said to the operator's superuser login.
type loginState int

const (
	loginUnknown  loginState = iota // no primary answered
	loginCurrent                    // the recorded password works
	loginPrevious                   // only the previous one does: the role needs the recorded one
	loginDesired                    // only the user Secret's does: the record needs it
	loginRefused                    // none does: the operator is locked out
)

// passwordMemory is the actor's own knowledge of the record.
type passwordMemory struct {
	known    *passwords // the last record seen or written
	wrote    *passwords // the last record written, until the cache shows it
	wroteAt  time.Time
	reported map[string]string // see credentialsObs.reported
}

// observeRecord reads the record and the actor's memory of it.
func (c *Cluster) observeRecord(pgc *v1alpha1.PostgresCluster, obs *observation) error {
	s, err := c.cfg.Listers.Secrets.Secrets(pgc.Namespace).Get(CredentialsSecretName(pgc.Name))
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("reading secret %s: %w", CredentialsSecretName(pgc.Name), err)
	}
	if err != nil {
		s = nil
	}
	mem := &c.passwords
	obs.creds.record, obs.creds.inAPI = mem.resolve(s, c.cfg.Clock.Now())
	if mem.reported == nil {
		mem.reported = map[string]string{}
	}
	// A refusal is reported again once the Secret holds another password.
	for name, fp := range mem.reported {
		if us := obs.secrets[name]; us == nil || fingerprint(string(us.Data[passwordKey])) != fp {
			delete(mem.reported, name)
		}
	}
	obs.creds.reported = mem.reported
	return nil
}

// resolve picks the record this pass works with; s is the cache's (nil
// when absent). The actor's own recent write wins over a cache that has
// not caught up, as status does in freshest.
func (m *passwordMemory) resolve(s *corev1.Secret, now time.Time) (*passwords, bool) {
	if m.wrote != nil && now.Before(m.wroteAt.Add(expectationTimeout)) {
		if s == nil || recordOf(s) != *m.wrote {
			return m.wrote, true
		}
	}
	m.wrote = nil
	if s == nil {
		return m.known, false
	}
	p := recordOf(s)
	if !p.complete() && m.known != nil {
		return m.known, false // damaged: rewrite it from memory
	}
	m.known = &p
	return &p, true
}

// remember records a write of the record.
func (m *passwordMemory) remember(p passwords, now time.Time) {
	m.known, m.wrote, m.wroteAt = &p, &p, now
}

// observeRoles says how the primary's roles match the record. The
// superuser's login tells for itself; the replication role's verifier is
// checked once per primary pod and record, so the steady state costs no
// query.
func (c *Cluster) observeRoles(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) {
	p := obs.members.primary()
	rec := obs.creds.record
	switch {
	case p == nil || !p.running():
		return
	case p.db != nil && p.login == rec.superuser:
		obs.creds.login = loginCurrent
	case p.db != nil && p.login == rec.previous:
		obs.creds.login = loginPrevious
	case p.db != nil:
		obs.creds.login = loginDesired
	case postgres.IsAuthFailed(p.dbErr):
		obs.creds.login = loginRefused
	}
	if !pgc.Status.Initialized || p.db == nil || p.db.InRecovery {
		return // the replication role exists once the bootstrap is finished
	}
	key, want := appliedKey("passwords", p), fingerprint(obs.creds.record.replication)
	if c.applied[key] == want {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	ok, err := c.cfg.Postgres.RoleHasPassword(ctx, endpoint(p, ""), replicationUser, obs.creds.record.replication)
	switch {
	case err != nil:
		klog.FromContext(ctx).V(2).Info("Cannot check the replication role's password", "member", p.name, "err", err)
	case ok:
		c.applied[key] = want
	default:
		obs.creds.replicationStale = true
	}
}

// loginCandidates are the superuser passwords the operator tries, in
// order: the record's, then the user Secret's. The last one is what lets a
// user end a lockout (the record lost with the operator's memory) by
// putting the password the role has into the Secret; it is also how the
// operator logs in before an existing cluster has a record.
func (o *observation) loginCandidates(cluster string) []string {
	var out []string
	if o.creds.record != nil && o.creds.record.superuser != "" {
		out = o.creds.record.loginCandidates()
	}
	if pw, ok := userPassword(o, cluster, superuserRole); ok && !slices.Contains(out, pw) {
		out = append(out, pw)
	}
	return out
}
