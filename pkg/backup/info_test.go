package backup

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

const incrLabel = "20260104-142406F_20260105-030002I"

func TestParseReport(t *testing.T) {
	r, err := parseReport(sampleLog(t, incrLabel))
	require.NoError(t, err)
	assert.Equal(t, incrLabel, r.Label)
	assert.Empty(t, r.Warning)
	assert.Equal(t, "db", r.Stanza.Name)
	require.Len(t, r.Stanza.Archive, 1)
	assert.Equal(t, "000000010000000000000003", r.Stanza.Archive[0].Min)
	assert.Equal(t, "000000010000000000000009", r.Stanza.Archive[0].Max)
	assert.True(t, r.has("20260104-142406F"))
	assert.False(t, r.has("20251228-030001F"))

	b, ok := r.backup()
	require.True(t, ok)
	assert.Equal(t, "incr", b.Type)
	assert.Equal(t, int64(1767582002), b.Timestamp.Start)
	assert.Equal(t, "0/8000100", b.LSN.Stop)
	assert.Equal(t, int64(1213), b.Info.Repository.Delta)
}

func TestParseReportTakesTheLastResultAndTheWarning(t *testing.T) {
	log := sampleLog(t, "20260104-142406F")
	log = strings.Replace(log, resultPrefix, "BACKUP-WARNING retention by age (fullDays) not applied: [039]: HTTP request failed\n"+resultPrefix, 1)
	log = "BACKUP-RESULT stale [not json\n" + log
	r, err := parseReport(log)
	require.NoError(t, err)
	assert.Equal(t, "20260104-142406F", r.Label)
	assert.Equal(t, "retention by age (fullDays) not applied: [039]: HTTP request failed", r.Warning)
}

func TestParseReportErrors(t *testing.T) {
	for name, log := range map[string]string{
		"no result":       "P00   INFO: backup command end: completed successfully\n",
		"fake logs":       "fake logs",
		"truncated json":  resultPrefix + "20260104-142406F [{\"name\":\"db\",\"backup\":[\n",
		"label not found": resultPrefix + "20990101-000000F " + `[{"name":"db","backup":[]}]` + "\n",
		"two stanzas":     resultPrefix + "x " + `[{"name":"a"},{"name":"b"}]` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseReport(log)
			assert.Error(t, err)
		})
	}
}

func TestCompletedStatus(t *testing.T) {
	r, err := parseReport(sampleLog(t, incrLabel))
	require.NoError(t, err)
	running := v1alpha1.PostgresBackupStatus{Phase: v1alpha1.BackupRunning, Job: "nightly", Primary: "demo-2"}
	st := completedStatus(running, r)
	assert.Equal(t, v1alpha1.BackupCompleted, st.Phase)
	assert.Equal(t, "nightly", st.Job)
	assert.Equal(t, "demo-2", st.Primary)
	assert.Equal(t, incrLabel, st.Label)
	assert.Equal(t, time.Date(2026, 1, 5, 3, 0, 2, 0, time.UTC), st.StartTime.Time)
	assert.Equal(t, time.Date(2026, 1, 5, 3, 0, 9, 0, time.UTC), st.StopTime.Time)
	assert.Equal(t, int64(1288490189), st.DatabaseBytes)
	assert.Equal(t, "1.2 GiB", st.Size)
	assert.Equal(t, int64(1213), st.RepositoryBytes, "what this backup added to the store")
	assert.Equal(t, "0/8000028", st.BeginLSN)
	assert.Equal(t, "0/8000100", st.EndLSN)
	assert.Equal(t, "000000010000000000000008", st.BeginWAL)
	assert.Equal(t, "000000010000000000000008", st.EndWAL)
	assert.Empty(t, st.Message)
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 31049162: "29.6 MiB",
		1288490189: "1.2 GiB", 5 << 40: "5.0 TiB", 3 << 50: "3.0 PiB", 5000 << 50: "5000.0 PiB",
	} {
		assert.Equal(t, want, humanBytes(n), "%d", n)
	}
}

func TestOneLine(t *testing.T) {
	assert.Equal(t, "a b c", oneLine("  a\n  b\t\tc\n"))
	long := oneLine(strings.Repeat("é", 1000))
	assert.LessOrEqual(t, len(long), maxMessage)
	assert.True(t, strings.HasSuffix(long, "..."))
	assert.True(t, strings.HasPrefix(long, "éé"))
	assert.NotContains(t, long, "\uFFFD")
	assert.Equal(t, strings.ToValidUTF8(long, "?"), long, "cut on a character boundary")
}
