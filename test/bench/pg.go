package main

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"time"

	"github.com/lib/pq"
)

// deadlineDialer gives every read and write on a PostgreSQL connection its
// own deadline. A client of a dead pod's IP (its network namespace gone)
// would otherwise wait for TCP to give up, minutes, and the benchmark
// would measure TCP instead of the operator. Contexts are not used for
// this: lib/pq answers a cancelled context by opening yet another
// connection to send a cancel request.
type deadlineDialer struct{ io time.Duration }

func (d deadlineDialer) Dial(network, addr string) (net.Conn, error) {
	return d.DialTimeout(network, addr, time.Second)
}

func (d deadlineDialer) DialTimeout(network, addr string, timeout time.Duration) (net.Conn, error) {
	c, err := net.DialTimeout(network, addr, timeout)
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c, io: d.io}, nil
}

type deadlineConn struct {
	net.Conn
	io time.Duration
}

func (c *deadlineConn) Read(b []byte) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(c.io))
	return c.Conn.Read(b)
}

func (c *deadlineConn) Write(b []byte) (int, error) {
	_ = c.SetWriteDeadline(time.Now().Add(c.io))
	return c.Conn.Write(b)
}

// pgTarget is one PostgreSQL server as superuser.
type pgTarget struct {
	host, password string
	port           int // 5432 when zero
}

// open returns a single dedicated connection: a 1 s connect timeout and the
// given per-read deadline. The caller closes it. sslmode=prefer: the
// members accept TLS only; the host floors run without it.
func (t pgTarget) open(ctx context.Context, io time.Duration) (*sql.DB, *sql.Conn, error) {
	port := t.port
	if port == 0 {
		port = 5432
	}
	dsn := fmt.Sprintf("host=%s port=%d user=postgres dbname=postgres sslmode=prefer connect_timeout=1 password='%s'", t.host, port, t.password)
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, nil, err
	}
	connector.Dialer(deadlineDialer{io: io})
	db := sql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, conn, nil
}

// query runs one statement on a fresh connection and scans one row.
func (t pgTarget) query(ctx context.Context, q string, dest ...any) error {
	db, conn, err := t.open(ctx, 3*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	return conn.QueryRowContext(ctx, q).Scan(dest...)
}

// exec runs statements on a fresh connection.
func (t pgTarget) exec(ctx context.Context, q string, args ...any) error {
	db, conn, err := t.open(ctx, 10*time.Second)
	if err != nil {
		return err
	}
	defer db.Close()
	defer conn.Close()
	_, err = conn.ExecContext(ctx, q, args...)
	return err
}

// streamingStandbys counts the standbys the server sees streaming, by name.
func (t pgTarget) streamingStandbys(ctx context.Context) (map[string]bool, error) {
	db, conn, err := t.open(ctx, 3*time.Second)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	defer conn.Close()
	rows, err := conn.QueryContext(ctx, "select application_name from pg_stat_replication where state = 'streaming'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[name] = true
	}
	return out, rows.Err()
}
