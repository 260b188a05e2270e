package cluster

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// probeSpy counts the operator's probes the server refused.
type probeSpy struct {
	postgres.Client
	mu      sync.Mutex
	refused int
}

func (s *probeSpy) Probe(ctx context.Context, ep postgres.Endpoint) (postgres.Status, error) {
	st, err := s.Client.Probe(ctx, ep)
	if err != nil {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
	}
	return st, err
}

func (s *probeSpy) failures() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

// pwFixture is a running, initialized cluster of one member whose roles
// have the passwords su1 and r1.
type pwFixture struct {
	*actorFixture
	pgc *v1alpha1.PostgresCluster
	spy *probeSpy
}

const primaryIP = "10.0.0.1"

func newPwFixture(t *testing.T, record *passwords, serverSuperuser string) *pwFixture {
	pgc := testCluster(1, initialized("demo-1", 1))
	primary := testMember(pgc, 1, up(RolePrimary))
	objects := []runtime.Object{primary.pod, primary.pvc, buildSuperuserSecret(pgc, "su1"), buildReplicationSecret(pgc, "r1"),
		buildServices(pgc)[0], buildServices(pgc)[1], buildPDBs(pgc)[0], buildPDBs(pgc)[1]}
	if record != nil {
		objects = append(objects, buildCredentialsSecret(pgc, *record))
	}
	f := &pwFixture{actorFixture: newActorFixture(t, pgc, objects...), pgc: pgc}
	f.db.Add(primaryIP, dbfake.Server{Status: postgres.Status{Timeline: 1}, Parameters: desiredParameters(pgc),
		Roles: map[string]dbfake.Role{
			"postgres":      {Login: true, Password: serverSuperuser},
			replicationUser: {Login: true, Replication: true, Password: "r1"},
		}})
	f.spy = &probeSpy{Client: f.db}
	f.c.cfg.Postgres = f.spy
	return f
}

// settle runs passes until the cluster is ready and nothing is left to do.
func (f *pwFixture) settle() {
	f.t.Helper()
	f.passUntil("ready", func() bool { return condition(f.current(), v1alpha1.ConditionReady) == metav1.ConditionTrue })
	for range 5 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(f.t, err)
	}
	f.events() // drop what the settling said
	f.kube.ClearActions()
	f.pg.ClearActions()
}

func (f *pwFixture) secret(name string) (*corev1.Secret, error) {
	return f.kube.CoreV1().Secrets("ns").Get(f.ctx, name, metav1.GetOptions{})
}

func (f *pwFixture) record() passwords {
	s, err := f.secret(CredentialsSecretName("demo"))
	require.NoError(f.t, err)
	return recordOf(s)
}

// setUserPassword edits a user Secret's password and waits until the
// actor's cache has the edit.
func (f *pwFixture) setUserPassword(name, pw string) {
	f.t.Helper()
	s, err := f.secret(name)
	require.NoError(f.t, err)
	s.Data[passwordKey] = []byte(pw)
	_, err = f.kube.CoreV1().Secrets("ns").Update(f.ctx, s, metav1.UpdateOptions{})
	require.NoError(f.t, err)
	require.Eventually(f.t, func() bool {
		cached, err := f.c.cfg.Listers.Secrets.Secrets("ns").Get(name)
		return err == nil && string(cached.Data[passwordKey]) == pw
	}, 5*time.Second, 5*time.Millisecond)
}

func (f *pwFixture) deleteSecret(name string) {
	f.t.Helper()
	require.NoError(f.t, f.kube.CoreV1().Secrets("ns").Delete(f.ctx, name, metav1.DeleteOptions{}))
	require.Eventually(f.t, func() bool {
		_, err := f.c.cfg.Listers.Secrets.Secrets("ns").Get(name)
		return apierrors.IsNotFound(err)
	}, 5*time.Second, 5*time.Millisecond)
}

