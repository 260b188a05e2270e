package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func TestClusterSelectorFlag(t *testing.T) {
	o, err := parseFlags(nil)
	require.NoError(t, err)
	assert.Nil(t, o.selector, "every cluster by default")
	assert.Equal(t, "postgres-operator", o.leaseName)

	for _, tt := range []struct {
		arg           string
		takes, leaves labels.Set
	}{
		{"postgres-operator.dev/shard=b", labels.Set{"postgres-operator.dev/shard": "b"}, labels.Set{}},
		{"!postgres-operator.dev/shard", labels.Set{}, labels.Set{"postgres-operator.dev/shard": "b"}},
		{"team in (x, y),tier!=test", labels.Set{"team": "x"}, labels.Set{"team": "x", "tier": "test"}},
	} {
		o, err := parseFlags([]string{"--cluster-selector=" + tt.arg})
		require.NoError(t, err, tt.arg)
		assert.True(t, o.selector.Matches(tt.takes), "%s takes %v", tt.arg, tt.takes)
		assert.False(t, o.selector.Matches(tt.leaves), "%s leaves %v", tt.arg, tt.leaves)
	}

	_, err = parseFlags([]string{"--cluster-selector=shard==b=c"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `--cluster-selector "shard==b=c" is not a label selector`)
}

func TestLeaseNameFlags(t *testing.T) {
	for _, flag := range []string{"--leader-elect-lease-name", "--leader-elect-name"} {
		o, err := parseFlags([]string{flag + "=postgres-operator-shard-b"})
		require.NoError(t, err)
		assert.Equal(t, "postgres-operator-shard-b", o.leaseName, flag)
	}
}

func TestSelectClusters(t *testing.T) {
	var lo metav1.ListOptions
	selectClusters(nil)(&lo)
	assert.Empty(t, lo.LabelSelector)
	sel, err := labels.Parse("!postgres-operator.dev/shard")
	require.NoError(t, err)
	selectClusters(sel)(&lo)
	assert.Equal(t, "!postgres-operator.dev/shard", lo.LabelSelector)
}
