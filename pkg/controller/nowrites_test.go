package controller

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

// The Controller holds no clientset: the fixture's "no API writes" checks
// (assertOnlyReads) only guard against one being added. The writes that
// matter are the runners'. The test below wires the controller to real
// cluster runners (pkg/cluster) over the same fake clientsets, as main does,
// and checks that a converged cluster costs no API call at all, then that
// the same recorders do see a write when one is due.

// rvCounter hands out resourceVersions.
var rvCounter atomic.Int64

func nextRV() string { return strconv.FormatInt(rvCounter.Add(1)+1000, 10) }

// actLikeAnAPIServer makes a fake clientset give every created object a
// UID and every created or updated object a new resourceVersion; the fake
// tracker stores objects as they come. The controller's handlers skip
// unchanged versions, and the runner relies on both: versions to prefer its
// own newer write to a stale cache, pod UIDs to key what it applied to
// which pod.
func actLikeAnAPIServer(c interface {
	PrependReactor(verb, resource string, reaction clienttesting.ReactionFunc)
}) {
	stamp := func(a clienttesting.Action) (bool, runtime.Object, error) {
		if o, ok := a.(interface{ GetObject() runtime.Object }); ok {
			if m, err := meta.Accessor(o.GetObject()); err == nil {
				m.SetResourceVersion(nextRV())
				if a.GetVerb() == "create" && m.GetUID() == "" {
					m.SetUID(types.UID("uid-" + m.GetResourceVersion()))
				}
			}
		}
		return false, nil, nil
	}
	c.PrependReactor("create", "*", stamp)
	c.PrependReactor("update", "*", stamp)
}

// kubelet plays the node for the fake API: it runs every new member pod
// and starts a fake PostgreSQL at its IP, a primary for the seed and a
// streaming standby for a clone, with the settings initdb (and the clone
// of its data directory) left in postgresql.auto.conf.
type kubelet struct {
	t      *testing.T
	f      *fixture
	db     *dbfake.Fake
	mu     sync.Mutex
	params map[string]string
	nextIP int
}

func (k *kubelet) step() {
	k.mu.Lock()
	defer k.mu.Unlock()
	list, err := k.f.kube.Tracker().List(podsGVR, corev1.SchemeGroupVersion.WithKind("Pod"), "ns-a")
	require.NoError(k.t, err)
	for i := range list.(*corev1.PodList).Items {
		pod := list.(*corev1.PodList).Items[i].DeepCopy()
		if pod.Status.PodIP != "" || pod.DeletionTimestamp != nil {
			continue
		}
		k.nextIP++
		ip := fmt.Sprintf("10.1.0.%d", k.nextIP)
		st := postgres.Status{Timeline: 1, CurrentLSN: 100}
		if pod.Annotations[cluster.BootstrapAnnotation] == cluster.BootstrapInitdb {
			k.params = bootstrapParameters(pod)
		} else {
			st = postgres.Status{InRecovery: true, Timeline: 1, ReceivedLSN: 100, ReplayedLSN: 100, ReceiverStatus: "streaming"}
		}
		k.db.Add(ip, dbfake.Server{Status: st, Parameters: k.params})
		pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
		pod.ResourceVersion = nextRV()
		require.NoError(k.t, k.f.kube.Tracker().Update(podsGVR, pod, pod.Namespace))
	}
}

// bootstrapParameters parses the seed's BOOTSTRAP_PARAMETERS, the lines
// "name = 'value'" member.sh appends to postgresql.auto.conf.
func bootstrapParameters(pod *corev1.Pod) map[string]string {
	out := map[string]string{}
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name != "BOOTSTRAP_PARAMETERS" {
			continue
		}
		for _, line := range strings.Split(e.Value, "\n") {
			if name, v, ok := strings.Cut(line, " = "); ok {
				out[name] = strings.ReplaceAll(strings.Trim(v, "'"), "''", "'")
			}
		}
	}
	return out
}

// withRealRunners makes the fixture's controller start pkg/cluster runners
// over its own fake clientsets and informers, as cmd/postgres-operator does.
func withRealRunners(f *fixture, db postgres.Client) {
	pgf, kf := f.pgFactories[""], f.kubeFactories[""]
	listers := cluster.Listers{
		Clusters: pgf.Postgres().V1alpha1().PostgresClusters().Lister(),
		Pods:     kf.Core().V1().Pods().Lister(),
		PVCs:     kf.Core().V1().PersistentVolumeClaims().Lister(),
		Services: kf.Core().V1().Services().Lister(),
		Secrets:  kf.Core().V1().Secrets().Lister(),
		PDBs:     kf.Policy().V1().PodDisruptionBudgets().Lister(),
	}
	var err error
	listers.ByCluster, err = cluster.NewClusterIndex(kf.Core().V1().Pods().Informer(), kf.Core().V1().PersistentVolumeClaims().Informer(),
		kf.Core().V1().Secrets().Informer(), kf.Core().V1().Services().Informer(), kf.Policy().V1().PodDisruptionBudgets().Informer())
	require.NoError(f.t, err)
	f.ctrl.newRunner = func(key cache.ObjectName, pgc *v1alpha1.PostgresCluster, report func(error)) Runner {
		cfg := &cluster.Config{Kube: f.kube, Client: f.pg, Listers: listers, Postgres: db,
			Recorder: &record.FakeRecorder{}, ReconcileInterval: 20 * time.Millisecond, Heartbeat: noHeartbeat}
		return cluster.New(cfg, key, pgc, report)
	}
}