// events drains the recorded Events ("Type Reason message").
func (f *actorFixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.c.cfg.Recorder.(*record.FakeRecorder).Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func (f *pwFixture) serverPassword(role string) string {
	return f.db.Server(primaryIP).Roles[role].Password
}

func (f *pwFixture) passwordsInSync() string {
	for _, c := range f.current().Status.Conditions {
		if c.Type == v1alpha1.ConditionPasswordsInSync {
			return string(c.Status) + "/" + c.Reason
		}
	}
	return ""
}

func inSync() *passwords { return &passwords{superuser: "su1", replication: "r1"} }

func TestDeletedSuperuserSecretIsRecreatedWithTheSamePassword(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	f.deleteSecret("demo-superuser")

	f.passUntil("recreated", f.exists(func() error { _, err := f.secret("demo-superuser"); return err }))
	s, _ := f.secret("demo-superuser")
	assert.Equal(t, "su1", string(s.Data[passwordKey]), "the password the role has: no lockout")
	assert.Equal(t, buildSuperuserSecret(f.pgc, "su1").Data, s.Data, "with its connection details")
	assert.Equal(t, "demo", s.Labels[ClusterLabel])
	assert.Contains(t, f.events(), "Normal RestoreSecret recreated Secret demo-superuser with the password role postgres has")

	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	assert.Empty(t, f.db.CallsTo("SetPassword"), "no role was touched")
	assert.Zero(t, f.spy.failures(), "every probe logged in")
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady))
}

func TestDeletedRecordAndSecretAreRecreatedFromMemory(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	f.deleteSecret(CredentialsSecretName("demo"))
	f.deleteSecret("demo-superuser")

	f.passUntil("both back", func() bool {
		_, err1 := f.secret("demo-superuser")
		_, err2 := f.secret(CredentialsSecretName("demo"))
		return err1 == nil && err2 == nil
	})
	assert.Equal(t, *inSync(), f.record(), "the record as it was")
	s, _ := f.secret("demo-superuser")
	assert.Equal(t, "su1", string(s.Data[passwordKey]))
	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	assert.Empty(t, f.db.CallsTo("SetPassword"))
	assert.Zero(t, f.spy.failures())
}

func TestEditedSuperuserPasswordIsRotatedInOnePass(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	f.setUserPassword("demo-superuser", "su2: new")

	_, err := f.c.reconcile(f.ctx, f.current())
	require.NoError(t, err)
	assert.Equal(t, "su2: new", f.serverPassword("postgres"), "applied within one pass")
	calls := f.db.CallsTo("SetPassword")
	require.Len(t, calls, 1)
	assert.Equal(t, []string{"postgres"}, calls[0].Args)
	assert.Equal(t, passwords{superuser: "su2: new", replication: "r1", previous: "su1"}, f.record())
	s, _ := f.secret("demo-superuser")
	want := buildSuperuserSecret(f.pgc, "su2: new").Data
	want[caCertKey] = testCA.Cert
	assert.Equal(t, want, s.Data, "the uri follows")
	events := strings.Join(f.events(), "\n")
	assert.Contains(t, events, "Normal RotatePassword set the password in Secret demo-superuser on role postgres")
	assert.NotContains(t, events, "su2")

	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	assert.Zero(t, f.spy.failures(), "no probe ever used a password the role did not have")
	assert.Len(t, f.db.CallsTo("SetPassword"), 1, "once")
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady))

	f.passUntil("the rotated-away password forgotten", func() bool { return f.record().previous == "" })
	assert.Equal(t, passwords{superuser: "su2: new", replication: "r1"}, f.record())
	assert.Contains(t, strings.Join(f.events(), "\n"), "Normal ForgetPreviousPassword")
	f.kube.ClearActions()
	for range 3 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
	}
	assert.Empty(t, writes(f.kube.Actions()), "steady again")
}

func TestEditedReplicationPasswordIsRotated(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	f.setUserPassword("demo-replication", "r2")

	_, err := f.c.reconcile(f.ctx, f.current())
	require.NoError(t, err)
	assert.Equal(t, "r2", f.serverPassword(replicationUser))
	assert.Equal(t, "su1", f.serverPassword("postgres"))
	assert.Equal(t, passwords{superuser: "su1", replication: "r2"}, f.record(), "member pods mount this")
	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	require.Len(t, f.db.CallsTo("SetPassword"), 1)
	assert.Zero(t, f.spy.failures())
}

