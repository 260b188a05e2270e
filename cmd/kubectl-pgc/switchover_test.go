package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestSwitchoverPatchesTheAnnotation(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		last       string
		want, note string
	}{
		{"to a member", []string{"--to", "demo-2"}, "", "demo-2", ""},
		{"to any by default", nil, "", "any", ""},
		{"any again is spelled as the best replica", nil, "any", "demo-2", "the operator acted on \"any\" before"},
		{"the same member again is any when it is the only replica", []string{"--to", "demo-2"}, "demo-2", "any", "which can only be demo-2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pgc := demo()
			pgc.Status.LastSwitchover = tc.last
			e := newTestEnv(t, []runtime.Object{pgc})
			require.NoError(t, e.exec(append([]string{"switchover", "demo"}, tc.args...)...))

			assert.Equal(t, []string{`{"metadata":{"annotations":{"postgres-operator.dev/switchover":"` + tc.want + `"}}}`}, e.patches(t))
			got, err := e.pg.PostgresV1alpha1().PostgresClusters("db").Get(t.Context(), "demo", metav1.GetOptions{})
			require.NoError(t, err)
			assert.Equal(t, tc.want, got.Annotations[v1alpha1.SwitchoverAnnotation])
			assert.Contains(t, e.out.String(), "asked postgrescluster db/demo to switch over from demo-1 to ")
			assert.Contains(t, e.out.String(), tc.note)
		})
	}
}

// What the operator would refuse or ignore fails before any patch.
func TestSwitchoverRefusedBeforeAsking(t *testing.T) {
	noReplica := demo()
	noReplica.Status.MemberStatuses[1].Ready = false
	lastTo3 := demo()
	lastTo3.Status.MemberStatuses = append(lastTo3.Status.MemberStatuses, v1alpha1.MemberStatus{Name: "demo-3", Role: "replica", Ready: true})
	lastTo3.Status.LastSwitchover = "demo-3"
	for _, tc := range []struct {
		name string
		pgc  *v1alpha1.PostgresCluster
		args []string
		want string
	}{
		{"already primary", demo(), []string{"--to", "demo-1"}, "demo-1 is already the primary"},
		{"not a member", demo(), []string{"--to", "demo-9"}, "demo-9 is not a member of demo (members: demo-1, demo-2)"},
		{"no ready replica", noReplica, nil, "no ready replica"},
		{"the same value again", lastTo3, []string{"--to", "demo-3"}, `already acted on a switchover to "demo-3"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTestEnv(t, []runtime.Object{tc.pgc})
			err := e.exec(append([]string{"switchover", "demo"}, tc.args...)...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Empty(t, e.patches(t))
		})
	}
}

// operatorReacts makes the fake answer the second and later Gets with
// what the operator would have written by then.
func operatorReacts(e *testEnv, change func(*v1alpha1.PostgresClusterStatus)) {
	gets := 0
	e.pg.PrependReactor("get", "postgresclusters", func(k8stesting.Action) (bool, runtime.Object, error) {
		if gets++; gets == 2 {
			obj, _ := e.pg.Tracker().Get(v1alpha1.SchemeGroupVersion.WithResource("postgresclusters"), "db", "demo")
			pgc := obj.(*v1alpha1.PostgresCluster).DeepCopy()
			change(&pgc.Status)
			_ = e.pg.Tracker().Update(v1alpha1.SchemeGroupVersion.WithResource("postgresclusters"), pgc, "db")
		}
		return false, nil, nil
	})
}

func TestSwitchoverWaitsForTheNewPrimary(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()})
	operatorReacts(e, func(st *v1alpha1.PostgresClusterStatus) {
		st.Primary, st.Timeline, st.LastSwitchover = "demo-2", 3, "demo-2"
	})
	require.NoError(t, e.exec("switchover", "demo", "--to", "demo-2", "--wait"))
	assert.Contains(t, e.out.String(), "demo-2 is the primary (timeline 3) after ")
}

func TestSwitchoverWaitReportsARefusal(t *testing.T) {
	refused := event("r", corev1.EventTypeWarning, "SwitchoverRefused", `switchover to "demo-2" refused: it is not a healthy streaming replica of this cluster`, 0)
	e := newTestEnv(t, []runtime.Object{demo()}, refused)
	operatorReacts(e, func(st *v1alpha1.PostgresClusterStatus) { st.LastSwitchover = "demo-2" })
	err := e.exec("switchover", "demo", "--to", "demo-2", "--wait")
	require.Error(t, err)
	assert.Equal(t, `the operator refused the switchover: switchover to "demo-2" refused: it is not a healthy streaming replica of this cluster`, err.Error())
}

func TestSwitchoverWaitTimesOut(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()})
	err := e.exec("switchover", "demo", "--wait", "--timeout", "20ms")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timed out after 20ms waiting for the primary of db/demo to change from demo-1")
}
