package cluster

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// The sequence tests need one ordered record of every write an actor pass
// makes, whichever fake it went through: the Kubernetes clientset, the
// PostgresCluster clientset or the fake PostgreSQL. Each fake has its own
// recorder (Actions(), Calls()), which says nothing about the order between
// them; opLog is that shared order.

// step is one write: "patch pods demo-1", "update postgresclusters/status
// demo" or "sql EnsureSlot @demo-1 demo_2" (@ names the member whose
// PostgreSQL received the call).
type step struct {
	what   string
	action k8stesting.Action // nil for SQL calls
}

type opLog struct {
	mu    sync.Mutex
	steps []step
	hosts map[string]string // pod IP → member name
}

func (l *opLog) add(s step) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

// writes returns the recorded steps as strings, in order.
func (l *opLog) writes() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.steps))
	for _, s := range l.steps {
		out = append(out, s.what)
	}
	return out
}

// action returns the first recorded API action whose string is what.
func (l *opLog) action(t *testing.T, what string) k8stesting.Action {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.steps {
		if s.what == what && s.action != nil {
			return s.action
		}
	}
	t.Fatalf("no action %q in %v", what, l.steps)
	return nil
}

func (l *opLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = nil
}

func isWrite(verb string) bool {
	switch verb {
	case "create", "update", "patch", "delete", "delete-collection":
		return true
	}
	return false
}

// describe renders an API action as "verb resource[/subresource] name".
func describe(a k8stesting.Action) string {
	res := a.GetResource().Resource
	if sub := a.GetSubresource(); sub != "" {
		res += "/" + sub
	}
	name := ""
	switch a := a.(type) {
	case interface{ GetObject() runtime.Object }: // create, update
		if m, err := meta.Accessor(a.GetObject()); err == nil {
			name = m.GetName()
		}
	case interface{ GetName() string }: // patch, delete
		name = a.GetName()
	}
	return fmt.Sprintf("%s %s %s", a.GetVerb(), res, name)
}

type reactorClient interface {
	PrependReactor(verb, resource string, reaction k8stesting.ReactionFunc)
}

// recordWrites logs every write through c. It must be prepended last so it
// sees each action before any reactor that handles it.
func (l *opLog) recordWrites(c reactorClient) {
	c.PrependReactor("*", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if isWrite(a.GetVerb()) {
			l.add(step{what: describe(a), action: a.DeepCopy()})
		}
		return false, nil, nil
	})
}

// bumpResourceVersions makes the fake API stamp objects as the API server
// does: a new resourceVersion on every create and update, a UID on every
// create. The fake tracker stores objects as they come, and the actor relies
// on both: versions to prefer its own newer writes over a stale cache
// (freshest), pod UIDs to key the SQL changes it made to each pod.
func bumpResourceVersions(c reactorClient) {
	var rv atomic.Int64
	rv.Store(1000)
	stamp := func(a k8stesting.Action) (bool, runtime.Object, error) {
		o, ok := a.(interface{ GetObject() runtime.Object })
		if !ok {
			return false, nil, nil
		}
		if m, err := meta.Accessor(o.GetObject()); err == nil {
			m.SetResourceVersion(strconv.FormatInt(rv.Add(1), 10))
			if a.GetVerb() == "create" && m.GetUID() == "" {
				m.SetUID(types.UID("uid-" + m.GetName() + "-" + m.GetResourceVersion()))
			}
		}
		return false, nil, nil
	}
	c.PrependReactor("create", "*", stamp)
	c.PrependReactor("update", "*", stamp)
}

// gracefulPodDeletes makes the fake API delete pods as the real one does: a
// delete with a grace period only marks the pod terminating (the kubelet
// removes it once its containers stopped, see world.kubeletRemoves), and a
// UID precondition that does not match is a Conflict.
func gracefulPodDeletes(f *actorFixture) {
	tracker := f.kube.Tracker()
	f.kube.PrependReactor("delete", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		d := a.(k8stesting.DeleteAction)
		opts := d.GetDeleteOptions()
		obj, err := tracker.Get(podsResource, d.GetNamespace(), d.GetName())
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*corev1.Pod).DeepCopy()
		if p := opts.Preconditions; p != nil && p.UID != nil && *p.UID != pod.UID {
			return true, nil, apierrors.NewConflict(podsResource.GroupResource(), pod.Name, fmt.Errorf("UID precondition failed"))
		}
		if opts.GracePeriodSeconds == nil || *opts.GracePeriodSeconds == 0 {
			return false, nil, nil // removed at once by the default reactor
		}
		if pod.DeletionTimestamp == nil {
			pod.DeletionTimestamp = &metav1.Time{Time: now}
			pod.DeletionGracePeriodSeconds = opts.GracePeriodSeconds
			if err := tracker.Update(podsResource, pod, pod.Namespace); err != nil {
				return true, nil, err
			}
		}
		return true, pod, nil
	})
}

