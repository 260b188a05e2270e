package backup_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"postgres-operator.dev/postgres-operator/pkg/backup"
	"postgres-operator.dev/postgres-operator/pkg/cluster"
	"postgres-operator.dev/postgres-operator/pkg/controller"
)

// pkg/backup repeats these names rather than import pkg/cluster (which may
// import pkg/backup for ParseSchedule); they must stay what the cluster's
// actor and the operator's informers use.
func TestLabelsMatchTheClusterPackage(t *testing.T) {
	assert.Equal(t, cluster.ClusterLabel, backup.ClusterLabel)
	assert.Equal(t, controller.ClusterLabel, backup.ClusterLabel, "the kube informers' filter")
	assert.Equal(t, cluster.MemberLabel, backup.MemberLabelForTest)
	assert.Equal(t, cluster.RoleLabel, backup.RoleLabelForTest)
	assert.Equal(t, cluster.RolePrimary, backup.RolePrimaryForTest)
	assert.Equal(t, cluster.ScheduledLabel, backup.ScheduledLabel, "the actor's status.backup.lastScheduledBackup")
}
