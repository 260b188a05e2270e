package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

// operatorLog is a few lines of the operator's klog output.
const operatorLog = `I1201 11:59:58.000000       1 controller.go:154] "Starting PostgresCluster controller" workers=8
I1201 11:59:59.000000       1 apply.go:89] "Action applied" cluster="db/demo" action="CreateMember" member="demo-2" reason="creating demo-2"
I1201 11:59:59.100000       1 apply.go:89] "Action applied" cluster="db/demo2" action="CreateMember" member="demo2-1" reason="creating demo2-1"
I1201 11:59:59.200000       1 apply.go:89] "Action applied" cluster="other/demo" action="Fence" member="demo-1" reason="fencing"
I1201 12:00:00.000000       1 apply_failover.go:96] "Promoted" cluster="db/demo" member="demo-2" took="120ms"
`

func TestFilterLinesKeepsThisClustersLines(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, filterLines(strings.NewReader(operatorLog), &out, clusterKey("db", "demo"), "[op-a] "))
	assert.Equal(t, `[op-a] I1201 11:59:59.000000       1 apply.go:89] "Action applied" cluster="db/demo" action="CreateMember" member="demo-2" reason="creating demo-2"
[op-a] I1201 12:00:00.000000       1 apply_failover.go:96] "Promoted" cluster="db/demo" member="demo-2" took="120ms"
`, out.String())
}

// logsReactor answers every pods/log request with text and records the
// options asked for.
func logsReactor(e *testEnv, text string) *[]*corev1.PodLogOptions {
	var seen []*corev1.PodLogOptions
	e.kube.PrependReactor("get", "pods", func(act k8stesting.Action) (bool, runtime.Object, error) {
		if act.GetSubresource() != "log" {
			return false, nil, nil
		}
		seen = append(seen, act.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions))
		return true, &runtime.Unknown{Raw: []byte(text)}, nil
	})
	return &seen
}

func operatorPod(name string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "postgres-operator",
		Labels: map[string]string{"app.kubernetes.io/name": "postgres-operator"}}}
}

func TestOperatorLogsOfEveryOperatorPod(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, operatorPod("op-a"), operatorPod("op-b"))
	seen := logsReactor(e, operatorLog)
	require.NoError(t, e.exec("logs", "demo", "--operator", "--tail", "100"))

	lines := strings.Split(strings.TrimSpace(e.out.String()), "\n")
	require.Len(t, lines, 4, e.out.String())
	assert.True(t, strings.HasPrefix(lines[0], "[op-a] ") && strings.HasPrefix(lines[2], "[op-b] "), lines)
	for _, l := range lines {
		assert.Contains(t, l, `cluster="db/demo"`)
	}
	require.Len(t, *seen, 2)
	assert.Equal(t, int64(100), *(*seen)[0].TailLines)
	assert.Empty(t, (*seen)[0].Container)
}

func TestOperatorLogsFollowReadsThePodsAtOnce(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, operatorPod("op-a"), operatorPod("op-b"))
	seen := logsReactor(e, operatorLog)
	require.NoError(t, e.exec("logs", "demo", "--operator", "-f"))
	assert.Len(t, strings.Split(strings.TrimSpace(e.out.String()), "\n"), 4)
	for _, o := range *seen {
		assert.True(t, o.Follow)
	}
}

func TestOperatorLogsWithoutOperator(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()})
	err := e.exec("logs", "demo", "--operator")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no operator pods")
}

func TestMemberLogsDefaultToThePrimary(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, memberPod("demo-1", "a"), memberPod("demo-2", "b"))
	seen := logsReactor(e, "LOG:  database system is ready to accept connections\n")
	require.NoError(t, e.exec("logs", "demo", "--since", "10m"))
	assert.Equal(t, "LOG:  database system is ready to accept connections\n", e.out.String())
	require.Len(t, *seen, 1)
	assert.Equal(t, "postgres", (*seen)[0].Container)
	assert.Equal(t, int64(600), *(*seen)[0].SinceSeconds)
	assert.Nil(t, (*seen)[0].TailLines)
	assert.Contains(t, getLogPods(e), "demo-1")
}

// getLogPods lists the pods whose log was asked for, by the Gets before.
func getLogPods(e *testEnv) []string {
	var names []string
	for _, act := range e.kube.Actions() {
		if g, ok := act.(k8stesting.GetAction); ok && act.GetResource().Resource == "pods" && act.GetSubresource() == "" {
			names = append(names, g.GetName())
		}
	}
	return names
}

func TestMemberLogsOfANamedMember(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()}, memberPod("demo-1", "a"), memberPod("demo-2", "b"))
	logsReactor(e, "x\n")
	require.NoError(t, e.exec("logs", "demo", "demo-2", "-f"))
	assert.Equal(t, []string{"demo-2"}, getLogPods(e))

	err := e.exec("logs", "demo", "demo-2", "--operator")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "give no MEMBER")
}