var podsResource = corev1.SchemeGroupVersion.WithResource("pods")

// recordingPG logs the calls that change a PostgreSQL instance, then passes
// them to the fake. Reads (Probe, Slots, AutoConf, ...) are not logged: the
// fake's own Calls() has them.
type recordingPG struct {
	postgres.Client
	log *opLog
}

func (r recordingPG) sql(method string, ep postgres.Endpoint, args ...string) {
	r.log.mu.Lock()
	host := r.log.hosts[ep.Host]
	r.log.mu.Unlock()
	if host == "" {
		host = ep.Host
	}
	what := fmt.Sprintf("sql %s @%s", method, host)
	for _, a := range args {
		what += " " + a
	}
	r.log.add(step{what: what})
}

func (r recordingPG) EnsureSlot(ctx context.Context, ep postgres.Endpoint, name string) error {
	r.sql("EnsureSlot", ep, name)
	return r.Client.EnsureSlot(ctx, ep, name)
}

func (r recordingPG) DropSlot(ctx context.Context, ep postgres.Endpoint, name string) error {
	r.sql("DropSlot", ep, name)
	return r.Client.DropSlot(ctx, ep, name)
}

func (r recordingPG) SetParameters(ctx context.Context, ep postgres.Endpoint, set map[string]string, reset []string) (bool, error) {
	r.sql("SetParameters", ep)
	return r.Client.SetParameters(ctx, ep, set, reset)
}

func (r recordingPG) Reload(ctx context.Context, ep postgres.Endpoint) error {
	r.sql("Reload", ep)
	return r.Client.Reload(ctx, ep)
}

func (r recordingPG) SetSynchronousStandbyNames(ctx context.Context, ep postgres.Endpoint, value string) error {
	r.sql("SetSynchronousStandbyNames", ep, "'"+value+"'")
	return r.Client.SetSynchronousStandbyNames(ctx, ep, value)
}

func (r recordingPG) Promote(ctx context.Context, ep postgres.Endpoint, wait time.Duration) error {
	r.sql("Promote", ep)
	return r.Client.Promote(ctx, ep, wait)
}

func (r recordingPG) Checkpoint(ctx context.Context, ep postgres.Endpoint) error {
	r.sql("Checkpoint", ep)
	return r.Client.Checkpoint(ctx, ep)
}

func (r recordingPG) EnsureRole(ctx context.Context, ep postgres.Endpoint, role string, login, replication bool) error {
	r.sql("EnsureRole", ep, role)
	return r.Client.EnsureRole(ctx, ep, role, login, replication)
}

func (r recordingPG) SetPassword(ctx context.Context, ep postgres.Endpoint, role, password string) error {
	r.sql("SetPassword", ep, role)
	return r.Client.SetPassword(ctx, ep, role, password)
}

// world is an actor over fakes that already hold a cluster's members,
// Secrets and Services, with every write logged in one order.
type world struct {
	*actorFixture
	log *opLog
}

// memberIP is the pod IP of the member with the given ordinal, so that SQL
// calls can be traced back to a member.
func memberIP(ord int32) string { return fmt.Sprintf("10.0.0.%d", ord) }

// worldRoles are the roles every member has, with the passwords of the
// world's Secrets and record ("pw").
var worldRoles = map[string]dbfake.Role{
	"postgres":      {Login: true, Password: "pw"},
	replicationUser: {Login: true, Replication: true, Password: "pw"},
	"app":           {Login: true, Password: "pw", ConnectionLimit: -1},
}

// worldDatabases: the application's database, as declared by default.
var worldDatabases = map[string]dbfake.Database{"app": {Owner: "app"}}

// newWorld stores pgc, its Secrets (user Secrets and the operator's record
// of the passwords, all in agreement), its Services and the members (their
// pods and volumes) in the fakes. A member whose db is set gets a fake
// PostgreSQL answering with it; one without (unreachable, not running) has
// none.
func newWorld(t *testing.T, pgc *v1alpha1.PostgresCluster, ms ...*member) *world {
	t.Helper()
	return newWorldOf(t, pgc, true, ms...)
}

