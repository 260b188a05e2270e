package cluster

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// recordedCreds is a record in the API holding pw for both roles, which
// the primary accepts.
func recordedCreds(pw string) credentialsObs {
	return credentialsObs{record: &passwords{superuser: pw, replication: pw}, inAPI: true, login: loginCurrent}
}

// Observation edits for the table below.
type obsEdit func(*observation)

func wants(secret func(string) string, pw string) obsEdit {
	return func(o *observation) {
		for name, s := range o.secrets {
			if name == secret("demo") {
				s = s.DeepCopy()
				s.Data[passwordKey] = []byte(pw)
				o.secrets[name] = s
			}
		}
	}
}

func noSecret(name string) obsEdit { return func(o *observation) { delete(o.secrets, name) } }
func noRecord(o *observation)      { o.creds.record = nil }
func recordOnlyInMemory(o *observation) {
	o.creds.inAPI = false
}
func staleURI(o *observation) {
	s := o.secrets["demo-superuser"].DeepCopy()
	s.Data["uri"] = []byte("postgresql://postgres:old@demo-rw.ns.svc:5432/postgres")
	o.secrets["demo-superuser"] = s
}
func login(l loginState) obsEdit      { return func(o *observation) { o.creds.login = l } }
func replicationStale(o *observation) { o.creds.replicationStale = true }
func previous(pw string) obsEdit {
	return func(o *observation) { o.creds.record.previous = pw }
}
func loggedIn(pw string) memberOpt { return func(m *member) { m.login = pw } }
func reported(secret, pw string) obsEdit {
	return func(o *observation) { o.creds.reported = map[string]string{secret: fingerprint(pw)} }
}