func TestEmptyPasswordIsRefusedWithAnEvent(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	f.setUserPassword("demo-superuser", "")

	f.passUntil("refused", func() bool { return f.passwordsInSync() == "False/PasswordRefused" })
	for range 3 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"Warning PasswordRefused Secret demo-superuser: the password is empty; " +
		"role postgres keeps its current password"}, f.events(), "one Event, not one per pass")
	assert.Empty(t, f.db.CallsTo("SetPassword"))
	assert.Equal(t, *inSync(), f.record())
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady), "the cluster carries on")
	assert.Zero(t, f.spy.failures())

	f.setUserPassword("demo-superuser", "su3")
	f.passUntil("rotated", func() bool { return f.serverPassword("postgres") == "su3" })
}

func TestPasswordsSteadyStateMakesNoWrites(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.settle()
	before := len(f.db.Calls())
	for range 3 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
	}
	assert.Empty(t, writes(append(f.kube.Actions(), f.pg.Actions()...)))
	for _, c := range f.db.Calls()[before:] {
		assert.Equal(t, "Probe", c.Method, "the replication role was checked once, not every pass")
	}
	assert.Equal(t, "True/InSync", f.passwordsInSync())
}

func TestExistingClusterGetsARecordFromItsSecrets(t *testing.T) {
	f := newPwFixture(t, nil, "su1")
	_, err := f.c.reconcile(f.ctx, f.current())
	require.NoError(t, err)
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady),
		"the pass before the record exists logs in with the Secret's password, as before: no flap on upgrade")
	assert.Zero(t, f.spy.failures())
	f.passUntil("recorded", f.exists(func() error { _, err := f.secret(CredentialsSecretName("demo")); return err }))
	assert.Equal(t, *inSync(), f.record(), "the passwords in use until now")
	s, _ := f.secret(CredentialsSecretName("demo"))
	assert.True(t, *s.OwnerReferences[0].Controller, "owned by the cluster")
	assert.Contains(t, s.Annotations[DescriptionAnnotation], "Do not edit")
	f.passUntil("ready", func() bool { return condition(f.current(), v1alpha1.ConditionReady) == metav1.ConditionTrue })
	assert.Empty(t, f.db.CallsTo("SetPassword"))
	assert.Len(t, f.db.CallsTo("RoleHasPassword"), 1, "the replication role was checked")
}

// An operator that stopped between writing the record and ALTER ROLE, or a
// failover that lost the ALTER ROLE, leaves the role with the previous
// password: the operator still logs in, and sets the recorded one.
func TestInterruptedRotationIsRepaired(t *testing.T) {
	f := newPwFixture(t, &passwords{superuser: "su2", replication: "r1", previous: "su1"}, "su1")
	f.setUserPassword("demo-superuser", "su2")
	f.passUntil("repaired", func() bool { return f.serverPassword("postgres") == "su2" })
	assert.Contains(t, strings.Join(f.events(), "\n"),
		"Warning RepairPassword set the recorded password on role postgres, which still had its previous one")
	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady))
}

func TestReplicationRoleLosingItsPasswordIsRepaired(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.db.Update(primaryIP, func(s *dbfake.Server) { delete(s.Roles, replicationUser) })
	f.passUntil("repaired", func() bool { return f.serverPassword(replicationUser) == "r1" })
	assert.True(t, f.db.Server(primaryIP).Roles[replicationUser].Replication)
}

func TestLockedOutSaysSo(t *testing.T) {
	f := newPwFixture(t, inSync(), "someone-else's")
	f.passUntil("locked out", func() bool { return f.passwordsInSync() == "False/LoginRefused" })
	st := f.current().Status
	assert.Contains(t, conditionMessage(st, v1alpha1.ConditionProgressing), "cannot log in to demo-1 as postgres")
	assert.NotContains(t, conditionMessage(st, v1alpha1.ConditionProgressing), "su1")
	assert.Empty(t, f.db.CallsTo("SetPassword"))

	// The way out: the password the role has, put into the user Secret.
	f.setUserPassword("demo-superuser", "someone-else's")
	f.passUntil("in sync", func() bool { return f.passwordsInSync() == "True/InSync" })
	assert.Equal(t, "someone-else's", f.record().superuser)
	assert.Empty(t, f.db.CallsTo("SetPassword"), "the role already had it")
	assert.Equal(t, metav1.ConditionTrue, condition(f.current(), v1alpha1.ConditionReady))
}

