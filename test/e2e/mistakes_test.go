//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// Everyday mistakes a new user makes, as they make them: each must end in a
// working cluster once fixed, never in a wedged one.

// A cluster created with an image that does not exist waits with the
// reason in its status; fixing spec.image starts the seed afresh (it never
// initialised, so nothing is lost) and the cluster becomes Ready.
func TestMistakeWrongImageThenFixed(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "wrong-image")
	f.KubectlOK(t, framework.ClusterYAML("img", 1, "  image: localhost/no-such-image:1\n"), "-n", ns, "apply", "-f", "-")
	framework.Eventually(t, 2*time.Minute, "the image pull error named in status", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "img").Status.Conditions, v1alpha1.ConditionProgressing)
		return c != nil && strings.Contains(c.Message, "Image"), framework.Errorf("Progressing: %+v", c)
	})

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "img", "--type=json", "-p", `[{"op":"remove","path":"/spec/image"}]`)
	f.WaitReady(t, ns, "img", lifecycleReadyTimeout)
	events := clusterEvents(t, f, ns, "img", "ReplaceSeed")
	require.NotEmpty(t, events, "an Event says the seed was replaced")
	assert.Contains(t, events[0], "no data is lost")
	_, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "img-1-data", metav1.GetOptions{})
	assert.Error(t, err, "the failed seed's empty volume is gone")
}

// A setting PostgreSQL refuses does not stop the cluster: it is Ready with
// every other setting applied, the refusal is reported once as a Warning
// Event and in the Progressing condition, and fixing it applies it.
func TestMistakeParameterPostgresRefuses(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "bad-param")
	pw := createReadyCluster(t, f, ns, "bp", 1, "  parameters:\n    shared_buffers: banana\n    work_mem: 8MB\n")
	primary, _ := f.Roles(t, ns, "bp")
	assert.Equal(t, "8MB", f.Query(t, ns, primary, pw, "show work_mem"), "the good setting is applied")
	assert.Equal(t, "128MB", f.Query(t, ns, primary, pw, "show shared_buffers"), "the refused one is left out")
	framework.Eventually(t, time.Minute, "the refusal reported in Progressing", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "bp").Status.Conditions, v1alpha1.ConditionProgressing)
		return c != nil && c.Reason == "ParameterRejected" && strings.Contains(c.Message, "shared_buffers"),
			framework.Errorf("Progressing: %+v", c)
	})
	require.Len(t, clusterEvents(t, f, ns, "bp", "ParameterRejected"), 1, "one Warning Event, not one per pass")

	// A replica is added meanwhile: the refusal blocks nothing.
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "bp", "--type=merge", "-p", `{"spec":{"size":2,"parameters":{"shared_buffers":"64MB","work_mem":"8MB"}}}`)
	f.WaitReady(t, ns, "bp", lifecycleReadyTimeout)
	framework.Eventually(t, 3*time.Minute, "the fixed setting applied and the condition clear", func() (bool, error) {
		pgc := f.Cluster(t, ns, "bp")
		c := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionProgressing)
		primary, err := f.PrimaryPod(ns, "bp")
		if err != nil {
			return false, err
		}
		sb, err := f.PSQL(ns, "bp", primary, pw, "show shared_buffers")
		return err == nil && strings.TrimSpace(sb) == "64MB" && c != nil && c.Reason != "ParameterRejected" &&
				meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionReady),
			framework.Errorf("shared_buffers %q err %v, Progressing %+v", sb, err, c)
	})
}

// clusterEvents returns the messages of a cluster's Events with a reason.
func clusterEvents(t *testing.T, f *framework.Framework, ns, cluster, reason string) []string {
	t.Helper()
	// The operator records Events through a broadcaster that writes them
	// after the status it sets with them: a condition seen first does not
	// mean its Event is stored yet.
	var out []string
	framework.Eventually(t, eventTimeout, "an Event "+reason+" about "+cluster, func() (bool, error) {
		list, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + cluster + ",reason=" + reason})
		if err != nil {
			return false, err
		}
		out = out[:0]
		for _, ev := range list.Items {
			out = append(out, ev.Message)
		}
		return len(out) > 0, framework.Errorf("no Event %s yet", reason)
	})
	return out
}

// eventTimeout bounds the wait for an Event the operator has decided to
// record; the broadcaster writes it within a second unless the API server
// is slow.
const eventTimeout = 30 * time.Second

