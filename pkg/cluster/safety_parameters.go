package cluster

import (
	"fmt"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// slotWALShare is the part of a member's volume that replication slots may
// keep WAL in. A slot of a replica that is down holds WAL on the primary
// until it returns; without a cap the primary's volume fills and the whole
// cluster stops. Past the cap PostgreSQL invalidates the slot (wal_status
// lost), which is the proof that re-cloning that replica is needed
// (safety_stuck_replicas.go).
const slotWALShare = 0.3

// minSlotWALMB keeps the cap at one WAL segment or more on tiny volumes.
const minSlotWALMB = 16

// safetyParameters are defaults the safety rules rely on; desiredParameters
// lays spec.parameters over them, so the user's value wins.
//
// wal_receiver_timeout: a receiver that hears nothing for half of it pings
// the primary, so an idle primary's replicas hear from it every 5 s instead
// of every 30 s; that is what lets a replica vouch for a primary the
// operator cannot reach (safety_vouch.go). A dead primary is also noticed
// by its replicas within 10 s instead of a minute.
//
// wal_receiver_status_interval (owned: spec.parameters may not set it): a
// standby replies to its primary this often even when no WAL flows, and
// those replies (pg_stat_replication.reply_time) are what keep a primary
// the operator cannot reach from fencing itself (fence_probe.go). At 1 s a
// reply lands several times within the shortest lease (5 s), and costs a
// few bytes a second per standby.
func safetyParameters(pgc *v1alpha1.PostgresCluster) map[string]string {
	return map[string]string{
		"max_slot_wal_keep_size":       slotWALCap(pgc),
		"wal_receiver_timeout":         defaultWalReceiverTimeout,
		"wal_receiver_status_interval": walReceiverStatusInterval,
	}
}

// defaultWalReceiverTimeout is wal_receiver_timeout unless the spec sets it.
const defaultWalReceiverTimeout = "10s"

// walReceiverStatusInterval is how often standbys reply to the primary.
const walReceiverStatusInterval = "1s"

// slotWALCap is slotWALShare of spec.storage.size, in MB.
func slotWALCap(pgc *v1alpha1.PostgresCluster) string {
	mb := int64(float64(pgc.Spec.Storage.Size.Value())*slotWALShare) >> 20
	return fmt.Sprintf("%dMB", max(mb, minSlotWALMB))
}
