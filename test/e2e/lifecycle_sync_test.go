//go:build e2e

package e2e

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// In sync mode the primary names every replica in
// synchronous_standby_names = 'ANY 1 (...)', and a commit does not return
// before a standby has it.
//
// How the test proves the second part, rigorously:
//
//  1. Durability with the default synchronous_commit=on: inside the
//     writing transaction it takes pg_current_wal_insert_lsn(), which is
//     below the end of the commit record; right after COMMIT returns, in
//     the same session, pg_stat_replication must show a standby whose
//     flush_lsn is at or past it. The walsender stores a standby's flush
//     position before it releases the waiting backends, so in sync mode
//     this holds at once, without waiting.
//  2. That check alone would also pass in async mode on a fast network, so
//     the test also shows a commit blocking: with replay paused on every
//     standby, a commit with synchronous_commit=remote_apply must sit in
//     the SyncRep wait (seen in pg_stat_activity) instead of returning;
//     resuming replay on one standby releases it, and the row is then
//     visible on that standby with no waiting, as remote_apply promises.
func TestLifecycleSyncReplication(t *testing.T) {
	f := setup(t)
	ns := f.Namespace(t, "lc-sync")
	pw := createReadyCluster(t, f, ns, "sync", 3, "  replication:\n    mode: sync\n")
	primary, replicas := f.Roles(t, ns, "sync")
	require.Equal(t, []string{"sync-2", "sync-3"}, replicas)
	f.WaitStreaming(t, ns, primary, pw, replicas, time.Minute)

	assert.Equal(t, `ANY 1 ("sync-2","sync-3")`, f.Query(t, ns, primary, pw, "show synchronous_standby_names"))
	assert.Equal(t, "sync-2=quorum,sync-3=quorum", f.Query(t, ns, primary, pw,
		"select string_agg(application_name || '=' || sync_state, ',' order by application_name) from pg_stat_replication"))
	f.Query(t, ns, primary, pw, "create table synced(id int primary key, note text)")
	primaryIP := f.PodIP(t, ns, primary)

	t.Run("flushed on a standby when the commit returns", func(t *testing.T) {
		out, err := framework.PSQLScript(primaryIP, pw, `
begin;
insert into synced values (1, 'flushed');
select pg_current_wal_insert_lsn() as lsn \gset
commit;
select count(*) from pg_stat_replication where flush_lsn >= :'lsn';
`)
		require.NoError(t, err)
		n, err := strconv.Atoi(out)
		require.NoError(t, err, out)
		assert.GreaterOrEqual(t, n, 1, "no standby had flushed the commit when it returned")
	})

	t.Run("a commit waits until a standby applied it", func(t *testing.T) {
		for _, r := range replicas {
			f.Query(t, ns, r, pw, "select pg_wal_replay_pause()")
			f.WaitQuery(t, ns, r, pw, "select pg_get_wal_replay_pause_state()", "paused", 30*time.Second)
		}
		done := framework.StartPSQLScript(primaryIP, pw, `
set application_name = 'e2e-sync-writer';
set synchronous_commit = remote_apply;
insert into synced values (2, 'applied');
`)
		framework.Eventually(t, 30*time.Second, "the commit waiting in SyncRep", func() (bool, error) {
			select {
			case r := <-done:
				t.Fatalf("the commit returned while no standby could apply it: %+v", r)
			default:
			}
			w, err := f.PSQL(ns, "", primary, pw, "select wait_event from pg_stat_activity where application_name = 'e2e-sync-writer'")
			return err == nil && w == "SyncRep", framework.Errorf("wait_event %q, err %v", w, err)
		})
		for _, r := range replicas {
			assert.Equal(t, "0", f.Query(t, ns, r, pw, "select count(*) from synced where id = 2"), "replay is paused on %s", r)
		}

		f.Query(t, ns, replicas[0], pw, "select pg_wal_replay_resume()")
		select {
		case r := <-done:
			require.NoError(t, r.Err)
		case <-time.After(30 * time.Second):
			t.Fatal("the commit did not return after replay resumed on " + replicas[0])
		}
		assert.Equal(t, "1", f.Query(t, ns, replicas[0], pw, "select count(*) from synced where id = 2"),
			"remote_apply: visible on the standby that acknowledged, at once")
		f.Query(t, ns, replicas[1], pw, "select pg_wal_replay_resume()")
		waitSynced(t, f, ns, replicas[1], pw, 2)
	})
}

func waitSynced(t *testing.T, f *framework.Framework, ns, pod, pw string, n int) {
	t.Helper()
	f.WaitQuery(t, ns, pod, pw, "select count(*) from synced", fmt.Sprint(n), time.Minute)
}
