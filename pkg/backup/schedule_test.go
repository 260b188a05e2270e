package backup

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

func TestParseSchedule(t *testing.T) {
	from := time.Date(2026, 1, 5, 2, 30, 0, 0, time.UTC)
	for spec, next := range map[string]time.Time{
		"0 3 * * *":    time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC),
		" @daily ":     time.Date(2026, 1, 6, 0, 0, 0, 0, time.UTC),
		"@every 6h":    from.Add(6 * time.Hour),
		"*/15 * * * *": time.Date(2026, 1, 5, 2, 45, 0, 0, time.UTC),
		"0 0 29 2 *":   time.Date(2028, 2, 29, 0, 0, 0, 0, time.UTC),
	} {
		s, err := ParseSchedule(spec)
		require.NoError(t, err, spec)
		assert.Equal(t, next, s.Next(from), spec)
	}
	// In UTC whatever the zone of the time given.
	s, err := ParseSchedule("0 3 * * *")
	require.NoError(t, err)
	paris := time.FixedZone("CET", 3600)
	assert.Equal(t, time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC), s.Next(time.Date(2026, 1, 5, 3, 30, 0, 0, paris)))

	for _, bad := range []string{"", "0 3 * *", "0 3 * * * *", "61 * * * *", "@hourly-ish",
		"CRON_TZ=Europe/Paris 0 3 * * *", "TZ=UTC 0 3 * * *", "@every 30s", "0 0 30 2 *"} {
		_, err := ParseSchedule(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestDueFiring(t *testing.T) {
	s, err := ParseSchedule("0 3 * * *")
	require.NoError(t, err)
	last := time.Date(2026, 1, 4, 3, 0, 0, 0, time.UTC)

	_, due, next := dueFiring(s, last, time.Date(2026, 1, 5, 2, 59, 59, 0, time.UTC))
	assert.False(t, due)
	assert.Equal(t, time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC), next)

	fire, due, next := dueFiring(s, last, time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC))
	assert.True(t, due, "due at the firing itself")
	assert.Equal(t, time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC), fire)
	assert.Equal(t, time.Date(2026, 1, 6, 3, 0, 0, 0, time.UTC), next)

	// Ten days down: one backup, for the newest firing.
	fire, due, next = dueFiring(s, last, time.Date(2026, 1, 14, 12, 0, 0, 0, time.UTC))
	assert.True(t, due)
	assert.Equal(t, time.Date(2026, 1, 14, 3, 0, 0, 0, time.UTC), fire)
	assert.Equal(t, time.Date(2026, 1, 15, 3, 0, 0, 0, time.UTC), next)

	// A minutely schedule two years down: bounded work, the newest firing.
	every, err := ParseSchedule("* * * * *")
	require.NoError(t, err)
	now := time.Date(2028, 1, 5, 12, 34, 56, 0, time.UTC)
	fire, due, next = dueFiring(every, last, now)
	assert.True(t, due)
	assert.Equal(t, time.Date(2028, 1, 5, 12, 34, 0, 0, time.UTC), fire)
	assert.Equal(t, time.Date(2028, 1, 5, 12, 35, 0, 0, time.UTC), next)
}

func scheduledCluster(schedule string) *v1alpha1.PostgresCluster {
	pgc := cluster("demo")
	pgc.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 4, 12, 0, 0, 0, time.UTC))
	pgc.Spec.Backup.Schedule = schedule
	return pgc
}

func (f *fixture) syncSchedule(name string) time.Duration {
	f.t.Helper()
	f.refresh()
	after, err := f.c.syncSchedule(f.ctx, cache.NewObjectName(ns, name))
	require.NoError(f.t, err)
	return after
}

func (f *fixture) backupNames() []string {
	f.t.Helper()
	l, err := f.pg.PostgresV1alpha1().PostgresBackups(ns).List(f.ctx, metav1.ListOptions{})
	require.NoError(f.t, err)
	var names []string
	for _, b := range l.Items {
		names = append(names, b.Name)
	}
	return names
}

