package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// probeTimeout bounds the probe of all members in one pass.
const probeTimeout = 3 * time.Second

// observation is everything one reconcile pass knows.
type observation struct {
	members  members
	secrets  map[string]*corev1.Secret // the user-facing password Secrets
	services map[string]*corev1.Service
	creds    credentialsObs      // the record and how the roles match it
	safety   safetyObs           // what the safety rules check (safety_input.go)
	drain    drainObs            // the disruption budget and cordoned nodes (observe_drain.go)
	nodeLost map[string]nodeLoss // members whose node is lost, by name (observe_node_lost.go)
	backup   backupObs           // archiving and backups (backup_status.go)
	tls      tlsObs              // certificates (observe_tls.go)
	managed  *managedObs         // declared roles and databases (managed_observe.go)
	probedAt time.Time           // when the probes of this pass started
}

// observe reads the cluster's children from the listers and probes the
// PostgreSQL of every running member.
func (c *Cluster) observe(ctx context.Context, pgc *v1alpha1.PostgresCluster) (*observation, error) {
	ms, err := c.listMembers(pgc)
	if err != nil {
		return nil, err
	}
	obs := &observation{members: ms, secrets: map[string]*corev1.Secret{}, services: map[string]*corev1.Service{}}
	for _, name := range []string{SuperuserSecretName(pgc.Name), ReplicationSecretName(pgc.Name)} {
		s, err := c.ownSecret(pgc, name) // observe_tls.go
		if err != nil {
			return nil, err
		}
		if s != nil {
			obs.secrets[name] = s
		}
	}
	for _, name := range []string{RWServiceName(pgc.Name), ROServiceName(pgc.Name)} {
		s, err := c.cfg.Listers.Services.Services(pgc.Namespace).Get(name)
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("reading service %s: %w", name, err)
		}
		if err == nil {
			obs.services[name] = s
		}
	}
	if err := c.observeDrain(pgc, obs); err != nil {
		return nil, err
	}
	c.observeNodeLost(ctx, obs)
	c.observeKubelet(ctx, obs) // fence_kubelet.go
	if err := c.observeRecord(pgc, obs); err != nil {
		return nil, err
	}
	if err := c.observeTLS(ctx, pgc, obs); err != nil {
		return nil, err
	}
	c.observeVanished(ctx, obs) // vanished.go: before the probes, so positions are read after
	if candidates := obs.loginCandidates(pgc.Name); len(candidates) > 0 {
		obs.probedAt = c.cfg.Clock.Now()
		c.probeAll(ctx, pgc.Namespace, obs.members, candidates)
	}
	if rec := obs.creds.record; rec != nil && rec.complete() {
		c.observeRoles(ctx, pgc, obs)
	}
	c.observeBackups(ctx, pgc, obs) // backup_status.go
	if err := c.observeManaged(ctx, pgc, obs); err != nil {
		return nil, err
	}
	return obs, nil
}

// listMembers joins pods and volumes by member name.
func (c *Cluster) listMembers(pgc *v1alpha1.PostgresCluster) (members, error) {
	pods, err := c.cfg.Listers.ByCluster.podsOf(pgc.Namespace, pgc.Name) // index.go
	if err != nil {
		return nil, fmt.Errorf("listing pods: %w", err)
	}
	pvcs, err := c.cfg.Listers.ByCluster.pvcsOf(pgc.Namespace, pgc.Name)
	if err != nil {
		return nil, fmt.Errorf("listing volumes: %w", err)
	}
	byName := map[string]*member{}
	get := func(name string) *member {
		ord, ok := ordinalOf(pgc.Name, name)
		if !ok {
			return nil
		}
		if byName[name] == nil {
			byName[name] = &member{name: name, ordinal: ord}
		}
		return byName[name]
	}
	for _, p := range pods {
		if m := get(p.Labels[MemberLabel]); m != nil && p.Name == m.name {
			m.pod = p
		}
	}
	for _, v := range pvcs {
		if m := get(v.Labels[MemberLabel]); m != nil && v.Name == PVCName(m.name) {
			m.pvc = v
		}
	}
	var ms members
	for _, m := range byName {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return int(a.ordinal - b.ordinal) })
	return ms, nil
}

// probeAll probes every running member concurrently, so one hung member
// costs the pass one timeout, not one per member. It logs in with the first
// of the candidate passwords the member accepts and remembers which.
func (c *Cluster) probeAll(ctx context.Context, namespace string, ms members, candidates []string) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, m := range ms {
		if !m.running() {
			continue
		}
		wg.Go(func() { defer recoverProbe(ctx, m); c.probeMember(ctx, m, candidates) })
	}
	wg.Wait()
}

// probeMember tries the next candidate only when the server refused the
// password: a rotation that did not finish, or a failover that lost it,
// leaves the role with the previous one.
func (c *Cluster) probeMember(ctx context.Context, m *member, candidates []string) {
	for _, pw := range candidates {
		st, err := c.cfg.Postgres.Probe(ctx, endpoint(m, pw))
		if err == nil {
			m.db, m.dbErr, m.login, m.answeredAt = &st, nil, pw, c.cfg.Clock.Now()
			return
		}
		m.dbErr = err
		if !postgres.IsAuthFailed(err) {
			return
		}
	}
}

// endpoint is how the operator reaches a member: its pod IP, as superuser,
// with the password the member accepted at this pass's probe if it did.
func endpoint(m *member, password string) postgres.Endpoint {
	if m.login != "" {
		password = m.login
	}
	return postgres.Endpoint{Host: m.pod.Status.PodIP, Port: postgresPort, User: "postgres", Password: password, Database: "postgres", TLS: m.tls}
}

// superuserPassword is the superuser's password from the operator's record.
func (o *observation) superuserPassword(string) (string, bool) {
	if o.creds.record == nil || o.creds.record.superuser == "" {
		return "", false
	}
	return o.creds.record.superuser, true
}
