package cluster

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// removeCondition is meta.RemoveStatusCondition without its copy of the
// slice when there is nothing to remove: every pass of every cluster
// removes conditions that are usually absent (Paused, Failed, the backup
// ones), and those copies were a tenth of an idle fleet's allocations.
func removeCondition(conditions *[]metav1.Condition, conditionType string) {
	if meta.FindStatusCondition(*conditions, conditionType) != nil {
		meta.RemoveStatusCondition(conditions, conditionType)
	}
}
