package postgres

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SafetyStatus is the part of a probe that the operator's safety checks
// read: whether a standby still hears from its upstream (an operator that
// cannot reach the primary is not proof that the primary is dead), and
// what proves that a standby can never stream again (its WAL is gone, or
// its history left the primary's). Status embeds it.
type SafetyStatus struct {
	// ReceiverTimeline is pg_stat_wal_receiver.received_tli: the timeline
	// the WAL receiver streams, or last asked the upstream for while it
	// waits (0 without a WAL receiver).
	ReceiverTimeline uint32
	// ReceiverHeard is true when the WAL receiver has had a message from
	// its upstream, ReceiverMessageAge ago: measured by the standby's own
	// clock (now() - last_msg_receipt_time), as two timestamps of one
	// server know no skew between its clock and the operator's.
	ReceiverHeard      bool
	ReceiverMessageAge time.Duration
	// ReceiverLatestEndLSN is the last WAL position the upstream reported.
	ReceiverLatestEndLSN LSN

	// Checkpoint and MinRecovery are (timeline, LSN) pairs from pg_control:
	// the data directory holds WAL, or data pages, from that position on
	// that timeline. Each pair is exact, unlike Status.Timeline's fallback.
	Checkpoint  TimelinePoint
	MinRecovery TimelinePoint

	// On a primary only:

	// History lists the timelines before the current one and where each
	// ended (the timeline history file); HistoryKnown is false when the
	// file could not be read, so History says nothing.
	History      []TimelinePoint
	HistoryKnown bool
	// OldestWAL is the start of the oldest WAL segment left in pg_wal
	// (0 when unknown): a standby that needs WAL before it cannot get it
	// from this server.
	OldestWAL LSN
	// SlotWALStatus maps each physical replication slot to its wal_status
	// ("reserved", "extended", "unreserved", "lost").
	SlotWALStatus map[string]string
}

// TimelinePoint is a WAL position on a timeline. In History, LSN is where
// the timeline ended and its child began.
type TimelinePoint struct {
	Timeline uint32
	LSN      LSN
}

// OffHistory reports whether WAL at p cannot be part of this primary's
// history: p's timeline is neither the primary's nor one of its ancestors,
// or it is an ancestor that ended before p. A standby holding such WAL has
// diverged: it can never stream from this primary again without a rewind
// or a fresh copy. ok is false when the primary's history is unknown (or
// p is empty), and then nothing is proven.
func (s Status) OffHistory(p TimelinePoint) (off, ok bool) {
	if !s.HistoryKnown || p.Timeline == 0 || s.InRecovery {
		return false, false
	}
	if p.Timeline == s.Timeline {
		return false, true
	}
	for _, h := range s.History {
		if h.Timeline == p.Timeline {
			return p.LSN > h.LSN, true
		}
	}
	return true, true
}

// parseHistory reads a timeline history file: one line per ancestor,
// "parentTLI<TAB>switchpoint<TAB>reason", and comment lines.
func parseHistory(text string) ([]TimelinePoint, error) {
	var out []TimelinePoint
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			return nil, fmt.Errorf("timeline history: bad line %q", line)
		}
		tli, err := strconv.ParseUint(fields[0], 10, 32)
		if err != nil {
			return nil, fmt.Errorf("timeline history: bad timeline in %q", line)
		}
		end, err := ParseLSN(fields[1])
		if err != nil {
			return nil, fmt.Errorf("timeline history: %w", err)
		}
		out = append(out, TimelinePoint{Timeline: uint32(tli), LSN: end})
	}
	return out, nil
}

// segmentStart is the LSN where the WAL segment named by the last 16 hex
// digits of a WAL file name begins ("00000000" log id, then the segment
// within that log id), for a server's wal_segment_size.
func segmentStart(logSeg string, segSize uint64) (LSN, error) {
	if len(logSeg) != 16 || segSize == 0 {
		return 0, fmt.Errorf("bad WAL segment %q (segment size %d)", logSeg, segSize)
	}
	log, err1 := strconv.ParseUint(logSeg[:8], 16, 32)
	seg, err2 := strconv.ParseUint(logSeg[8:], 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad WAL segment %q", logSeg)
	}
	return LSN(log<<32 + seg*segSize), nil
}

// parseSlotStatus turns "name=wal_status" entries into a map.
func parseSlotStatus(entries []string) map[string]string {
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		name, status, _ := strings.Cut(e, "=")
		out[name] = status
	}
	return out
}
