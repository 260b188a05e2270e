package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/record"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
	dbfake "postgres-operator.dev/postgres-operator/pkg/postgres/fake"
)

const bananaMsg = `invalid value for parameter "shared_buffers": "banana"`

var banana = postgres.Rejection{Name: "shared_buffers", Value: "banana", SQLState: "22023", Message: bananaMsg}

func TestParamRejections(t *testing.T) {
	var r paramRejections
	one := members{{name: "demo-1"}, {name: "demo-2"}}
	assert.Empty(t, r.summary("fp1", one))

	assert.Equal(t, []postgres.Rejection{banana}, r.record("demo-1", "fp1", []postgres.Rejection{banana}))
	assert.Empty(t, r.record("demo-2", "fp1", []postgres.Rejection{banana}), "announced once, not once per member")
	assert.Empty(t, r.record("demo-1", "fp1", []postgres.Rejection{banana}), "nor once per pass")
	assert.Equal(t, "PostgreSQL refused spec.parameters shared_buffers = 'banana': "+bananaMsg+
		"; the other settings are applied; fix or remove the refused ones to try again", r.summary("fp1", one))
	assert.Empty(t, r.summary("fp2", one), "a new spec is tried again before anything is reported")

	r.record("demo-1", "fp1", nil)
	assert.NotEmpty(t, r.summary("fp1", one), "demo-2 still refuses it")
	assert.Empty(t, r.summary("fp1", members{{name: "demo-1"}}), "demo-2 is gone")
	assert.NotContains(t, r.byMember, "demo-2", "and forgotten")

	assert.NotEmpty(t, r.record("demo-1", "fp2", []postgres.Rejection{banana}), "a new fingerprint is announced again")
}

func TestPlanRejectedParametersDoNotBlock(t *testing.T) {
	three := testCluster(3, initialized("demo-1", 3))
	healthy := func(opts ...memberOpt) *observation {
		return obsOf(three, testMember(three, 1, up(RolePrimary)), testMember(three, 2, up(RoleReplica)),
			testMember(three, 3, append([]memberOpt{up(RoleReplica)}, opts...)...))
	}
	rejected := "PostgreSQL refused spec.parameters shared_buffers = 'banana': " + bananaMsg
	tests := []struct {
		name    string
		in      planInput
		kind    actionKind
		blocked string
		phase   v1alpha1.ClusterPhase
	}{
		{"converged with a refused setting says so", withRejected(input(three, healthy()), rejected), actNone, reasonParameterRejected, v1alpha1.PhaseRunning},
		{"a refused setting does not hold back a roll", withRejected(input(three, healthy(pendingRestart)), rejected), actDeletePod, "", v1alpha1.PhaseUpdating},
		{"nor scaling", withRejected(input(three, obsOf(three, testMember(three, 1, up(RolePrimary)))), rejected), actCreateMember, "", v1alpha1.PhaseScaling},
		{"nor a volume growth", withRejected(func() planInput {
			in := input(three, healthy())
			in.cluster = three.DeepCopy()
			in.cluster.Spec.Storage.Size = resource.MustParse("2Gi")
			return in
		}(), rejected), actGrowVolume, "", v1alpha1.PhaseUpdating},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := plan(tt.in)
			assert.Equal(t, tt.kind, got.kind, got.reason)
			assert.Equal(t, tt.blocked, got.blocked)
			assert.Equal(t, tt.phase, phaseOf(tt.in.cluster, tt.in.obs, got))
			if tt.blocked != "" {
				assert.Contains(t, got.reason, rejected)
			}
		})
	}
}

func withRejected(in planInput, why string) planInput {
	in.paramsRejected = why
	return in
}

func TestStatusConditionsOfStuckAndRejected(t *testing.T) {
	running := testCluster(1, initialized("demo-1", 1))
	obs := obsOf(running, testMember(running, 1, up(RolePrimary)))
	st := computeStatus(running, obs, action{kind: actNone, blocked: reasonParameterRejected, reason: "the cluster is as specified, except: x"}, nil)
	c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionProgressing)
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionFalse, c.Status)
	assert.Equal(t, reasonParameterRejected, c.Reason)
	assert.Equal(t, "the cluster is as specified, except: x", c.Message)
	assert.Equal(t, v1alpha1.PhaseRunning, st.Phase)
	assert.True(t, meta.IsStatusConditionTrue(st.Conditions, v1alpha1.ConditionReady))

	fresh := testCluster(1)
	seedObs := obsOf(fresh, seedMember(fresh, 1, exitedAt(1, stuckNow)))
	st = computeStatus(fresh, seedObs, action{kind: actWait, phase: v1alpha1.PhaseFailed, failure: reasonSeedFailing, reason: "keeps failing"}, nil)
	c = meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionFailed)
	require.NotNil(t, c)
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Equal(t, reasonSeedFailing, c.Reason)
	assert.Equal(t, v1alpha1.PhaseFailed, st.Phase)

	fresh.Status = st
	st = computeStatus(fresh, seedObs, action{kind: actReplaceSeed, reason: "start afresh"}, nil)
	assert.Nil(t, meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionFailed), "cleared once the seed is replaced")
	assert.Equal(t, v1alpha1.PhaseCreating, st.Phase)
}

