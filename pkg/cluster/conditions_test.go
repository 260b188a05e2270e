package cluster

import (
	"testing"

	"github.com/stretchr/testify/assert"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestRemoveConditionRemovesOnlyThatType(t *testing.T) {
	conds := []metav1.Condition{{Type: "Ready"}, {Type: "Failed"}, {Type: "Paused"}}
	removeCondition(&conds, "Failed")
	assert.Equal(t, []metav1.Condition{{Type: "Ready"}, {Type: "Paused"}}, conds)

	before := &conds[0]
	removeCondition(&conds, "Absent")
	assert.Len(t, conds, 2)
	assert.Same(t, before, &conds[0], "nothing to remove: the slice is left as it was")
	assert.Zero(t, testing.AllocsPerRun(10, func() { removeCondition(&conds, "Absent") }))
}
