package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

var stuckNow = time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)

// seedMember is a seed as createMember builds it: primary, initdb, with
// the cluster's bootstrap parameters.
func seedMember(pgc *v1alpha1.PostgresCluster, ord int32, opts ...memberOpt) *member {
	m := testMember(pgc, ord)
	m.pod = buildPod(pgc, memberPod{Name: m.name, Role: RolePrimary, Bootstrap: BootstrapInitdb, Image: testImage})
	m.pod.UID = "uid-" + "seed"
	for _, o := range opts {
		o(m)
	}
	return m
}

// waitingOn: the kubelet cannot start the container (image, config).
func waitingOn(reason, msg string) memberOpt {
	return func(m *member) {
		m.pod.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}}}
	}
}

func unschedulable(m *member) {
	m.pod.Status = corev1.PodStatus{Phase: corev1.PodPending, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available: 1 Insufficient cpu."}}}
}

// exitedAt: the container ran and exited (restartPolicy Never: pod Failed).
func exitedAt(code int32, at time.Time) memberOpt {
	return func(m *member) {
		m.pod.Status = corev1.PodStatus{Phase: corev1.PodFailed, ContainerStatuses: []corev1.ContainerStatus{{
			Name: containerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: code, Reason: "Error", FinishedAt: metav1.NewTime(at)}}}}}
	}
}

// runningUnready: the container runs (initdb, a clone) but is not ready.
func runningUnready(m *member) {
	m.pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9"}
}

// claimNotBound: no volume was provisioned for the member's claim.
func claimNotBound(m *member) { m.pvc.Status.Phase = corev1.ClaimPending }

func withRole(role string) memberOpt { return func(m *member) { m.pod.Labels[RoleLabel] = role } }