// An image whose PostgreSQL is not the cluster's major version is refused
// by the member before it touches any data, and the cluster says why.
func TestMistakeImageOfAnotherMajorVersion(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "wrong-major")
	f.KubectlOK(t, strings.Replace(framework.ClusterYAML("major", 1, "  image: localhost/postgres:15\n"),
		"postgresVersion: 15", "postgresVersion: 16", 1), "-n", ns, "apply", "-f", "-")
	framework.Eventually(t, 2*time.Minute, "Degraded with the version mismatch", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "major").Status.Conditions, v1alpha1.ConditionDegraded)
		return c != nil && c.Reason == "ImageVersionMismatch" &&
				strings.Contains(c.Message, "the image runs PostgreSQL 15, the cluster is PostgreSQL 16"),
			framework.Errorf("Degraded: %+v", c)
	})
	assert.NotEmpty(t, clusterEvents(t, f, ns, "major", "ImageVersionMismatch"), "a Warning Event says why")
	assert.False(t, f.Cluster(t, ns, "major").Status.Initialized, "no database was initialised with the wrong version")
}

// A replica labelled primary by hand would get writes through -rw: the
// operator puts its label back, and -rw routes only to the primary again.
func TestMistakeReplicaLabelledPrimary(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "stray-label")
	pw := createReadyCluster(t, f, ns, "sl", 2, "")
	primary, replicas := f.Roles(t, ns, "sl")
	replica := replicas[0]
	f.KubectlOK(t, "", "-n", ns, "label", "--overwrite", "pod", replica, "postgres-operator.dev/role=primary")
	framework.Eventually(t, time.Minute, "the replica labelled replica again", func() (bool, error) {
		p := f.Pod(t, ns, replica)
		return p.Labels["postgres-operator.dev/role"] == "replica", framework.Errorf("labels %v", p.Labels)
	})
	assert.NotEmpty(t, clusterEvents(t, f, ns, "sl", "LabelReplica"), "an Event says what was corrected")
	pgc := f.WaitReady(t, ns, "sl", time.Minute)
	assert.Equal(t, primary, pgc.Status.Primary, "no failover")
	rw := f.ServiceIP(t, ns, "sl-rw")
	framework.Eventually(t, time.Minute, "writes through -rw", func() (bool, error) {
		_, err := framework.PSQLHost(rw, pw, "create table if not exists stray(id int); insert into stray values (1)")
		return err == nil, err
	})
}

// A Service already named like the cluster's -rw (made by hand, or by
// another operator: CloudNativePG names its Services the same way) is not
// taken over: the cluster says which object is in the way and waits, and
// comes up once it is gone.
func TestMistakeNameTakenByAnotherService(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "name-taken")
	f.KubectlOK(t, "", "-n", ns, "create", "service", "clusterip", "nt-rw", "--tcp=5432:5432")
	f.KubectlOK(t, framework.ClusterYAML("nt", 1, ""), "-n", ns, "apply", "-f", "-")
	framework.Eventually(t, time.Minute, "the Progressing condition names the Service in the way", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "nt").Status.Conditions, v1alpha1.ConditionProgressing)
		return c != nil && strings.Contains(c.Message, "Service nt-rw already exists and is not this cluster's"),
			framework.Errorf("Progressing: %+v", c)
	})
	assert.NotEmpty(t, clusterEvents(t, f, ns, "nt", "ReconcileError"), "a Warning Event says it too")
	svc, err := f.Kube.CoreV1().Services(ns).Get(context.Background(), "nt-rw", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, svc.Labels, v1alpha1.ClusterLabel, "the user's Service is left as it was")
	assert.Empty(t, f.MemberPods(t, ns, "nt"), "no member is made while a Service would route elsewhere")

	f.KubectlOK(t, "", "-n", ns, "delete", "service", "nt-rw")
	f.WaitReady(t, ns, "nt", lifecycleReadyTimeout)

	// The cluster's own -rw Service edited to select every member (writes
	// would land on replicas) is put back.
	f.KubectlOK(t, "", "-n", ns, "patch", "service", "nt-rw", "--type=json", "-p",
		`[{"op":"replace","path":"/spec/selector","value":{"`+v1alpha1.ClusterLabel+`":"nt"}}]`)
	framework.Eventually(t, time.Minute, "nt-rw selects the primary only again", func() (bool, error) {
		svc, err := f.Kube.CoreV1().Services(ns).Get(context.Background(), "nt-rw", metav1.GetOptions{})
		return err == nil && svc.Spec.Selector[v1alpha1.RoleLabel] == "primary", framework.Errorf("%v (%v)", svc.Spec.Selector, err)
	})
	assert.NotEmpty(t, clusterEvents(t, f, ns, "nt", "RepairService"), "a Warning Event says what was put back")
}

