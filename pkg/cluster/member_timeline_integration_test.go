//go:build integration

package cluster

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres/pgtest"
)

var timelineTakenFunc = regexp.MustCompile(`(?s)\ntimeline_taken\(\) \{\n.*?\n\}\n`)

// TestTimelineTakenByTwoPromotions runs member.sh's timeline_taken against
// real servers: two standbys of one primary promoted separately, each
// unaware of the other, both take timeline 2 (seen in the chaos suite: an
// operator promoted one and died before recording it, the next promoted
// the other). pg_rewind would find "the same timeline" and rewind nothing.
// The old primary, on timeline 1, is rewound as always.
func TestTimelineTakenByTwoPromotions(t *testing.T) {
	p := pgtest.NewPrimary(t, "p")
	a := p.NewStandby(t, "a")
	b := p.NewStandby(t, "b")
	p.Exec(t, `CREATE TABLE t AS SELECT generate_series(1, 1000) AS i`)
	end := p.Query(t, `SELECT pg_current_wal_lsn()`)
	for _, s := range []*pgtest.Server{a, b} {
		pgtest.Eventually(t, 30*time.Second, s.Name+" replays the primary's WAL", func() (bool, error) {
			done, err := s.QueryErr(`SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn`, end)
			return done == "true", err
		})
	}
	p.Stop(t)
	a.Exec(t, `SELECT pg_promote(true, 30)`)
	a.Exec(t, `INSERT INTO t VALUES (0)`)
	a.Stop(t)
	b.Exec(t, `SELECT pg_promote(true, 30)`)
	b.Exec(t, `CHECKPOINT`)
	require.Equal(t, "2", b.Query(t, `SELECT timeline_id FROM pg_control_checkpoint()`))

	rewind := dryRewind(t, b, a.DataDir)
	require.Contains(t, rewind, "no rewind required", "what pg_rewind makes of it (the reason for the check)")
	assert.True(t, runTimelineTaken(t, b, a.DataDir), "a was a primary on timeline 2, which b took too")
	assert.False(t, runTimelineTaken(t, b, p.DataDir), "the old primary on timeline 1 is rewound")
}

// runTimelineTaken runs the function with PGDATA=dataDir against primary.
func runTimelineTaken(t *testing.T, primary *pgtest.Server, dataDir string) bool {
	out := runMemberCheck(t, timelineTakenFunc, primary, dataDir,
		`if timeline_taken; then echo "taken $mine $theirs"; else echo "free ${mine:-} ${theirs:-}"; fi`)
	t.Logf("timeline_taken on %s: %s", dataDir, out)
	return strings.HasPrefix(out, "taken ")
}

// dryRewind is pg_rewind's verdict on dataDir against primary, changing nothing.
func dryRewind(t *testing.T, primary *pgtest.Server, dataDir string) string {
	e := newSeedEnv(t)
	src := "host=127.0.0.1 port=" + strconv.Itoa(primary.Port) + " user=postgres dbname=postgres"
	cmd := e.command([]string{"PGPASSWORD=" + primary.Password}, filepath.Join(e.binDir, "pg_rewind"), "--dry-run", "-D", dataDir, "--source-server="+src)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	t.Logf("pg_rewind --dry-run: %s", out)
	return string(out)
}