func TestPlanStuckMembers(t *testing.T) {
	fresh := testCluster(1)
	// fixedImage: the user has changed spec.image since the pods were made.
	fixedImage := "postgres:15.9"
	bigger := testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
	})
	badParams := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Parameters = map[string]string{"shared_buffers": "banana"} })
	goodParams := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Parameters = map[string]string{"shared_buffers": "128MB"} })
	three := testCluster(3, initialized("demo-1", 3))
	fastSSD := testCluster(1, func(p *v1alpha1.PostgresCluster) { sc := "fast-ssd"; p.Spec.Storage.StorageClassName = &sc })
	// threeBadParams: the same cluster before the user fixed a parameter
	// its members cannot start with (parameters are not in the spec hash).
	threeBadParams := testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"shared_buffers": "64GB"}
	})
	pull := waitingOn("ImagePullBackOff", `Back-off pulling image "localhost/nope:1"`)

	with := func(pgc *v1alpha1.PostgresCluster, image string, restarts int, ms ...*member) planInput {
		in := input(pgc, obsOf(pgc, ms...))
		in.now, in.restarts = stuckNow, map[string]int{}
		if image != "" {
			in.image = image
		}
		if restarts > 0 {
			in.restarts[ms[0].name] = restarts
		}
		return in
	}
	tests := []struct {
		name     string
		in       planInput
		kind     actionKind
		member   string
		phase    v1alpha1.ClusterPhase
		failure  string
		contains string
	}{
		// The seed, before the cluster is initialized.
		{name: "seed that cannot pull its image waits while the spec is unchanged",
			in:   with(fresh, "", 0, seedMember(fresh, 1, pull)),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: `ImagePullBackOff: Back-off pulling image "localhost/nope:1"`},
		{name: "seed that cannot pull its image is replaced, volume and all, once the image is fixed",
			in:   with(fresh, fixedImage, 0, seedMember(fresh, 1, pull)),
			kind: actReplaceSeed, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: noDataLost},
		{name: "unschedulable seed is replaced when its resources change",
			in:   with(bigger, "", 0, seedMember(fresh, 1, unschedulable)),
			kind: actReplaceSeed, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: "Unschedulable: 0/1 nodes are available"},
		{name: "unschedulable seed waiting for its volume names the claim and its class",
			in:   with(fastSSD, "", 0, seedMember(fastSSD, 1, unschedulable, claimNotBound)),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseCreating,
			contains: `its volume claim demo-1-data is not bound (storage class "fast-ssd"): ` + "`kubectl describe pvc demo-1-data`"},
		{name: "seed with a config error is replaced when spec.parameters change",
			in:   with(goodParams, "", 0, seedMember(badParams, 1, waitingOn("CreateContainerConfigError", "secret not found"))),
			kind: actReplaceSeed, member: "demo-1", phase: v1alpha1.PhaseCreating},
		{name: "seed that exited is replaced afresh when spec.parameters change",
			in:   with(goodParams, "", 2, seedMember(badParams, 1, exitedAt(1, stuckNow))),
			kind: actReplaceSeed, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: "exited with code 1 (Error)"},
		{name: "seed whose initdb crashed is retried on its volume at once the first time",
			in:   with(fresh, "", 0, seedMember(fresh, 1, exitedAt(1, stuckNow))),
			kind: actDeletePod, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: "retrying on its volume"},
		{name: "seed that failed again waits out the back-off",
			in:   with(fresh, "", 1, seedMember(fresh, 1, exitedAt(1, stuckNow.Add(-500*time.Millisecond)))),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: "retrying 1s after its last failure"},
		{name: "seed failing a third time in a row reports Failed and still retries",
			in:   with(fresh, "", 2, seedMember(fresh, 1, exitedAt(1, stuckNow.Add(-time.Minute)))),
			kind: actDeletePod, member: "demo-1", phase: v1alpha1.PhaseFailed, failure: reasonSeedFailing, contains: "kubectl logs demo-1"},
		{name: "seed retrying after three failures stays Failed until it is up",
			in:   with(fresh, "", 3, seedMember(fresh, 1, runningUnready)),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseFailed, failure: reasonSeedFailing},
		{name: "seed running initdb is left alone even when the spec changed",
			in:   with(fresh, fixedImage, 0, seedMember(fresh, 1, runningUnready)),
			kind: actWait, member: "demo-1", phase: v1alpha1.PhaseCreating},
		{name: "seed deleted for a retry whose spec changed before its pod is made again: volume replaced too",
			in: func() planInput {
				in := with(goodParams, "", 1, seedMember(badParams, 1, noPod))
				in.seedRetriedWith = map[string]string{"demo-1": podSeedSpec(seedMember(badParams, 1).pod)}
				return in
			}(),
			kind: actReplaceSeed, member: "demo-1", phase: v1alpha1.PhaseCreating, contains: noDataLost},
		{name: "seed deleted for a retry with the same spec comes back on its volume",
			in: func() planInput {
				in := with(badParams, "", 1, seedMember(badParams, 1, noPod))
				in.seedRetriedWith = map[string]string{"demo-1": podSeedSpec(seedMember(badParams, 1).pod)}
				return in
			}(),
			kind: actRecreatePod, member: "demo-1", phase: v1alpha1.PhaseCreating},
		{name: "seed up finishes the bootstrap after failures",
			in:   with(fresh, "", 3, seedMember(fresh, 1, up(RolePrimary))),
			kind: actFinishBootstrap, member: "demo-1", phase: v1alpha1.PhaseCreating},

		// Replicas and primaries of an initialized cluster.
		{name: "replica that cannot pull its image is replaced once the image is fixed",
			in: with(three, fixedImage, 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, pull, withRole(RoleReplica))),
			kind: actDeletePod, member: "demo-3", phase: v1alpha1.PhaseUpdating, contains: "never started (ImagePullBackOff"},
		{name: "replica that cannot pull its image waits while the spec is unchanged, saying why",
			in: with(three, "", 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, pull, withRole(RoleReplica))),
			kind: actWait, member: "demo-3", phase: v1alpha1.PhaseScaling, contains: "ImagePullBackOff"},
		{name: "unschedulable replica is replaced before the wait for a healthy cluster",
			in: with(three, fixedImage, 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, unschedulable, withRole(RoleReplica)),
				testMember(three, 3, up(RoleReplica), pendingRestart)),
			kind: actDeletePod, member: "demo-2", phase: v1alpha1.PhaseUpdating},
		{name: "stuck replica is replaced before a failover's waits",
			in: with(testCluster(3, initialized("demo-1", 3), func(p *v1alpha1.PostgresCluster) { p.Spec.Replication.Mode = v1alpha1.ReplicationSync }),
				fixedImage, 0, testMember(three, 1, exitedAt(1, stuckNow), withRole(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, pull, withRole(RoleReplica))),
			kind: actDeletePod, member: "demo-3"},
		{name: "exited replica with an outdated pod skips the back-off",
			in: with(three, fixedImage, 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, exitedAt(1, stuckNow), withRole(RoleReplica))),
			kind: actDeletePod, member: "demo-3", phase: v1alpha1.PhaseUpdating, contains: "exited with code 1 (Error)"},
		{name: "exited replica with a current pod keeps the back-off",
			in: func() planInput {
				in := with(three, "", 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
					testMember(three, 3, exitedAt(1, stuckNow), withRole(RoleReplica)))
				in.restarts["demo-3"] = 2
				return in
			}(),
			kind: actWait, member: "demo-3", contains: "failed 2 times in a row"},
		{name: "exited replica built with parameters fixed since skips the back-off",
			in: func() planInput {
				in := with(three, "", 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
					testMember(threeBadParams, 3, exitedAt(1, stuckNow), withRole(RoleReplica)))
				in.restarts["demo-3"] = 6
				return in
			}(),
			kind: actDeletePod, member: "demo-3", contains: "the spec has changed since its pod was made"},
		{name: "running replica built with older parameters is left to the roll",
			in: with(three, "", 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(threeBadParams, 3, up(RoleReplica))),
			kind: actNone},
		{name: "running replica that is not ready yet is not replaced",
			in: with(three, fixedImage, 0, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, runningUnready, withRole(RoleReplica))),
			kind: actWait, member: "demo-3"},
		{name: "a primary that never started is replaced on its volume once the image is fixed: it holds no write",
			in: with(three, fixedImage, 0, testMember(three, 1, pull, withRole(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, up(RoleReplica))),
			kind: actDeletePod, member: "demo-1", contains: "it never ran, so no write is lost"},
		{name: "a primary that never started waits while the spec is unchanged",
			in: with(three, "", 0, testMember(three, 1, pull, withRole(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, up(RoleReplica))),
			kind: actWait, member: "demo-1"},
		{name: "a primary that ran and failed is failover's, not this rule's",
			in: with(three, fixedImage, 0, testMember(three, 1, exitedAt(1, stuckNow), withRole(RolePrimary)), testMember(three, 2, up(RoleReplica)),
				testMember(three, 3, up(RoleReplica))),
			kind: actFence, member: "demo-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, "reason: %s", got.reason)
			assert.Equal(t, tt.member, got.member)
			if tt.phase != "" {
				assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			}
			assert.Equal(t, tt.failure, got.failure)
			assert.Contains(t, got.reason, tt.contains)
			seedRetry := got.kind == actDeletePod && !tt.in.cluster.Status.Initialized
			assert.Equal(t, seedRetry, got.restart, "only a seed retry counts towards the back-off here")
			assert.Equal(t, seedRetry, got.seedSpec != "", "a seed retry remembers the spec of the pod it deletes")
		})
	}
}

