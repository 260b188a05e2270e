package main

import (
	"bytes"
	"context"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	pgfake "postgres-operator.dev/postgres-operator/pkg/client/clientset/versioned/fake"
)

// now is the fixed clock of every test.
var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

// testEnv is the plugin wired to fake clientsets, with captured output.
type testEnv struct {
	a           *app
	out, errOut *bytes.Buffer
	kube        *kubefake.Clientset
	pg          *pgfake.Clientset
}

func newTestEnv(t *testing.T, pgObjs []runtime.Object, kubeObjs ...runtime.Object) *testEnv {
	t.Helper()
	e := &testEnv{out: &bytes.Buffer{}, errOut: &bytes.Buffer{},
		kube: kubefake.NewClientset(kubeObjs...),
		// NewClientset cannot patch custom resources (kubernetes#126850).
		pg: pgfake.NewSimpleClientset(pgObjs...)}
	e.a = &app{
		config:    genericclioptions.NewConfigFlags(false),
		streams:   genericiooptions.IOStreams{In: strings.NewReader(""), Out: e.out, ErrOut: e.errOut},
		kube:      e.kube,
		pg:        e.pg,
		ns:        "db",
		lookupEnv: func(string) (string, bool) { return "", false },
		now:       func() time.Time { return now },
		lookPath:  func(string) (string, error) { return "/usr/bin/psql", nil },
		run:       func(*exec.Cmd) error { t.Fatal("psql run unexpectedly"); return nil },
		isTTY:     func(io.Writer) bool { return false },
		poll:      time.Millisecond,
	}
	return e
}

// exec runs the plugin's command line as main does.
func (e *testEnv) exec(args ...string) error {
	cmd := newRootCmd(e.a)
	cmd.SetArgs(normalizeArgs(args))
	return cmd.ExecuteContext(context.Background())
}

// patches returns the bodies of the patches sent to PostgresClusters,
// checking that each is a merge patch (which touches only what it names).
func (e *testEnv) patches(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, act := range e.pg.Actions() {
		if p, ok := act.(k8stesting.PatchAction); ok && act.GetVerb() == "patch" {
			assert.Equal(t, types.MergePatchType, p.GetPatchType())
			assert.Equal(t, "postgresclusters", p.GetResource().Resource)
			out = append(out, string(p.GetPatch()))
		}
	}
	return out
}

// demo is a healthy two-member cluster in namespace db.
func demo() *v1alpha1.PostgresCluster {
	ago := func(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }
	return &v1alpha1.PostgresCluster{
		ObjectMeta: metav1.ObjectMeta{Name: "demo", Namespace: "db", Generation: 3},
		Spec:       v1alpha1.PostgresClusterSpec{Size: 2, PostgresVersion: 15},
		Status: v1alpha1.PostgresClusterStatus{
			Phase: v1alpha1.PhaseRunning, Primary: "demo-1", Timeline: 2, ReadyMembers: 2, ObservedGeneration: 3,
			CurrentImage: "localhost/postgres:15",
			MemberStatuses: []v1alpha1.MemberStatus{
				{Name: "demo-1", Role: "primary", Ready: true},
				{Name: "demo-2", Role: "replica", Ready: true, LagBytes: 3 << 20},
			},
			Conditions: []metav1.Condition{
				{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "AllMembersReady", Message: "2 of 2 members ready", LastTransitionTime: ago(time.Hour)},
				{Type: v1alpha1.ConditionDegraded, Status: metav1.ConditionFalse, Reason: "AsExpected", LastTransitionTime: ago(time.Hour)},
			},
		},
	}
}

// event is an Event about the demo cluster, d ago.
func event(name, typ, reason, msg string, d time.Duration) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name, Namespace: "db"},
		InvolvedObject: corev1.ObjectReference{Kind: "PostgresCluster", Name: "demo", Namespace: "db"},
		Type:           typ, Reason: reason, Message: msg,
		LastTimestamp: metav1.NewTime(now.Add(-d)),
	}
}
