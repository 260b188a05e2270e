package backup

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubeinformers "k8s.io/client-go/informers"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"
	testingclock "k8s.io/utils/clock/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
	pginformers "postgres-operator.dev/postgres-operator/pkg/client/informers/externalversions"
)

const ns = "db"

// t0 is the fake clock's start.
var t0 = time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC)

// fixture is a controller over fake clientsets whose informers are not
// started: refresh copies what the clientsets hold into the caches, which
// is how a test plays the informers catching up.
type fixture struct {
	t        *testing.T
	ctx      context.Context
	kube     *kubefake.Clientset
	pg       *pgfake.Clientset
	clock    *testingclock.FakeClock
	recorder *recorder
	logsMu   sync.Mutex        // the controller's workers read logs while a test writes them
	logs     map[string]string // pod name → its log
	c        *Controller
	inf      Informers
	caches   []func() // refreshers, one per informer
}

func newFixture(t *testing.T, objs ...runtime.Object) *fixture {
	t.Helper()
	var kubeObjs, pgObjs []runtime.Object
	for _, o := range objs {
		switch o.(type) {
		case *v1alpha1.PostgresCluster, *v1alpha1.PostgresBackup:
			pgObjs = append(pgObjs, o)
		default:
			kubeObjs = append(kubeObjs, o)
		}
	}
	_, ctx := ktesting.NewTestContext(t)
	f := &fixture{
		t: t, ctx: ctx,
		kube:     kubefake.NewClientset(kubeObjs...),
		pg:       pgfake.NewSimpleClientset(pgObjs...), // NewClientset cannot create custom resources (kubernetes#126850)
		clock:    testingclock.NewFakeClock(t0),
		recorder: &recorder{},
		logs:     map[string]string{},
	}
	kf := kubeinformers.NewSharedInformerFactory(f.kube, 0)
	pf := pginformers.NewSharedInformerFactory(f.pg, 0)
	inf := Informers{
		Clusters: pf.Postgres().V1alpha1().PostgresClusters(),
		Backups:  pf.Postgres().V1alpha1().PostgresBackups(),
		Jobs:     kf.Batch().V1().Jobs(),
		Pods:     kf.Core().V1().Pods(),
	}
	c, err := New(Config{
		Kube: f.kube, Client: f.pg, Recorder: f.recorder, Informers: []Informers{inf},
		Clock: f.clock, ReadLog: f.readLog,
	})
	require.NoError(t, err)
	f.c, f.inf = c, inf
	f.caches = []func(){
		f.refresher(inf.Clusters.Informer(), func() (runtime.Object, error) {
			return f.pg.PostgresV1alpha1().PostgresClusters(ns).List(ctx, metav1.ListOptions{})
		}),
		f.refresher(inf.Backups.Informer(), func() (runtime.Object, error) {
			return f.pg.PostgresV1alpha1().PostgresBackups(ns).List(ctx, metav1.ListOptions{})
		}),
		f.refresher(inf.Jobs.Informer(), func() (runtime.Object, error) {
			return f.kube.BatchV1().Jobs(ns).List(ctx, metav1.ListOptions{})
		}),
		f.refresher(inf.Pods.Informer(), func() (runtime.Object, error) {
			return f.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		}),
	}
	f.refresh()
	return f
}

func (f *fixture) refresher(inf cache.SharedIndexInformer, list func() (runtime.Object, error)) func() {
	return func() {
		l, err := list()
		require.NoError(f.t, err)
		objs, err := meta.ExtractList(l)
		require.NoError(f.t, err)
		anys := make([]any, len(objs))
		for i, o := range objs {
			anys[i] = o
		}
		require.NoError(f.t, inf.GetIndexer().Replace(anys, ""))
	}
}

// refresh makes every cache show what the API holds.
func (f *fixture) refresh() {
	for _, r := range f.caches {
		r()
	}
}

func (f *fixture) readLog(_ context.Context, namespace, pod, container string) (string, error) {
	if container != containerName {
		return "", fmt.Errorf("log of container %q, want %q", container, containerName)
	}
	f.logsMu.Lock()
	log, ok := f.logs[pod]
	f.logsMu.Unlock()
	if !ok {
		return "", apierrors.NewNotFound(corev1.Resource("pods"), pod)
	}
	return log, nil
}

// syncBackup runs one pass over a backup, the caches refreshed first.
func (f *fixture) syncBackup(name string) time.Duration {
	f.t.Helper()
	f.refresh()
	after, err := f.c.syncBackup(f.ctx, cache.NewObjectName(ns, name))
	require.NoError(f.t, err)
	return after
}

// writes counts the API writes made so far.
func (f *fixture) writes() int {
	n := 0
	for _, a := range append(f.pg.Actions(), f.kube.Actions()...) {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			n++
		}
	}
	return n
}

func (f *fixture) backup(name string) *v1alpha1.PostgresBackup {
	f.t.Helper()
	b, err := f.pg.PostgresV1alpha1().PostgresBackups(ns).Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return b
}