func TestSeedOutdated(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Parameters = map[string]string{"work_mem": "8MB"} })
	seed := seedMember(pgc, 1)
	in := input(pgc, obsOf(pgc, seed))
	assert.False(t, seedOutdated(in, seed.pod))

	in.image = "postgres:15.9"
	assert.True(t, seedOutdated(in, seed.pod), "image")

	changed := pgc.DeepCopy()
	changed.Spec.Parameters["work_mem"] = "16MB"
	assert.True(t, seedOutdated(input(changed, in.obs), seed.pod), "parameters initdb writes")

	clone := testMember(pgc, 2)
	assert.False(t, seedOutdated(input(pgc, in.obs), clone.pod))
	assert.True(t, seedOutdated(input(changed, in.obs), clone.pod), "parameters every member writes at its start")
}

// setPodStatus gives a pod the status the kubelet would report.
func (f *actorFixture) setPodStatus(name string, opt memberOpt) {
	pods := f.kube.CoreV1().Pods(f.key.Namespace)
	pod, err := pods.Get(f.ctx, name, metav1.GetOptions{})
	require.NoError(f.t, err)
	opt(&member{name: name, pod: pod})
	_, err = pods.UpdateStatus(f.ctx, pod, metav1.UpdateOptions{})
	require.NoError(f.t, err)
}

func (f *actorFixture) pod(name string) (*corev1.Pod, error) {
	return f.kube.CoreV1().Pods(f.key.Namespace).Get(f.ctx, name, metav1.GetOptions{})
}

