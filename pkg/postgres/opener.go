package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"

	"github.com/lib/pq"
)

// Every connection of a client is opened through one sql.DB whose
// connector reads the endpoint from the call's context. Why not one sql.DB
// per connection, the usual way: each sql.DB runs a goroutine of its own
// for as long as it is open, and a kept connection per member made that a
// thousand idle goroutines and their stacks, about 10 MiB, at a thousand
// clusters. The shared sql.DB keeps no idle connection and sets no limit,
// so it never hands one endpoint's connection to another: a connection
// lives exactly as long as the *sql.Conn it was opened for (pool.go keeps
// those).

// openRequest is what the connector needs for the one connection it opens.
type openRequest struct {
	dsn  string
	sock *socketDialer
}

type openRequestKey struct{}

// endpointConnector opens the connection the context's openRequest names.
type endpointConnector struct{}

var errNoOpenRequest = errors.New("postgres: a connection was opened without an endpoint")

func (endpointConnector) Connect(ctx context.Context) (driver.Conn, error) {
	req, ok := ctx.Value(openRequestKey{}).(*openRequest)
	if !ok {
		return nil, errNoOpenRequest
	}
	connector, err := pq.NewConnector(req.dsn)
	if err != nil {
		return nil, err
	}
	connector.Dialer(req.sock)
	return connector.Connect(ctx)
}

func (endpointConnector) Driver() driver.Driver { return &pq.Driver{} }

// newOpener returns the sql.DB a client opens its connections through.
func newOpener() *sql.DB {
	db := sql.OpenDB(endpointConnector{})
	db.SetMaxIdleConns(0) // a released connection is closed, never reused by sql.DB
	return db
}