func TestScheduleFires(t *testing.T) {
	f := newFixture(t, scheduledCluster("0 3 * * *")) // the clock is at 03:00 on 5 January
	assert.Equal(t, 24*time.Hour, f.syncSchedule("demo"), "until the next firing")
	require.Equal(t, []string{"demo-20260105030000"}, f.backupNames())

	b := f.backup("demo-20260105030000")
	assert.Equal(t, v1alpha1.PostgresBackupSpec{Cluster: "demo", Type: v1alpha1.BackupFull}, b.Spec)
	assert.Equal(t, map[string]string{ClusterLabel: "demo", ScheduledLabel: "true", managedByLabel: managedBy}, b.Labels)
	assert.Equal(t, "2026-01-05T03:00:00Z", b.Annotations[ScheduledAtAnnotation])
	require.Len(t, b.OwnerReferences, 1)
	ref := b.OwnerReferences[0]
	assert.Equal(t, "PostgresCluster", ref.Kind)
	assert.Equal(t, "uid-demo", string(ref.UID))
	assert.Nil(t, ref.Controller, "owned, not controlled")
	assert.False(t, *ref.BlockOwnerDeletion)
	assert.Equal(t, []string{"PostgresCluster/demo Normal BackupScheduled PostgresBackup demo-20260105030000 created for the schedule's firing at 2026-01-05T03:00:00Z"},
		f.recorder.take())

	// Again at once, and again with a cache that lags: no second backup.
	f.clock.Step(time.Minute)
	assert.Equal(t, 24*time.Hour-time.Minute, f.syncSchedule("demo"))
	_, err := f.c.syncSchedule(f.ctx, cache.NewObjectName(ns, "demo"))
	require.NoError(t, err)
	require.NoError(t, f.inf.Backups.Informer().GetIndexer().Replace(nil, ""))
	_, err = f.c.syncSchedule(f.ctx, cache.NewObjectName(ns, "demo"))
	require.NoError(t, err, "the firing's name is taken: a no-op")
	assert.Equal(t, []string{"demo-20260105030000"}, f.backupNames())
	assert.Empty(t, f.recorder.take())

	f.clock.SetTime(time.Date(2026, 1, 6, 3, 0, 0, 0, time.UTC))
	f.syncSchedule("demo")
	assert.Equal(t, []string{"demo-20260105030000", "demo-20260106030000"}, f.backupNames())
}

// Down for three days: the missed firings are taken once, as the newest.
func TestScheduleAfterDowntime(t *testing.T) {
	f := newFixture(t, scheduledCluster("0 3 * * *"))
	f.syncSchedule("demo")
	f.clock.SetTime(time.Date(2026, 1, 8, 17, 0, 0, 0, time.UTC))
	assert.Equal(t, 10*time.Hour, f.syncSchedule("demo"))
	assert.Equal(t, []string{"demo-20260105030000", "demo-20260108030000"}, f.backupNames())
	f.syncSchedule("demo")
	assert.Len(t, f.backupNames(), 2)
}

// The last firing is the newest scheduled backup's, this cluster's only.
func TestScheduleFollowsItsBackups(t *testing.T) {
	pgc := scheduledCluster("0 3 * * *")
	mine := scheduledBackup(pgc, time.Date(2026, 1, 5, 3, 0, 0, 0, time.UTC))
	predecessor := scheduledBackup(pgc, time.Date(2026, 1, 7, 3, 0, 0, 0, time.UTC))
	predecessor.OwnerReferences[0].UID = "uid-deleted-demo"
	manual := backupOf("manual", "demo")
	f := newFixture(t, pgc, mine, predecessor, manual)
	f.clock.SetTime(time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC))
	assert.Equal(t, 15*time.Hour, f.syncSchedule("demo"), "05 Jan taken, next is 06 Jan; the predecessor's 07 Jan does not count")
	assert.Len(t, f.backupNames(), 3)
}

func TestScheduleLeavesAloneWhatItShould(t *testing.T) {
	invalid := scheduledCluster("every day at 3")
	paused := scheduledCluster("0 3 * * *")
	paused.Name, paused.Spec.Paused = "paused", true
	none := cluster("none")
	f := newFixture(t, invalid, paused, none)
	assert.Zero(t, f.syncSchedule("demo"), "invalid: nothing until the spec changes")
	assert.Equal(t, 24*time.Hour, f.syncSchedule("paused"), "a paused cluster takes no backup")
	assert.Zero(t, f.syncSchedule("none"))
	assert.Zero(t, f.syncSchedule("gone"))
	assert.Empty(t, f.backupNames())
}