// writesIn are the create, update, patch and delete actions among actions.
func writesIn(actions []clienttesting.Action) []string {
	var out []string
	for _, a := range actions {
		switch a.GetVerb() {
		case "create", "update", "patch", "delete", "delete-collection":
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource+"/"+a.GetSubresource())
		}
	}
	return out
}

func storedCluster(t *testing.T, f *fixture) *v1alpha1.PostgresCluster {
	obj, err := f.pg.Tracker().Get(clustersGVR, "ns-a", "db")
	require.NoError(t, err)
	return obj.(*v1alpha1.PostgresCluster)
}

func isConverged(pgc *v1alpha1.PostgresCluster) bool {
	ready := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionReady)
	progressing := meta.FindStatusCondition(pgc.Status.Conditions, v1alpha1.ConditionProgressing)
	return pgc.Status.Phase == v1alpha1.PhaseRunning && pgc.Status.ReadyMembers == 3 &&
		ready != nil && ready.Status == metav1.ConditionTrue &&
		progressing != nil && progressing.Status == metav1.ConditionFalse && progressing.Reason == "Converged"
}

// TestConvergedClusterMakesNoAPICallsThroughTheController builds a
// three-member cluster from nothing through the controller and real
// runners, then watches the converged cluster for many passes, woken both
// by the runner's timer and by child events routed through the controller.
func TestConvergedClusterMakesNoAPICallsThroughTheController(t *testing.T) {
	pgc := newCluster("ns-a", "db")
	pgc.Spec = v1alpha1.PostgresClusterSpec{Size: 3, PostgresVersion: 15,
		Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")}}
	f := newFixture(t, Options{}, []string{""}, pgc)
	db := dbfake.New()
	withRealRunners(f, db)
	actLikeAnAPIServer(f.kube)
	actLikeAnAPIServer(f.pg)
	node := &kubelet{t: t, f: f, db: db}
	f.run()

	waitUntil(t, "a converged cluster", func() bool {
		node.step()
		return isConverged(storedCluster(t, f))
	})

	// The steady state: at least ten passes over three members.
	f.kube.ClearActions()
	f.pg.ClearActions()
	probes, calls := len(db.CallsTo("Probe")), len(db.Calls())
	pod, err := f.kube.Tracker().Get(podsGVR, "ns-a", "db-2")
	require.NoError(t, err)
	heartbeat := pod.(*corev1.Pod).DeepCopy()
	heartbeat.ResourceVersion = nextRV() // a kubelet status sync that changed nothing
	require.NoError(t, f.kube.Tracker().Update(podsGVR, heartbeat, "ns-a"))
	waitUntil(t, "ten more passes", func() bool { return len(db.CallsTo("Probe")) >= probes+30 })
	assert.Empty(t, f.kube.Actions(), "Kubernetes API calls in the steady state")
	assert.Empty(t, f.pg.Actions(), "PostgresCluster API calls in the steady state")
	for _, c := range db.Calls()[calls:] {
		assert.Equal(t, "Probe", c.Method, "PostgreSQL calls in the steady state")
	}

	// The same recorders catch the write a stale status calls for.
	stale := storedCluster(t, f).DeepCopy()
	stale.Status.Phase = v1alpha1.PhaseUpdating
	stale.ResourceVersion = nextRV()
	require.NoError(t, f.pg.Tracker().Update(clustersGVR, stale, "ns-a"))
	waitUntil(t, "the runner rewrites the status", func() bool {
		return len(writesIn(f.pg.Actions())) > 0 && storedCluster(t, f).Status.Phase == v1alpha1.PhaseRunning
	})
	assert.Equal(t, []string{"update postgresclusters/status"}, writesIn(f.pg.Actions()))
	assert.Empty(t, writesIn(f.kube.Actions()))
	// From here on the fixture's cleanup holds the runner to no writes.
	f.kube.ClearActions()
	f.pg.ClearActions()
}

// noHeartbeat keeps the actors' heartbeats from dialling the fake pods.
func noHeartbeat(postgres.Endpoint, postgres.HeartbeatConfig) cluster.Heartbeater {
	return silentBeat{}
}

type silentBeat struct{}

func (silentBeat) Close() {}
