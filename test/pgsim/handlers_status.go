package pgsim

import (
	"encoding/json"
	"fmt"
	"time"
)

var probeColumns = []column{
	col("standby", oidBool), col("current_lsn", oidText), col("receive_lsn", oidText), col("replay_lsn", oidText),
	col("timeline", oidInt4), col("system_identifier", oidInt8), col("server_version_num", oidInt4),
	col("pending_restart", oidTextArray), col("pending_decrease", oidTextArray), col("receiver_status", oidText), col("sender_host", oidText),
	col("sender_port", oidInt4), col("slot_name", oidText), col("received_tli", oidInt4),
	col("message_age", oidFloat8), col("latest_end_lsn", oidText), col("checkpoint_tli", oidInt4),
	col("checkpoint_lsn", oidText), col("min_recovery_end_timeline", oidInt4), col("min_recovery_end_lsn", oidText),
	col("history", oidText), col("oldest_segment", oidText), col("wal_segment_size", oidInt8),
	col("slots", oidTextArray), col("primary_conninfo", oidText),
}

// probe: a primary on timeline 1 (no history file), its WAL moving, no
// WAL receiver, no pending restart.
func probe(x *call) (result, error) {
	m := x.m
	var slots []string
	for _, name := range sortedKeys(m.slots) {
		slots = append(slots, name+"=reserved")
	}
	oldest := uint64(m.oldestSegment()) / walSegmentSize
	return one(false, m.currentWAL().String(), nil, nil,
		1, int64(m.sysid), x.s.srv.versionNum,
		[]string{}, []string{}, "", "",
		0, "", 0,
		-1.0, nil, 1,
		m.checkpoint.String(), 0, "0/0",
		nil, fmt.Sprintf("%08X%08X", oldest>>32, oldest&0xFFFFFFFF), int64(walSegmentSize),
		slots, ""), nil
}

var replicationColumns = []column{
	col("pid", oidInt4), col("application_name", oidText), col("client_addr", oidText), col("state", oidText),
	col("sync_state", oidText), col("sent_lsn", oidText), col("write_lsn", oidText), col("flush_lsn", oidText),
	col("replay_lsn", oidText), col("write_lag", oidFloat8), col("flush_lag", oidFloat8), col("replay_lag", oidFloat8),
}

func serverVersion(x *call) (result, error) { return one(x.s.srv.versionNum), nil }

var statsColumns = []column{
	col("standby", oidBool), col("server_version_num", oidInt4), col("max_connections", oidInt8),
	col("connections", oidText), col("xact_commit", oidInt8), col("xact_rollback", oidInt8),
	col("deadlocks", oidInt8), col("database_size", oidInt8), col("wal_bytes", oidInt8),
	col("checkpoints_timed", oidInt8), col("checkpoints_req", oidInt8), col("longest_transaction", oidFloat8),
	col("oldest_xmin_age", oidInt8), col("replay_lag", oidFloat8), col("slots", oidText),
}

// Sizes of the simulated databases: what an empty one takes on disk.
const databaseSize = 7_553_583

// stats: plausible figures of an idle primary. The other client backends
// (the operator's concurrent calls) count as active; commits are the
// statements that would have written.
func stats(x *call) (result, error) {
	m := x.m
	conns := map[string]int{}
	if others := m.sessions - 1; others > 0 {
		conns["active"] = others
	}
	connsJSON, _ := json.Marshal(conns)
	sized := 0
	for _, d := range x.cat.databases {
		if d.allowConn {
			sized++
		}
	}
	retained := map[string]int64{}
	wal := m.currentWAL()
	for name, s := range m.slots {
		retained[name] = int64(wal - s.restart)
	}
	slotsJSON, _ := json.Marshal(retained)
	uptime := x.s.srv.cfg.Now().Sub(m.started)
	return one(false, x.s.srv.versionNum, int64(100), string(connsJSON),
		m.commits+int64(uptime/time.Second), int64(0), int64(0),
		int64(sized*databaseSize), int64(wal-walStart),
		int64(uptime/(5*time.Minute)), m.checkpointsReq, 0.0,
		int64(0), nil, string(slotsJSON)), nil
}

var archiverColumns = []column{
	col("archived_count", oidInt8), col("last_archived_wal", oidText), col("last_archived_time", oidTimestamptz),
	col("failed_count", oidInt8), col("last_failed_wal", oidText), col("last_failed_time", oidTimestamptz),
	col("ready", oidInt8), col("last_error", oidText), col("dropped", oidText), col("dropped_time", oidTimestamptz),
}

// archiver: nothing archived, nothing failed, nothing waiting, no hook
// files: a primary that has not filled a WAL segment yet.
func archiver(x *call) (result, error) {
	return one(int64(0), "", nil, int64(0), "", nil, int64(0), nil, nil, nil), nil
}

// promote: PostgreSQL refuses to promote a primary (the client never
// asks, having read pg_is_in_recovery() first).
func promote(x *call) (result, error) {
	return result{}, sqlError(codeNotInPrereqState, "recovery is not in progress")
}

func checkpoint(x *call) (result, error) {
	x.m.checkpoint = x.m.currentWAL()
	x.m.checkpointsReq++
	return command("CHECKPOINT"), nil
}

// noUserTables: the simulated databases hold no tables.
func noUserTables(x *call) (result, error) { return one(int64(0), ""), nil }
