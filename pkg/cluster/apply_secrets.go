package cluster

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// applyPasswords carries out the password actions (plan_secrets.go). Each
// step says what it changed, and that sentence is the Event: a repeat on a
// stale cache that changes nothing stays silent. No sentence ever holds a
// password.
func (c *Cluster) applyPasswords(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) (bool, error) {
	var did string
	var err error
	eventType := corev1.EventTypeNormal
	switch act.kind {
	case actRecordPasswords:
		did, err = c.recordPasswords(ctx, pgc, obs)
	case actRestoreSecret:
		did, err = c.restoreSecrets(ctx, pgc, obs)
	case actRotatePassword:
		did, err = c.rotatePasswords(ctx, pgc, obs)
	case actRepairPassword:
		// A role that lost its password is news: something undid a change.
		eventType = corev1.EventTypeWarning
		did, err = c.repairPasswords(ctx, pgc, obs)
	case actForgetPrevious:
		did, err = c.forgetPrevious(ctx, pgc, obs)
	case actRefusePassword:
		c.reportRefusals(ctx, pgc, obs)
		return true, nil
	}
	if err != nil || did == "" {
		return false, err
	}
	c.cfg.Recorder.Event(pgc, eventType, string(act.kind), did)
	klog.FromContext(ctx).Info("Action applied", "action", string(act.kind), "member", act.member, "reason", did)
	return true, nil
}

// fillRecord completes the known record: from each user Secret with a
// usable password (right for an existing cluster: the operator used it
// until now), else with a generated one. It returns notes on the sources.
func fillRecord(pgc *v1alpha1.PostgresCluster, obs *observation) (passwords, []string, error) {
	var p passwords
	if obs.creds.record != nil {
		p = *obs.creds.record
	}
	var notes []string
	if pw, ok := userPassword(obs, pgc.Name, superuserRole); ok && obs.creds.login == loginDesired {
		// The role has the Secret's password (see loginCandidates).
		p = p.with(superuserRole, pw)
		notes = append(notes, fmt.Sprintf("postgres's from Secret %s, which the role has", superuserRole.secret(pgc.Name)))
	}
	for _, r := range managedRoles {
		if p.of(r) != "" {
			continue
		}
		pw, ok := userPassword(obs, pgc.Name, r)
		note := fmt.Sprintf("%s's from Secret %s", r.name, r.secret(pgc.Name))
		if !ok {
			generated, err := newPassword()
			if err != nil {
				return p, nil, err
			}
			pw, note = generated, fmt.Sprintf("%s's generated", r.name)
		}
		p = p.with(r, pw)
		notes = append(notes, note)
	}
	return p, notes, nil
}

// recordPasswords creates or rewrites the record.
func (c *Cluster) recordPasswords(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	p, notes, err := fillRecord(pgc, obs)
	if err != nil {
		return "", err
	}
	if err := c.writeRecord(ctx, pgc, obs.creds.inAPI, p); err != nil {
		return "", err
	}
	if len(notes) == 0 {
		notes = []string{"from the operator's memory"}
	}
	return fmt.Sprintf("wrote the roles' passwords to Secret %s (%s)", CredentialsSecretName(pgc.Name), strings.Join(notes, ", ")), nil
}

// writeRecord creates the record, or sets its keys and metadata with a
// merge patch, which needs no fresh copy of it.
func (c *Cluster) writeRecord(ctx context.Context, pgc *v1alpha1.PostgresCluster, exists bool, p passwords) error {
	api := c.cfg.Kube.CoreV1().Secrets(pgc.Namespace)
	want := buildCredentialsSecret(pgc, p)
	if !exists {
		_, err := api.Create(ctx, want, metav1.CreateOptions{})
		if err == nil {
			c.passwords.remember(p, c.cfg.Clock.Now())
			return nil
		}
		if !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating secret %s: %w", want.Name, err)
		}
	}
	data := map[string]any{}
	for k, v := range want.Data {
		data[k] = v
	}
	if p.previous == "" {
		data[recordPreviousKey] = nil // a merge patch removes a key set to null
	}
	patch := map[string]any{"data": data}
	patch["metadata"] = map[string]any{"labels": want.Labels, "annotations": want.Annotations, "ownerReferences": want.OwnerReferences}
	if err := c.patchSecret(ctx, pgc.Namespace, want.Name, "updating", patch); err != nil {
		return err
	}
	c.passwords.remember(p, c.cfg.Clock.Now())
	return nil
}

// restoreSecrets recreates missing user Secrets from the record and
// completes the superuser Secret's connection details.
func (c *Cluster) restoreSecrets(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	rec := obs.creds.record
	var did []string
	for _, r := range managedRoles {
		if obs.secrets[r.secret(pgc.Name)] != nil {
			continue
		}
		what, err := c.restoreSecret(ctx, pgc, r, rec.of(r))
		if err != nil {
			return "", err
		}
		if what != "" {
			did = append(did, what)
		}
	}
	if su := obs.secrets[SuperuserSecretName(pgc.Name)]; connectionDetailsStale(pgc, su, rec.superuser) || caStale(su, obs.tls.serverBundle) {
		if err := c.patchConnectionDetails(ctx, pgc, rec.superuser, obs.tls.serverBundle); err != nil {
			return "", err
		}
		did = append(did, "updated the connection details in Secret "+su.Name)
	}
	return strings.Join(did, "; "), nil
}