// TestActorReplacesASeedThatCannotPullItsImage: created with a wrong
// image, the cluster comes up once the user fixes spec.image.
func TestActorReplacesASeedThatCannotPullItsImage(t *testing.T) {
	f := newActorFixture(t, testCluster(1, func(p *v1alpha1.PostgresCluster) { p.Spec.Image = "localhost/nope:1" }))
	f.passUntil("seed pod created", func() bool { _, err := f.pod("demo-1"); return err == nil })
	f.setPodStatus("demo-1", waitingOn("ImagePullBackOff", `Back-off pulling image "localhost/nope:1"`))
	f.passUntil("stuck seed reported", func() bool {
		c := meta.FindStatusCondition(f.current().Status.Conditions, v1alpha1.ConditionProgressing)
		return c != nil && strings.Contains(c.Message, "ImagePullBackOff")
	})
	_, err := f.pod("demo-1")
	require.NoError(t, err, "not replaced while the spec is unchanged")

	fixed := f.current()
	fixed.Spec.Image = "postgres:15"
	fixed.Generation++
	_, err = f.pg.PostgresV1alpha1().PostgresClusters("ns").Update(f.ctx, fixed, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.passUntil("a new seed with the fixed image", func() bool { _, err := f.pod("demo-2"); return err == nil })
	pod, err := f.pod("demo-2")
	require.NoError(t, err)
	assert.Equal(t, "postgres:15", pod.Spec.Containers[0].Image)
	assert.Equal(t, BootstrapInitdb, pod.Annotations[BootstrapAnnotation])
	_, err = f.pod("demo-1")
	assert.True(t, apierrors.IsNotFound(err), "old seed pod deleted")
	_, err = f.kube.CoreV1().PersistentVolumeClaims("ns").Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "old seed volume deleted")
	assert.Equal(t, v1alpha1.PhaseCreating, f.current().Status.Phase)
	assert.Equal(t, 1, countEvents(f, "Normal ReplaceSeed the seed demo-1 cannot start (ImagePullBackOff"))

	f.runPod("demo-2", "10.0.0.2", dbfake.Server{Status: postgres.Status{Timeline: 1}})
	f.passUntil("initialized", func() bool { return f.current().Status.Initialized })
	assert.Equal(t, "demo-2", f.current().Status.Primary)
}

// TestActorRetriesACrashedSeed: initdb crashed; the seed is retried on its
// volume, and the failures are counted for the back-off.
func TestActorRetriesACrashedSeed(t *testing.T) {
	f := newActorFixture(t, testCluster(1))
	f.passUntil("seed pod created", func() bool { _, err := f.pod("demo-1"); return err == nil })
	f.setPodStatus("demo-1", exitedAt(1, time.Now().Add(-time.Hour)))
	f.passUntil("seed pod recreated", func() bool {
		p, err := f.pod("demo-1")
		return err == nil && !podFailed(p) && f.c.restarts["demo-1"] == 1
	})
	_, err := f.kube.CoreV1().PersistentVolumeClaims("ns").Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	require.NoError(t, err, "same spec: retried on its volume")
	assert.Equal(t, int32(1), f.current().Status.LastOrdinal)
}

// TestActorReplacesARetriedSeedWhenTheSpecChanges: the spec is fixed in
// the moment between deleting a failed seed and making its pod again; the
// old volume, where initdb wrote the old parameters, is not reused.
func TestActorReplacesARetriedSeedWhenTheSpecChanges(t *testing.T) {
	f := newActorFixture(t, testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"shared_preload_libraries": "nope"}
	}))
	f.passUntil("seed pod created", func() bool { _, err := f.pod("demo-1"); return err == nil })
	f.setPodStatus("demo-1", exitedAt(1, time.Now().Add(-time.Hour)))
	f.passUntil("failed seed deleted", func() bool { _, err := f.pod("demo-1"); return apierrors.IsNotFound(err) })

	fixed := f.current()
	fixed.Spec.Parameters = nil
	fixed.Generation++
	_, err := f.pg.PostgresV1alpha1().PostgresClusters("ns").Update(f.ctx, fixed, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.passUntil("a new seed", func() bool { _, err := f.pod("demo-2"); return err == nil })
	_, err = f.kube.CoreV1().PersistentVolumeClaims("ns").Get(f.ctx, "demo-1-data", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "the old volume is not reused")
	_, err = f.pod("demo-1")
	assert.True(t, apierrors.IsNotFound(err), "nor is the old pod made again")
	assert.Equal(t, 1, countEvents(f, "Normal ReplaceSeed the seed demo-1 failed before it initialised and the spec has changed since"))
}