// A standby promoted by hand (pg_promote) beside a serving primary is a
// second primary nothing else ends (no replica or slot, so its fence probe
// keeps it alive), and in sync mode the primary's commits wait for it for
// good. Its pod is replaced with a Warning Event; it comes back as a
// replica of the same primary (what was written to it alone is gone), and
// the primary's commits go through again.
func TestMistakeReplicaPromotedByHand(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "by-hand")
	pw := createReadyCluster(t, f, ns, "bh", 2, "  replication:\n    mode: sync\n")
	primary, replicas := f.Roles(t, ns, "bh")
	replica := replicas[0]
	writeRows(t, f, ns, primary, pw, 10)
	waitRows(t, f, ns, replica, pw, 10)
	// One session, so the write is made before the operator replaces the
	// pod. It commits locally, then waits for a synchronous standby (the
	// clone copied the primary's synchronous_standby_names) until the pod
	// is replaced: the client sees an error, which is the right answer.
	out, err := framework.PSQLScript(f.Pod(t, ns, replica).Status.PodIP, pw,
		"select pg_promote();\ninsert into lifecycle values (11, 'only on the stray');\n")
	t.Logf("on the promoted standby: %s (%v)", out, err)
	require.True(t, strings.HasPrefix(out, "t"), "pg_promote succeeded: %s", out)
	framework.Eventually(t, time.Minute, "a Warning Event about the stray primary", func() (bool, error) {
		events := clusterEvents(t, f, ns, "bh", "ReplaceStrayPrimary")
		return len(events) > 0, framework.Errorf("none yet")
	})
	assert.Contains(t, strings.Join(clusterEvents(t, f, ns, "bh", "ReplaceStrayPrimary"), "\n"), replica+" answers as a primary")
	pgc := f.WaitReady(t, ns, "bh", 2*time.Minute)
	assert.Equal(t, primary, pgc.Status.Primary, "no failover")
	requireStandby(t, f, ns, replica, pw)
	f.Query(t, ns, primary, pw, "insert into lifecycle values (12, 'a sync commit after')")
	waitRows(t, f, ns, replica, pw, 11)
	assert.Equal(t, "0", f.Query(t, ns, replica, pw, "select count(*) from lifecycle where id = 11"),
		"the stray's own write is not the cluster's")
}

// The cluster label removed from the primary's pod by hand (a Kubernetes
// habit for taking a pod out of its Service) takes it out of the
// operator's cache, but it still runs and serves: nothing is promoted
// beside it, the label is put back with a Warning Event, and -rw reaches it.
func TestMistakePrimaryLabelRemoved(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "unlabelled")
	pw := createReadyCluster(t, f, ns, "ul", 2, "")
	primary, _ := f.Roles(t, ns, "ul")
	uid := f.Pod(t, ns, primary).UID
	f.KubectlOK(t, "", "-n", ns, "label", "pod", primary, v1alpha1.ClusterLabel+"-")
	framework.Eventually(t, time.Minute, "the label put back", func() (bool, error) {
		p := f.Pod(t, ns, primary)
		return p.Labels[v1alpha1.ClusterLabel] == "ul", framework.Errorf("labels %v", p.Labels)
	})
	assert.NotEmpty(t, clusterEvents(t, f, ns, "ul", "RestoreLabel"), "a Warning Event says what was put back")
	assert.Equal(t, uid, f.Pod(t, ns, primary).UID, "the same pod")
	pgc := f.WaitReady(t, ns, "ul", time.Minute)
	assert.Equal(t, primary, pgc.Status.Primary, "no failover")
	promotions, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "reason=Promote"})
	require.NoError(t, err)
	assert.Empty(t, promotions.Items, "nothing promoted beside it")
	_, err = framework.PSQLHost(f.ServiceIP(t, ns, "ul-rw"), pw, "create table after_relabel (id int)")
	require.NoError(t, err, "-rw reaches the primary")

	// A replica's pod: the create that would replace it finds it and puts
	// the label back; it is not replaced.
	_, replicas := f.Roles(t, ns, "ul")
	require.Len(t, replicas, 1)
	ruid := f.Pod(t, ns, replicas[0]).UID
	f.KubectlOK(t, "", "-n", ns, "label", "pod", replicas[0], v1alpha1.ClusterLabel+"-")
	framework.Eventually(t, time.Minute, "the replica's label put back", func() (bool, error) {
		p := f.Pod(t, ns, replicas[0])
		return p.Labels[v1alpha1.ClusterLabel] == "ul", framework.Errorf("labels %v", p.Labels)
	})
	assert.Equal(t, ruid, f.Pod(t, ns, replicas[0]).UID, "the same replica pod")
	f.WaitReady(t, ns, "ul", time.Minute)
}