// restoreSecret creates a role's user Secret with the password the role
// has. A Secret of that name the cache does not show exists without the
// cluster label (the informers watch only labelled Secrets): someone made
// it by hand. It is labelled, not overwritten, so the operator sees its
// password and the next pass rotates to it.
func (c *Cluster) restoreSecret(ctx context.Context, pgc *v1alpha1.PostgresCluster, r pgRole, pw string) (string, error) {
	api := c.cfg.Kube.CoreV1().Secrets(pgc.Namespace)
	s := buildUserSecret(pgc, r, pw)
	_, err := api.Create(ctx, s, metav1.CreateOptions{})
	switch {
	case err == nil:
		return fmt.Sprintf("recreated Secret %s with the password role %s has", s.Name, r.name), nil
	case !apierrors.IsAlreadyExists(err):
		return "", fmt.Errorf("creating secret %s: %w", s.Name, err)
	}
	live, err := api.Get(ctx, s.Name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("reading secret %s: %w", s.Name, err)
	}
	if live.Labels[ClusterLabel] == pgc.Name {
		return "", nil // the cache is behind our own creation
	}
	if err := c.patchSecret(ctx, pgc.Namespace, s.Name, "labelling", clusterLabelPatch(pgc.Name)); err != nil {
		return "", err
	}
	return fmt.Sprintf("labelled Secret %s with %s=%s so that the operator watches it", s.Name, ClusterLabel, pgc.Name), nil
}

// patchConnectionDetails writes every key of the superuser Secret but the
// password, which stays the user's: a merge patch cannot undo an edit made
// meanwhile.
func (c *Cluster) patchConnectionDetails(ctx context.Context, pgc *v1alpha1.PostgresCluster, pw string, ca []byte) error {
	data := buildSuperuserSecret(pgc, pw).Data
	delete(data, passwordKey)
	if len(ca) > 0 {
		data[caCertKey] = ca
	}
	return c.patchSecret(ctx, pgc.Namespace, SuperuserSecretName(pgc.Name), "updating", dataPatch(data))
}

// rotatePasswords applies changed user Secrets. The record is written
// first: should ALTER ROLE fail or the operator stop before it, the
// superuser's previous password kept in the record still logs in, and the
// next pass finds the roles behind the record and repairs them. The
// superuser goes last, as the operator is logged in as it.
func (c *Cluster) rotatePasswords(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	roles := pendingRotations(pgc.Name, obs)
	next := *obs.creds.record
	for _, r := range roles {
		pw, _ := userPassword(obs, pgc.Name, r)
		next = next.with(r, pw)
	}
	if err := c.writeRecord(ctx, pgc, true, next); err != nil {
		return "", err
	}
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return "", err
	}
	var did []string
	for _, r := range roles {
		if err := c.cfg.Postgres.SetPassword(ctx, ep, r.name, next.of(r)); err != nil {
			return "", err
		}
		did = append(did, fmt.Sprintf("set the password in Secret %s on role %s", r.secret(pgc.Name), r.name))
		if r == superuserRole {
			if err := c.patchConnectionDetails(ctx, pgc, next.superuser, obs.tls.serverBundle); err != nil {
				return "", err
			}
		}
	}
	return strings.Join(did, "; "), nil
}

// repairPasswords sets the recorded passwords on the primary's roles that
// lack them; the replication role is recreated if it is gone.
func (c *Cluster) repairPasswords(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	ep, err := primaryEndpoint(pgc, obs)
	if err != nil {
		return "", err
	}
	rec := obs.creds.record
	var did []string
	if obs.creds.replicationStale {
		if err := c.cfg.Postgres.EnsureRole(ctx, ep, replicationUser, true, true); err != nil {
			return "", err
		}
		if err := c.cfg.Postgres.SetPassword(ctx, ep, replicationUser, rec.replication); err != nil {
			return "", err
		}
		did = append(did, fmt.Sprintf("set the recorded password on role %s, which did not have it", replicationUser))
	}
	if obs.creds.login == loginPrevious {
		if err := c.cfg.Postgres.SetPassword(ctx, ep, superuserRole.name, rec.superuser); err != nil {
			return "", err
		}
		did = append(did, "set the recorded password on role postgres, which still had its previous one")
	}
	return strings.Join(did, "; "), nil
}

// forgetPrevious drops the superuser's previous password from the record
// once no member can still have it, so a password rotated away (perhaps
// because it leaked) is kept nowhere.
func (c *Cluster) forgetPrevious(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) (string, error) {
	p := *obs.creds.record
	p.previous = ""
	if err := c.writeRecord(ctx, pgc, true, p); err != nil {
		return "", err
	}
	return fmt.Sprintf("every member has role postgres's new password: removed the previous one from Secret %s", CredentialsSecretName(pgc.Name)), nil
}

// reportRefusals tells of each refused password once, in a Warning Event.
func (c *Cluster) reportRefusals(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation) {
	for _, r := range refusals(pgc.Name, obs) {
		if c.passwords.reported[r.secret] == r.fingerprint {
			continue
		}
		c.cfg.Recorder.Event(pgc, corev1.EventTypeWarning, string(actRefusePassword), r.why)
		klog.FromContext(ctx).Info("Password refused", "secret", r.secret, "reason", r.why)
		c.passwords.reported[r.secret] = r.fingerprint
	}
}