// newWorldOf is newWorld, with the cluster's PodDisruptionBudget stored or
// not (deleting it afterwards may go unseen: the fake API does not replay a
// deletion made before the informer's watch started).
func newWorldOf(t *testing.T, pgc *v1alpha1.PostgresCluster, withPDB bool, ms ...*member) *world {
	t.Helper()
	// A stored object always has a resourceVersion; the actor compares them
	// to tell its own newer writes from a stale cache (freshest).
	pgc = pgc.DeepCopy()
	pgc.ResourceVersion = "1"
	objects := []runtime.Object{
		buildSuperuserSecret(pgc, "pw"), buildReplicationSecret(pgc, "pw"),
		buildServices(pgc)[0], buildServices(pgc)[1],
		buildCredentialsSecret(pgc, passwords{superuser: "pw", replication: "pw"}),
		buildAppSecret(pgc, "pw", nil),
	}
	if withPDB {
		for _, b := range buildPDBs(pgc) {
			objects = append(objects, b)
		}
	}
	objects = withTLSSecrets(t, pgc, objects) // tls_fixture_test.go
	log := &opLog{hosts: map[string]string{}}
	for _, m := range ms {
		if m.pod != nil {
			if m.pod.Status.PodIP != "" {
				m.pod.Status.PodIP = memberIP(m.ordinal)
				log.hosts[m.pod.Status.PodIP] = m.name
			}
			objects = append(objects, m.pod)
		}
		if m.pvc != nil {
			objects = append(objects, m.pvc)
		}
	}
	f := newActorFixture(t, pgc, objects...)
	// Many passes make many Events; a nil channel drops them.
	f.c.cfg.Recorder = &record.FakeRecorder{}
	for _, m := range ms {
		if m.db != nil && m.pod != nil {
			// What initdb or the clone left in postgresql.auto.conf.
			f.db.Add(m.pod.Status.PodIP, dbfake.Server{Status: *m.db, Parameters: desiredParameters(pgc), Roles: worldRoles, Databases: worldDatabases})
		}
	}
	f.c.cfg.Postgres = recordingPG{Client: f.db, log: log}
	gracefulPodDeletes(f)
	bumpResourceVersions(f.kube)
	bumpResourceVersions(f.pg)
	log.recordWrites(f.kube)
	log.recordWrites(f.pg)
	return &world{actorFixture: f, log: log}
}

// pass runs one reconcile pass on the stored object.
func (w *world) pass() {
	w.t.Helper()
	_, err := w.c.reconcile(w.ctx, w.current())
	require.NoError(w.t, err)
}

// waitPod waits until the pod lister's view of a pod satisfies ok (nil when
// the pod does not exist), so the next pass plans on what the last one did.
func (w *world) waitPod(name string, ok func(*corev1.Pod) bool) {
	w.t.Helper()
	require.Eventually(w.t, func() bool {
		pod, err := w.c.cfg.Listers.Pods.Pods(w.key.Namespace).Get(name)
		if apierrors.IsNotFound(err) {
			return ok(nil)
		}
		return err == nil && ok(pod)
	}, 5*time.Second, time.Millisecond, "pod %s", name)
}

// waitClaimGone waits until the claim lister no longer has a member's
// volume claim, which a pass deleted through the API.
func (w *world) waitClaimGone(member string) {
	w.t.Helper()
	require.Eventually(w.t, func() bool {
		_, err := w.c.cfg.Listers.PVCs.PersistentVolumeClaims(w.key.Namespace).Get(PVCName(member))
		return apierrors.IsNotFound(err)
	}, 5*time.Second, time.Millisecond, "claim of %s gone", member)
}

// kubeletRemoves removes a terminating pod, as the kubelet does once its
// containers have stopped.
func (w *world) kubeletRemoves(name string) {
	w.t.Helper()
	require.NoError(w.t, w.kube.Tracker().Delete(podsResource, w.key.Namespace, name))
	w.waitPod(name, func(p *corev1.Pod) bool { return p == nil })
}

// statusWrites returns the PostgresCluster written by each status update,
// in order.
func (w *world) statusWrites() []*v1alpha1.PostgresCluster {
	w.log.mu.Lock()
	defer w.log.mu.Unlock()
	var out []*v1alpha1.PostgresCluster
	for _, s := range w.log.steps {
		if u, ok := s.action.(k8stesting.UpdateAction); ok && u.GetSubresource() == "status" {
			out = append(out, u.GetObject().(*v1alpha1.PostgresCluster))
		}
	}
	return out
}