func (f *fixture) jobs() []batchv1.Job {
	f.t.Helper()
	l, err := f.kube.BatchV1().Jobs(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	return l.Items
}

func (f *fixture) job(name string) *batchv1.Job {
	f.t.Helper()
	j, err := f.kube.BatchV1().Jobs(ns).Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	return j
}

func (f *fixture) create(obj runtime.Object) {
	f.t.Helper()
	var err error
	switch o := obj.(type) {
	case *v1alpha1.PostgresBackup:
		_, err = f.pg.PostgresV1alpha1().PostgresBackups(ns).Create(f.ctx, o, metav1.CreateOptions{})
	case *v1alpha1.PostgresCluster:
		_, err = f.pg.PostgresV1alpha1().PostgresClusters(ns).Create(f.ctx, o, metav1.CreateOptions{})
	case *corev1.Pod:
		_, err = f.kube.CoreV1().Pods(ns).Create(f.ctx, o, metav1.CreateOptions{})
	default:
		f.t.Fatalf("create %T", obj)
	}
	require.NoError(f.t, err)
}

// finishJob ends a Job the way the Job controller does, with its pod.
func (f *fixture) finishJob(name string, succeeded bool, log, terminationMessage string) {
	f.t.Helper()
	f.exitPod(name, succeeded, log, terminationMessage)
	job := f.job(name)
	cond := batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}
	if !succeeded {
		cond = batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: batchv1.JobReasonBackoffLimitExceeded, Message: "Job has reached the specified backoff limit"}
	}
	job.Status.Conditions = append(job.Status.Conditions, cond)
	done := metav1.NewTime(f.clock.Now())
	job.Status.CompletionTime = &done
	_, err := f.kube.BatchV1().Jobs(ns).UpdateStatus(f.ctx, job, metav1.UpdateOptions{})
	require.NoError(f.t, err)
}

// exitPod is the Job's pod whose container has exited, before the Job
// controller has said so in the Job's conditions.
func (f *fixture) exitPod(name string, succeeded bool, log, terminationMessage string) {
	f.t.Helper()
	job := f.job(name)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name + "-x7k2p", Namespace: ns, Labels: job.Spec.Template.Labels,
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(job, batchv1.SchemeGroupVersion.WithKind("Job"))},
		},
		// The kubelet reports the exit before the pod's phase moves.
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	exit := int32(0)
	if !succeeded {
		exit = 1
	}
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: containerName, State: corev1.ContainerState{
		Terminated: &corev1.ContainerStateTerminated{ExitCode: exit, Message: terminationMessage},
	}}}
	// The log exists before the pod is seen: a handler may read it at once.
	f.logsMu.Lock()
	f.logs[pod.Name] = log
	f.logsMu.Unlock()
	f.create(pod)
}

// sampleLog is a successful run's log: the engine's output, then the report.
func sampleLog(t *testing.T, label string) string {
	t.Helper()
	out, err := os.ReadFile("testdata/backup.log")
	require.NoError(t, err)
	info, err := os.ReadFile("testdata/info.json")
	require.NoError(t, err)
	return string(out) + resultPrefix + label + " " + strings.TrimSpace(string(info)) + "\n"
}

// Objects.

func cluster(name string) *v1alpha1.PostgresCluster {
	return &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
		},
		Spec: v1alpha1.PostgresClusterSpec{
			Size: 2, PostgresVersion: 15,
			Storage: v1alpha1.StorageSpec{Size: resource.MustParse("1Gi")},
			Backup: &v1alpha1.BackupSpec{
				ObjectStore: v1alpha1.ObjectStore{
					Endpoint: "https://minio.object-store.svc:9000", Bucket: "backups",
					Region: "us-east-1", URIStyle: "path",
					Credentials: v1alpha1.SecretName{Secret: "s3-creds"},
					CA:          &v1alpha1.SecretName{Secret: "s3-ca"},
				},
				Retention: v1alpha1.BackupRetention{FullCount: 3, FullDays: 14},
			},
		},
	}
}

func backupOf(name, clusterName string) *v1alpha1.PostgresBackup {
	return &v1alpha1.PostgresBackup{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: types.UID("uid-" + name),
			CreationTimestamp: metav1.NewTime(t0),
		},
		Spec: v1alpha1.PostgresBackupSpec{Cluster: clusterName, Type: v1alpha1.BackupIncr},
	}
}

// memberPod is a member of cluster; primary and ready as asked.
func memberPod(clusterName, member string, primary, ready bool) *corev1.Pod {
	role := "replica"
	if primary {
		role = rolePrimary
	}
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: member, Namespace: ns,
			Labels: map[string]string{ClusterLabel: clusterName, memberLabel: member, roleLabel: role, managedByLabel: managedBy},
		},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: []corev1.Container{{Name: PostgresContainerName, Image: "localhost/postgres:15-pgbackrest"}},
			Volumes: []corev1.Volume{{Name: DataVolumeName, VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: member + "-data"},
			}}},
		},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

// recorder keeps the Events, with the kind and name of their object.
type recorder struct {
	mu     sync.Mutex
	events []string // "PostgresBackup/b1 Normal BackupStarted message"
}

func (r *recorder) Event(obj runtime.Object, eventType, reason, message string) {
	m, _ := obj.(metav1.Object)
	kind := fmt.Sprintf("%T", obj)
	kind = kind[strings.LastIndex(kind, ".")+1:]
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf("%s/%s %s %s %s", kind, m.GetName(), eventType, reason, message))
}

func (r *recorder) Eventf(obj runtime.Object, eventType, reason, format string, args ...any) {
	r.Event(obj, eventType, reason, fmt.Sprintf(format, args...))
}

func (r *recorder) AnnotatedEventf(obj runtime.Object, _ map[string]string, eventType, reason, format string, args ...any) {
	r.Eventf(obj, eventType, reason, format, args...)
}

// take returns the Events recorded since the last take.
func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.events
	r.events = nil
	return out
}
