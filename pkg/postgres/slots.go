package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLSTATEs the slot functions raise.
const (
	duplicateObject = "42710" // slot already exists
	objectInUse     = "55006" // slot is still active
)

func (c *client) EnsureSlot(ctx context.Context, ep Endpoint, name string) error {
	if err := validateSlotName(name); err != nil {
		return invalidArgument("ensure slot", ep, err)
	}
	return c.withConn(ctx, ep, "ensure slot", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		var typ string
		err := conn.QueryRowContext(ctx, `SELECT slot_type FROM pg_replication_slots WHERE slot_name = $1`, name).Scan(&typ)
		switch {
		case err == nil && typ == "physical":
			return nil
		case err == nil:
			return fmt.Errorf("replication slot %q exists but is %s, not physical", name, typ)
		case err != sql.ErrNoRows:
			return err
		}
		// immediately_reserve: hold WAL from now on, so a standby that
		// connects later still finds everything it needs.
		_, err = conn.ExecContext(ctx, `SELECT pg_create_physical_replication_slot($1, true)`, name)
		if SQLState(err) == duplicateObject {
			return nil // created concurrently since we looked
		}
		return err
	})
}

// DropSlot terminates the walsender using the slot (waiting up to a second
// for it to exit) and drops the slot. The slot may stay marked active for a
// moment after its walsender died, so an "in use" error is retried until the
// call's deadline. The standby reconnects only after
// wal_retrieve_retry_interval (5s by default), which leaves ample time.
func (c *client) DropSlot(ctx context.Context, ep Endpoint, name string) error {
	if err := validateSlotName(name); err != nil {
		return invalidArgument("drop slot", ep, err)
	}
	return c.withConn(ctx, ep, "drop slot", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		for {
			err := dropSlotOnce(ctx, conn, name)
			if SQLState(err) != objectInUse {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

func dropSlotOnce(ctx context.Context, conn *sql.Conn, name string) error {
	_, err := conn.ExecContext(ctx, `
		SELECT pg_terminate_backend(active_pid, 1000)
		FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL`, name)
	if err != nil {
		return err
	}
	// Selecting from the view makes a missing slot a no-op.
	_, err = conn.ExecContext(ctx, `
		SELECT pg_drop_replication_slot(slot_name)
		FROM pg_replication_slots WHERE slot_name = $1`, name)
	return err
}

// slotsQuery joins each active slot to its walsender, whose
// application_name says who streams from it (a member names itself).
const slotsQuery = `
SELECT s.slot_name, s.slot_type, s.active, coalesce(s.active_pid, 0),
       s.restart_lsn::text, coalesce(s.wal_status, ''), coalesce(r.application_name, '')
FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
ORDER BY s.slot_name`

func (c *client) Slots(ctx context.Context, ep Endpoint) ([]Slot, error) {
	var out []Slot
	err := c.withConn(ctx, ep, "slots", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		rows, err := conn.QueryContext(ctx, slotsQuery)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s Slot
			var restart sql.NullString
			if err := rows.Scan(&s.Name, &s.Type, &s.Active, &s.ActivePID, &restart, &s.WALStatus, &s.ActiveApplication); err != nil {
				return err
			}
			if err := parseLSNs(map[*LSN]sql.NullString{&s.RestartLSN: restart}); err != nil {
				return err
			}
			out = append(out, s)
		}
		return rows.Err()
	})
	return out, err
}
