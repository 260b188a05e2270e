package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// fullMeta is metadata as the API server returns it for an object a user
// applied with kubectl, and the operator then labelled.
func fullMeta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Name: name, Namespace: "db", UID: types.UID("uid-" + name), ResourceVersion: "42", Generation: 3,
		Labels:      map[string]string{"postgres-operator.dev/cluster": "demo", "postgres-operator.dev/role": "primary"},
		Annotations: map[string]string{lastAppliedAnnotation: `{"a":"full copy"}`, "postgres-operator.dev/spec-hash": "abc"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "postgres-operator.dev/v1alpha1", Kind: "PostgresCluster",
			Name: "demo", UID: "uid-demo"}},
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
	}
}

// stripped is what stripForCache should leave of fullMeta.
func stripped(m metav1.ObjectMeta) metav1.ObjectMeta {
	m.ManagedFields = nil
	delete(m.Annotations, lastAppliedAnnotation)
	return m
}

func memberPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: fullMeta("demo-1"),
		Spec: corev1.PodSpec{
			NodeName:      "node-a",
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{
				Name: "postgres", Image: "postgres:15",
				Command: []string{"/bin/sh", "-c", "member.sh, 20 KB"}, Args: []string{"x"},
				Env:          []corev1.EnvVar{{Name: "BOOTSTRAP_PARAMETERS", Value: "work_mem = '4MB'"}},
				Resources:    corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}},
				VolumeMounts: []corev1.VolumeMount{{Name: "data", MountPath: "/var/lib/postgresql/data"}},
				ReadinessProbe: &corev1.Probe{PeriodSeconds: 2, ProbeHandler: corev1.ProbeHandler{
					Exec: &corev1.ExecAction{Command: []string{"pg_isready"}}}},
				LivenessProbe: &corev1.Probe{PeriodSeconds: 5, ProbeHandler: corev1.ProbeHandler{
					Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "fence script, 3 KB"}}}},
				StartupProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
					TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(5432)}}},
			}},
			Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
				PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "demo-1-data"}}}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.7",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "postgres", State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: "fatal"}}}},
		},
	}
}

// A pod keeps everything the operator reads (labels, annotations, owner,
// node, volumes, images, env, resources, probes' timing, status); it loses
// its managed fields, the last-applied copy, its containers' command and
// args and its exec probes' commands.
func TestStripForCacheKeepsWhatTheOperatorReads(t *testing.T) {
	want := memberPod()
	want.ObjectMeta = stripped(want.ObjectMeta)
	want.Spec.Containers[0].Command, want.Spec.Containers[0].Args = nil, nil
	want.Spec.Containers[0].ReadinessProbe.Exec.Command = nil
	want.Spec.Containers[0].LivenessProbe.Exec.Command = nil

	got, err := stripForCache(memberPod())
	require.NoError(t, err)
	assert.Equal(t, want, got)

	again, err := stripForCache(got)
	require.NoError(t, err)
	assert.Equal(t, want, again, "idempotent")
}

func TestStripForCacheByKind(t *testing.T) {
	secret := &corev1.Secret{ObjectMeta: fullMeta("demo-superuser"), Data: map[string][]byte{"password": []byte("pw")}}
	pdb := &policyv1.PodDisruptionBudget{ObjectMeta: fullMeta("demo"),
		Spec: policyv1.PodDisruptionBudgetSpec{MaxUnavailable: &intstr.IntOrString{IntVal: 1}}}
	pgc := &v1alpha1.PostgresCluster{ObjectMeta: fullMeta("demo"),
		Spec:   v1alpha1.PostgresClusterSpec{Size: 3, PostgresVersion: 15},
		Status: v1alpha1.PostgresClusterStatus{Primary: "demo-1"}}
	pgb := &v1alpha1.PostgresBackup{ObjectMeta: fullMeta("b1"),
		Spec: v1alpha1.PostgresBackupSpec{Cluster: "demo"}, Status: v1alpha1.PostgresBackupStatus{Job: "b1"}}

	for _, tt := range []struct {
		name string
		obj  any
		want any
	}{
		{"a Secret keeps its data", secret.DeepCopy(), &corev1.Secret{ObjectMeta: stripped(fullMeta("demo-superuser")), Data: secret.Data}},
		{"a PodDisruptionBudget keeps the last-applied copy: the operator updates it whole",
			pdb.DeepCopy(), func() any { p := pdb.DeepCopy(); p.ManagedFields = nil; return p }()},
		{"a PostgresCluster keeps spec and status", pgc.DeepCopy(),
			&v1alpha1.PostgresCluster{ObjectMeta: stripped(fullMeta("demo")), Spec: pgc.Spec, Status: pgc.Status}},
		{"a PostgresBackup keeps spec and status", pgb.DeepCopy(),
			&v1alpha1.PostgresBackup{ObjectMeta: stripped(fullMeta("b1")), Spec: pgb.Spec, Status: pgb.Status}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := stripForCache(tt.obj)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}

	tombstone := cache.DeletedFinalStateUnknown{Key: "db/demo-1", Obj: memberPod()}
	got, err := stripForCache(tombstone)
	require.NoError(t, err)
	assert.Equal(t, tombstone, got, "a tombstone passes as it is")
}

// stripForCache empties the command and args of cached pods' containers,
// which is safe only while no code that reads the caches reads them. Any
// selector named Command or Args in those packages fails this test: a
// composite literal's "Command:" (a builder) is not a selector.
func TestNothingReadsACommandOrArgs(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe.go")
	require.NoError(t, os.WriteFile(probe, []byte("package p\n"+
		"func build() any { return Container{Command: nil} }\n"+
		"func read(c Container) []string { return c.Args }\n"), 0o600))
	require.Len(t, commandSelectors(t, probe), 1, "a read is found, a builder's field is not")

	for _, dir := range []string{"../../pkg/cluster", "../../pkg/backup", "../../pkg/controller"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		require.NoError(t, err)
		require.NotEmpty(t, files, dir)
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			for _, at := range commandSelectors(t, file) {
				t.Errorf("%s reads a Command or Args; the informers strip them from Pods (transform.go)", at)
			}
		}
	}
}

func commandSelectors(t *testing.T, file string) []string {
	src, err := os.ReadFile(file)
	require.NoError(t, err)
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, 0)
	require.NoError(t, err)
	var found []string
	ast.Inspect(f, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Command" || sel.Sel.Name == "Args") {
			found = append(found, fset.Position(sel.Pos()).String())
		}
		return true
	})
	return found
}
