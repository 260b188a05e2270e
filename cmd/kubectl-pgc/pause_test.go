package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestPauseAndResumePatchOnlySpecPaused(t *testing.T) {
	e := newTestEnv(t, []runtime.Object{demo()})

	require.NoError(t, e.exec("pause", "demo"))
	got, err := e.pg.PostgresV1alpha1().PostgresClusters("db").Get(t.Context(), "demo", metav1.GetOptions{})
	require.NoError(t, err)
	assert.True(t, got.Spec.Paused)
	assert.Equal(t, int32(2), got.Spec.Size, "the rest of the spec is untouched")

	require.NoError(t, e.exec("resume", "demo"))
	got, err = e.pg.PostgresV1alpha1().PostgresClusters("db").Get(t.Context(), "demo", metav1.GetOptions{})
	require.NoError(t, err)
	assert.False(t, got.Spec.Paused)

	assert.Equal(t, []string{`{"spec":{"paused":true}}`, `{"spec":{"paused":false}}`}, e.patches(t))
	assert.Equal(t, "postgrescluster db/demo paused: the operator takes no action on it until `kubectl pgc resume`\n"+
		"postgrescluster db/demo resumed\n", e.out.String())
}

func TestPauseMissingCluster(t *testing.T) {
	e := newTestEnv(t, nil)
	err := e.exec("pause", "nope")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "patching PostgresCluster db/nope")
}