func conditionMessage(st v1alpha1.PostgresClusterStatus, t string) string {
	for _, c := range st.Conditions {
		if c.Type == t {
			return c.Message
		}
	}
	return ""
}

// The informers watch only labelled Secrets: one recreated by hand without
// the label is invisible until the operator labels it, and then its
// password is rotated to.
func TestUnlabelledSecretIsAdoptedAndRotatedTo(t *testing.T) {
	f := newPwFixture(t, inSync(), "su1")
	f.c.cfg.Listers.Secrets = labelledSecrets{f.c.cfg.Listers.Secrets}
	f.settle()

	f.deleteSecret("demo-superuser")
	_, err := f.kube.CoreV1().Secrets("ns").Create(f.ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "demo-superuser", Namespace: "ns"},
		Data:       map[string][]byte{passwordKey: []byte("mine")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)

	f.passUntil("rotated to the hand-made Secret", func() bool { return f.serverPassword("postgres") == "mine" })
	s, _ := f.secret("demo-superuser")
	assert.Equal(t, "demo", s.Labels[ClusterLabel])
	assert.Equal(t, "mine", string(s.Data[passwordKey]), "never overwritten")
	assert.Contains(t, strings.Join(f.events(), "\n"), "labelled Secret demo-superuser")
}

// labelledSecrets hides Secrets without the cluster label, as the
// operator's label-filtered informers do (the fake clientset's watches do
// not filter by label).
type labelledSecrets struct{ corelisters.SecretLister }

func (l labelledSecrets) Secrets(ns string) corelisters.SecretNamespaceLister {
	return labelledNamespaceSecrets{l.SecretLister.Secrets(ns)}
}

type labelledNamespaceSecrets struct {
	corelisters.SecretNamespaceLister
}

func (l labelledNamespaceSecrets) Get(name string) (*corev1.Secret, error) {
	s, err := l.SecretNamespaceLister.Get(name)
	if err == nil && s.Labels[ClusterLabel] == "" {
		return nil, apierrors.NewNotFound(corev1.Resource("secrets"), name)
	}
	return s, err
}

// A failover that loses the rotation (async replication: the promoted
// replica never received the ALTER ROLE) leaves the new primary with the
// previous superuser password. The operator still logs in to the replica,
// promotes it, and sets the recorded password on it.
func TestFailoverLosingARotationKeepsControl(t *testing.T) {
	pgc := testCluster(2, initialized("demo-1", 2))
	old := testMember(pgc, 1, up(RolePrimary), exited)
	replica := testMember(pgc, 2, up(RoleReplica))
	replica.pod.Status.PodIP = "10.0.0.2"
	rec := passwords{superuser: "su2", replication: "r1", previous: "su1"}
	f := newActorFixture(t, pgc, old.pod, old.pvc, replica.pod, replica.pvc,
		buildCredentialsSecret(pgc, rec), buildSuperuserSecret(pgc, "su2"), buildReplicationSecret(pgc, "r1"),
		buildServices(pgc)[0], buildServices(pgc)[1])
	f.db.Add("10.0.0.2", dbfake.Server{
		Status:     postgres.Status{InRecovery: true, Timeline: 1, ReceivedLSN: 100, ReplayedLSN: 100, ReceiverStatus: "streaming"},
		Parameters: desiredParameters(pgc),
		Roles: map[string]dbfake.Role{
			"postgres":      {Login: true, Password: "su1"},
			replicationUser: {Login: true, Replication: true, Password: "r1"},
		}})

	f.passUntil("promoted and repaired", func() bool {
		s := f.db.Server("10.0.0.2")
		return !s.Status.InRecovery && s.Roles["postgres"].Password == "su2"
	})
	assert.Equal(t, "demo-2", f.current().Status.Primary)
}
