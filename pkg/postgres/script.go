package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/lib/pq"
)

// RunScript runs a user's SQL script in the database, in one transaction:
// it commits whole or not at all. Statements that cannot run inside a
// transaction block (CREATE DATABASE, VACUUM) fail it. The script may take
// up to the Checkpoint timeout (a minute by default), as loading data can.
//
// Its commit waits for synchronous replicas as any user's would: what the
// operator then records as done must survive a failover.
func (c *client) RunScript(ctx context.Context, ep Endpoint, database, script string) error {
	if err := validateRoleName(database); err != nil {
		return invalidArgument("run script", ep, err)
	}
	ep.Database = database
	budget := max(c.timeouts.Checkpoint, c.timeouts.Statement)
	return c.withOwnConn(ctx, ep, "run script", budget, func(ctx context.Context, conn *sql.Conn) error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		// Without arguments lib/pq sends the simple query protocol, which
		// takes many statements in one string.
		if _, err := tx.ExecContext(ctx, script); err != nil {
			_ = tx.Rollback()
			return atLine(script, err)
		}
		return tx.Commit()
	})
}

// atLine adds the line of the script where the server found the error.
func atLine(script string, err error) error {
	pqErr := pq.As(err)
	if pqErr == nil || pqErr.Position == "" {
		return err
	}
	pos, convErr := strconv.Atoi(pqErr.Position) // 1-based, in characters
	if convErr != nil || pos < 1 {
		return err
	}
	runes := []rune(script)
	pos = min(pos, len(runes))
	line := strings.Count(string(runes[:pos-1]), "\n") + 1
	return fmt.Errorf("line %d: %w", line, err)
}