// TestActorSkipsRefusedParameter: the seed came up without the refused
// setting (init_seed leaves it out); the operator tries it once over SQL,
// reports it once, keeps going, and tries again when the spec changes.
func TestActorSkipsRefusedParameter(t *testing.T) {
	pgc := testCluster(1, func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"shared_buffers": "banana", "work_mem": "8MB"}
	})
	f := newActorFixture(t, pgc)
	f.passUntil("seed pod created", f.exists(func() error {
		_, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
		return err
	}))
	f.runPod("demo-1", "10.0.0.1", dbfake.Server{
		Status:     postgres.Status{Timeline: 1},
		Parameters: defaultParameters,
		Rejects:    map[string]string{"shared_buffers=banana": bananaMsg},
	})
	progressing := func() *metav1.Condition {
		return meta.FindStatusCondition(f.current().Status.Conditions, v1alpha1.ConditionProgressing)
	}
	f.passUntil("refusal reported", func() bool { return progressing().Reason == reasonParameterRejected })
	for range 5 {
		_, err := f.c.reconcile(f.ctx, f.current())
		require.NoError(t, err)
	}
	assert.Equal(t, v1alpha1.PhaseRunning, f.current().Status.Phase)
	assert.Equal(t, metav1.ConditionFalse, progressing().Status)
	assert.Contains(t, progressing().Message, "shared_buffers = 'banana': "+bananaMsg)
	assert.Equal(t, "8MB", f.db.Server("10.0.0.1").Parameters["work_mem"], "the other settings are applied")
	assert.Len(t, f.db.CallsTo("SetParameters"), 1, "tried once for this spec, not every pass")
	assert.Equal(t, 1, countEvents(f, "Warning ParameterRejected"), "one Warning Event")

	// A change that needs a restart still rolls the member.
	withResources := f.current()
	withResources.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
	withResources.Generation++
	_, err := f.pg.PostgresV1alpha1().PostgresClusters("ns").Update(f.ctx, withResources, metav1.UpdateOptions{})
	require.NoError(t, err)
	_, err = f.c.reconcile(f.ctx, f.current())
	require.NoError(t, err)
	pod, err := f.kube.CoreV1().Pods("ns").Get(f.ctx, "demo-1", metav1.GetOptions{})
	assert.True(t, err != nil || pod.DeletionTimestamp != nil, "the roll is not held back by the refused setting")
}

func TestActorRetriesRefusedParameterWhenTheSpecChanges(t *testing.T) {
	pgc := testCluster(1, initialized("demo-1", 1), func(p *v1alpha1.PostgresCluster) {
		p.Spec.Parameters = map[string]string{"shared_buffers": "banana"}
	})
	primary := testMember(pgc, 1, up(RolePrimary))
	f := newActorFixture(t, pgc, primary.pod, primary.pvc, buildServices(pgc)[0], buildServices(pgc)[1])
	f.db.Add("10.0.0.1", dbfake.Server{Status: postgres.Status{Timeline: 1}, Parameters: defaultParameters,
		Rejects: map[string]string{"shared_buffers=banana": bananaMsg}})
	reason := func() string {
		c := meta.FindStatusCondition(f.current().Status.Conditions, v1alpha1.ConditionProgressing)
		if c == nil {
			return ""
		}
		return c.Reason
	}
	f.passUntil("refusal reported", func() bool { return reason() == reasonParameterRejected })

	fixed := f.current()
	fixed.Spec.Parameters = map[string]string{"shared_buffers": "256MB"}
	fixed.Generation++
	_, err := f.pg.PostgresV1alpha1().PostgresClusters("ns").Update(f.ctx, fixed, metav1.UpdateOptions{})
	require.NoError(t, err)
	f.passUntil("applied", func() bool { return f.db.Server("10.0.0.1").Parameters["shared_buffers"] == "256MB" })
	f.passUntil("no longer reported", func() bool { return reason() != reasonParameterRejected })
	assert.Equal(t, 1, countEvents(f, "Warning ParameterRejected"))
}

// countEvents drains the fake recorder and counts Events starting with prefix.
func countEvents(f *actorFixture, prefix string) int {
	events := f.c.cfg.Recorder.(*record.FakeRecorder).Events
	n := 0
	for {
		select {
		case e := <-events:
			if strings.HasPrefix(e, prefix) {
				n++
			}
		default:
			return n
		}
	}
}