func TestPlanPasswords(t *testing.T) {
	fresh := testCluster(1)
	one := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) { p.Status.Phase = v1alpha1.PhaseRunning })
	two := testCluster(2, initialized("demo-1", 2), func(p *v1alpha1.PostgresCluster) { p.Status.Phase = v1alpha1.PhaseRunning })
	healthy := func(pgc *v1alpha1.PostgresCluster) []*member { return []*member{testMember(pgc, 1, up(RolePrimary))} }
	starting1 := func(pgc *v1alpha1.PostgresCluster) []*member {
		return []*member{testMember(pgc, 1, starting(RolePrimary))}
	}
	superuser := func(c string) string { return SuperuserSecretName(c) }
	replication := func(c string) string { return ReplicationSecretName(c) }

	tests := []struct {
		name    string
		pgc     *v1alpha1.PostgresCluster
		members func(*v1alpha1.PostgresCluster) []*member
		edits   []obsEdit
		kind    actionKind
		member  string
	}{
		{name: "new cluster: the record and Secrets first", pgc: fresh, edits: []obsEdit{noRecord, noSecret("demo-superuser"), noSecret("demo-replication")}, kind: actCreateSecrets},
		{name: "new cluster: a missing user Secret", pgc: fresh, edits: []obsEdit{noSecret("demo-replication")}, kind: actCreateSecrets},
		{name: "existing cluster without a record: migrate", pgc: one, members: healthy, edits: []obsEdit{noRecord}, kind: actRecordPasswords},
		{name: "record deleted, known from memory: rewrite", pgc: one, members: healthy, edits: []obsEdit{recordOnlyInMemory}, kind: actRecordPasswords},
		{name: "record first, even before failover", pgc: one, members: func(p *v1alpha1.PostgresCluster) []*member {
			return []*member{testMember(p, 1, up(RolePrimary), exited)}
		}, edits: []obsEdit{noRecord}, kind: actRecordPasswords},
		{name: "deleted superuser Secret is restored", pgc: one, members: healthy, edits: []obsEdit{noSecret("demo-superuser")}, kind: actRestoreSecret},
		{name: "deleted replication Secret is restored", pgc: one, members: healthy, edits: []obsEdit{noSecret("demo-replication")}, kind: actRestoreSecret},
		{name: "stale uri after a rotation", pgc: one, members: healthy, edits: []obsEdit{staleURI}, kind: actRestoreSecret},
		{name: "edited superuser password: rotate", pgc: one, members: healthy, edits: []obsEdit{wants(superuser, "N3wS3cret")}, kind: actRotatePassword, member: "demo-1"},
		{name: "edited replication password: rotate", pgc: one, members: healthy, edits: []obsEdit{wants(replication, "N3wS3cret")}, kind: actRotatePassword, member: "demo-1"},
		{name: "rotation waits for a healthy primary", pgc: one, members: starting1, edits: []obsEdit{wants(superuser, "N3wS3cret")}, kind: actWait, member: "demo-1"},
		{name: "failover before rotation", pgc: one, members: func(p *v1alpha1.PostgresCluster) []*member {
			return []*member{testMember(p, 1, up(RolePrimary), exited)}
		}, edits: []obsEdit{wants(superuser, "N3wS3cret")}, kind: actFence, member: "demo-1"},
		{name: "rotation waits for the bootstrap", pgc: fresh, members: healthy, edits: []obsEdit{wants(superuser, "N3wS3cret")}, kind: actFinishBootstrap},
		{name: "empty password: refused once", pgc: one, members: healthy, edits: []obsEdit{wants(superuser, "")}, kind: actRefusePassword},
		{name: "trailing newline: refused", pgc: one, members: healthy, edits: []obsEdit{wants(replication, "pw\n")}, kind: actRefusePassword},
		{name: "refusal already reported: nothing to do", pgc: one, members: healthy,
			edits: []obsEdit{wants(superuser, ""), reported("demo-superuser", "")}, kind: actNone},
		{name: "a new bad password is reported again", pgc: one, members: healthy,
			edits: []obsEdit{wants(superuser, "\t"), reported("demo-superuser", "")}, kind: actRefusePassword},
		{name: "primary has the previous superuser password: repair", pgc: one, members: healthy, edits: []obsEdit{login(loginPrevious)}, kind: actRepairPassword, member: "demo-1"},
		{name: "replication role lacks the recorded password: repair", pgc: one, members: healthy, edits: []obsEdit{replicationStale}, kind: actRepairPassword, member: "demo-1"},
		{name: "repair before rotation", pgc: one, members: healthy, edits: []obsEdit{replicationStale, wants(superuser, "N3wS3cret")}, kind: actRepairPassword},
		{name: "locked out: say so", pgc: one, members: starting1, edits: []obsEdit{login(loginRefused)}, kind: actWait, member: "demo-1"},
		{name: "primary has the user Secret's password: record it", pgc: one, members: healthy,
			edits: []obsEdit{login(loginDesired), wants(superuser, "N3wS3cret")}, kind: actRecordPasswords, member: "demo-1"},
		{name: "every member has the new password: forget the previous", pgc: two, members: func(p *v1alpha1.PostgresCluster) []*member {
			return []*member{testMember(p, 1, up(RolePrimary), loggedIn("pw")), testMember(p, 2, up(RoleReplica), loggedIn("pw"))}
		}, edits: []obsEdit{previous("old")}, kind: actForgetPrevious, member: "demo-1"},
		{name: "a member still on the previous password: keep it", pgc: two, members: func(p *v1alpha1.PostgresCluster) []*member {
			return []*member{testMember(p, 1, up(RolePrimary), loggedIn("pw")), testMember(p, 2, up(RoleReplica), loggedIn("old"))}
		}, edits: []obsEdit{previous("old")}, kind: actNone},
		{name: "a member that did not answer: keep it", pgc: two, members: func(p *v1alpha1.PostgresCluster) []*member {
			return []*member{testMember(p, 1, up(RolePrimary), loggedIn("pw")), testMember(p, 2, up(RoleReplica), unreachable)}
		}, edits: []obsEdit{previous("old")}, kind: actWait},
		{name: "in sync: nothing to do", pgc: one, members: healthy, kind: actNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ms []*member
			if tt.members != nil {
				ms = tt.members(tt.pgc)
			}
			obs := obsOf(tt.pgc, ms...)
			for _, e := range tt.edits {
				e(obs)
			}
			in := input(tt.pgc, obs)
			in.now = time.Now()
			got := plan(in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			if tt.member != "" {
				assert.Equal(t, tt.member, got.member)
			}
			assert.NotEmpty(t, got.reason)
			assert.NotContains(t, got.reason, "N3wS3cret", "never a password in a reason")
			switch got.kind {
			case actRecordPasswords, actRestoreSecret, actRotatePassword, actRepairPassword, actRefusePassword, actForgetPrevious:
				assert.Equal(t, v1alpha1.PhaseRunning, phaseOf(tt.pgc, obs, got), "password actions keep a running cluster Running")
			}
		})
	}
}

func TestValidatePassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"s3cret":                               true,
		"with: colon \\ and sp":                true,
		"":                                     false,
		"pw\n":                                 false,
		"tab\there":                            false,
		"pässword":                             false,
		string(make([]byte, maxPasswordLen+1)): false,
	} {
		assert.Equal(t, ok, validatePassword(pw) == nil, "%q", pw)
	}
}

func TestPasswordsKeepThePreviousSuperuserPassword(t *testing.T) {
	p := passwords{superuser: "a", replication: "r"}
	assert.Equal(t, []string{"a"}, p.loginCandidates())
	p = p.with(superuserRole, "b")
	assert.Equal(t, passwords{superuser: "b", replication: "r", previous: "a"}, p)
	assert.Equal(t, []string{"b", "a"}, p.loginCandidates())
	p = p.with(replicationRole, "r2")
	assert.Equal(t, "a", p.previous, "a replication rotation keeps the superuser's fallback")
	assert.Equal(t, p, recordOf(buildCredentialsSecret(testCluster(1), p)), "round trip")
}

func TestPasswordMemoryResolve(t *testing.T) {
	pgc := testCluster(1)
	a, b := passwords{superuser: "a", replication: "a"}, passwords{superuser: "b", replication: "b"}
	now := time.Now()
	secret := func(p passwords) *corev1.Secret { return buildCredentialsSecret(pgc, p) }

	var m passwordMemory
	got, inAPI := m.resolve(nil, now)
	assert.Nil(t, got, "nothing known")
	assert.False(t, inAPI)

	got, inAPI = m.resolve(secret(a), now)
	assert.Equal(t, a, *got)
	assert.True(t, inAPI)

	got, inAPI = m.resolve(nil, now)
	assert.Equal(t, a, *got, "deleted: remembered")
	assert.False(t, inAPI, "so it is written again")

	m.remember(b, now)
	got, inAPI = m.resolve(secret(a), now.Add(time.Second))
	assert.Equal(t, b, *got, "our write wins over a cache that is behind")
	assert.True(t, inAPI)
	got, _ = m.resolve(secret(a), now.Add(time.Minute))
	assert.Equal(t, a, *got, "until the cache has had time to catch up")

	damaged := secret(a)
	delete(damaged.Data, recordReplicationKey)
	got, inAPI = m.resolve(damaged, now.Add(time.Minute))
	assert.Equal(t, a, *got, "a damaged record is rewritten from memory")
	assert.False(t, inAPI)
}

func TestPasswordsInSyncCondition(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1))
	tests := []struct {
		name   string
		edits  []obsEdit
		ok     bool
		reason string
	}{
		{name: "in sync", ok: true, reason: reasonInSync},
		{name: "no record yet: no condition", edits: []obsEdit{noRecord}},
		{name: "refused", edits: []obsEdit{wants(SuperuserSecretName, "")}, reason: reasonPasswordRefused},
		{name: "locked out", edits: []obsEdit{login(loginRefused)}, reason: reasonLoginRefused},
		{name: "record deleted", edits: []obsEdit{recordOnlyInMemory}, reason: reasonRecordMissing},
		{name: "user Secret deleted", edits: []obsEdit{noSecret("demo-replication")}, reason: reasonSecretMissing},
		{name: "repair", edits: []obsEdit{replicationStale}, reason: reasonRepairPending},
		{name: "rotation", edits: []obsEdit{wants(ReplicationSecretName, "N3wS3cret")}, reason: reasonRotationPending},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := obsOf(pgc, testMember(pgc, 1, up(RolePrimary)))
			for _, e := range tt.edits {
				e(obs)
			}
			ok, reason, msg := passwordsInSync(pgc, obs)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.reason, reason)
			assert.NotContains(t, msg, "N3wS3cret")
		})
	}
}