// A value ALTER SYSTEM takes but the server cannot start with (a library
// to preload that does not exist) stops the roll at the first replica;
// fixing the spec replaces that member's pod at once (its pod carries the
// old value), and the roll completes. (Not a shared_buffers beyond the
// machine's memory: the kubelet sets vm.overcommit_memory=1, so such a
// server starts.)
func TestMistakeParameterTheServerCannotStartWith(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "no-start")
	pw := createReadyCluster(t, f, ns, "ns1", 2, "")
	primary, _ := f.Roles(t, ns, "ns1")
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "ns1", "--type=merge", "-p",
		`{"spec":{"parameters":{"shared_preload_libraries":"no_such_library","shared_buffers":"256MB"}}}`)
	framework.Eventually(t, 2*time.Minute, "a member that cannot start", func() (bool, error) {
		for _, p := range f.MemberPods(t, ns, "ns1") {
			if failedToStart(p) {
				return true, nil
			}
		}
		return false, framework.Errorf("every member still runs")
	})
	_, err := framework.PSQLHost(f.ServiceIP(t, ns, "ns1-rw"), pw, "select 1")
	require.NoError(t, err, "the primary keeps serving")
	assert.Equal(t, primary, f.Cluster(t, ns, "ns1").Status.Primary, "the roll stopped at the replica")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "ns1", "--type=merge", "-p", `{"spec":{"parameters":{"shared_preload_libraries":null}}}`)
	// The failing member's pod carries the old value: it is replaced for
	// the fixed spec, not after the restart back-off it earned failing.
	framework.Eventually(t, 2*time.Minute, "the failing member replaced for the fixed spec", func() (bool, error) {
		list, err := f.Kube.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
			FieldSelector: "involvedObject.name=ns1,reason=DeletePod"})
		if err != nil {
			return false, err
		}
		for _, ev := range list.Items {
			if strings.Contains(ev.Message, "the spec has changed since its pod was made") {
				return true, nil
			}
		}
		return false, framework.Errorf("no DeletePod Event for the changed spec among %d", len(list.Items))
	})
	framework.Eventually(t, 4*time.Minute, "every member on the fixed values and the cluster Ready", func() (bool, error) {
		pgc := f.Cluster(t, ns, "ns1")
		if !meta.IsStatusConditionTrue(pgc.Status.Conditions, v1alpha1.ConditionReady) || pgc.Status.PendingRestart {
			return false, framework.Errorf("phase %s, pendingRestart %v", pgc.Status.Phase, pgc.Status.PendingRestart)
		}
		for _, p := range f.MemberPods(t, ns, "ns1") {
			v, err := f.PSQL(ns, "ns1", p.Name, pw, "select current_setting('shared_buffers') || '/' || current_setting('shared_preload_libraries')")
			if err != nil || strings.TrimSpace(v) != "256MB/" {
				return false, framework.Errorf("%s: shared_buffers/shared_preload_libraries %q err %v", p.Name, v, err)
			}
		}
		return true, nil
	})
	t.Logf("primary before: %s, after: %s", primary, f.Cluster(t, ns, "ns1").Status.Primary)
}

// failedToStart: the pod's postgres exited on its own. A pod the operator
// stopped (fenced by a switchover, or deleted to restart it) does not
// count: the roll's switchover of the primary ends one before any member
// has started with the new value.
func failedToStart(p corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Annotations["postgres-operator.dev/fenced"] == "true" {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return true
		}
	}
	return false
}

