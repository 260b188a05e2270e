package postgres

import (
	"context"
	"database/sql"
)

// OpenerStats is the client's shared sql.DB's view of its connections.
func OpenerStats(c Client) sql.DBStats { return c.(*client).opener.Stats() }

// KeptConnections is how many connections the client's pool keeps.
func KeptConnections(c Client) int { return c.(*client).pool.size() }

// DropKept closes the connection kept for ep's probes.
func DropKept(c Client, ep Endpoint) {
	cl := c.(*client)
	key, _ := connString(ep, cl.timeouts.Connect, cl.timeouts.Statement)
	closeAll([]*pooledConn{cl.pool.take(key)})
}

// OpenWithoutEndpoint opens a connection with no endpoint in its context.
func OpenWithoutEndpoint() error {
	_, err := newOpener().Conn(context.Background())
	return err
}

var ErrNoOpenRequest = errNoOpenRequest