// A wrong image set on a running cluster, then every pod lost: the primary
// restarted on its volume cannot pull its image. Fixing the image restarts
// it with its data, and the cluster comes back whole.
func TestMistakeWrongImageThenEveryPodLost(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "img-dr")
	pw := createReadyCluster(t, f, ns, "dr", 2, "")
	primary, _ := f.Roles(t, ns, "dr")
	f.Query(t, ns, primary, pw, "create table kept(id int); insert into kept select generate_series(1, 100)")
	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "dr", "--type=merge", "-p", `{"spec":{"image":"localhost/no-such-image:1"}}`)
	_, err := f.DeleteClusterPods(ns, "dr")
	require.NoError(t, err)
	framework.Eventually(t, 2*time.Minute, "the primary's new pod unable to pull its image", func() (bool, error) {
		p, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), primary, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.State.Waiting != nil && strings.Contains(cs.State.Waiting.Reason, "Image") {
				return true, nil
			}
		}
		return false, framework.Errorf("%s: %+v", p.Status.Phase, p.Status.ContainerStatuses)
	})

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "dr", "--type=json", "-p", `[{"op":"remove","path":"/spec/image"}]`)
	f.WaitReady(t, ns, "dr", lifecycleReadyTimeout)
	now, _ := f.Roles(t, ns, "dr")
	assert.Equal(t, "100", f.Query(t, ns, now, pw, "select count(*) from kept"), "the data survived")
}

// `kubectl delete` and, at once, `kubectl apply` of the same cluster: the
// user asked for a new, empty cluster. The new one waits (saying so) while
// the garbage collector removes the deleted one's pods, volumes and
// Secrets, then starts afresh: it used to take over the old pod and
// volume as they were being deleted, old data and old status included.
func TestMistakeDeleteAndCreateAgainAtOnce(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "again")
	pw := createReadyCluster(t, f, ns, "again", 1, "")
	f.Query(t, ns, "again-1", pw, "create table from_the_deleted_cluster(id int)")

	f.KubectlOK(t, "", "-n", ns, "delete", "pgc", "again")
	f.KubectlOK(t, framework.ClusterYAML("again", 1, ""), "-n", ns, "apply", "-f", "-")
	created := f.Cluster(t, ns, "again")
	f.WaitReady(t, ns, "again", lifecycleReadyTimeout)

	pgc := f.Cluster(t, ns, "again")
	require.Equal(t, created.UID, pgc.UID)
	assert.Equal(t, "again-1", pgc.Status.Primary, "numbered afresh")
	pod, err := f.Kube.CoreV1().Pods(ns).Get(context.Background(), "again-1", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, metav1.IsControlledBy(pod, pgc), "the new cluster's own pod")
	pvc, err := f.Kube.CoreV1().PersistentVolumeClaims(ns).Get(context.Background(), "again-1-data", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, metav1.IsControlledBy(pvc, pgc), "the new cluster's own volume")
	newPW := f.Password(t, ns, "again")
	assert.Equal(t, "0", f.Query(t, ns, "again-1", newPW,
		"select count(*) from pg_class where relname = 'from_the_deleted_cluster'"), "an empty database")
}

// A memory limit the server cannot start in, set on a running size-1
// cluster: the primary is killed for it at every start. The status says
// so, naming the limit, while the operator restarts it with a back-off;
// raising the limit brings it back with its data.
func TestMistakeMemoryLimitTooSmall(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "oom")
	pw := createReadyCluster(t, f, ns, "oom", 1, "")
	f.Query(t, ns, "oom-1", pw, "create table kept(id int); insert into kept select generate_series(1, 100)")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "oom", "--type=merge", "-p", `{"spec":{"resources":{"limits":{"memory":"12Mi"}}}}`)
	framework.Eventually(t, 3*time.Minute, "the status names the memory limit the primary is killed for", func() (bool, error) {
		c := meta.FindStatusCondition(f.Cluster(t, ns, "oom").Status.Conditions, v1alpha1.ConditionProgressing)
		return c != nil && strings.Contains(c.Message, "keeps failing as it starts on its volume") &&
			strings.Contains(c.Message, "OOMKilled, it used more than its memory limit 12Mi"), framework.Errorf("%+v", c)
	})
	fences := clusterEvents(t, f, ns, "oom", "Fence")
	assert.Contains(t, strings.Join(fences, "\n"), "OOMKilled", "the Fence Event says why")

	f.KubectlOK(t, "", "-n", ns, "patch", "pgc", "oom", "--type=merge", "-p", `{"spec":{"resources":{"limits":{"memory":"1Gi"}}}}`)
	f.WaitReady(t, ns, "oom", lifecycleReadyTimeout)
	assert.Equal(t, "100", f.Query(t, ns, "oom-1", pw, "select count(*) from kept"), "the data survived")
}
