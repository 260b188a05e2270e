//go:build e2e

package framework

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"time"

	"github.com/lib/pq"
)

// Every read and write on a chaos client's socket is bounded: a server that
// died without closing its sockets (a killed container whose network is
// gone) would otherwise hold a client for as long as TCP does. Writers wait
// longer than probes, since a sync commit may wait for a standby.
const (
	writeIOTimeout = 5 * time.Second
	probeIOTimeout = 2 * time.Second
)

// openDB opens a one-connection pool to host:5432 as the superuser.
//
// Why deadlines on the socket rather than a context: lib/pq answers a
// cancelled context with a cancel request, and PostgreSQL answers a cancel
// that arrives while a COMMIT waits for its synchronous standby by
// committing locally and reporting success with a warning. A client that
// used contexts would therefore be told "committed" for transactions no
// standby has, and the sync-mode check would blame the operator. A socket
// deadline only closes our side: the outcome stays unknown and the id is
// not counted as acknowledged.
//
// statement_timeout is safe for the same reason: PostgreSQL disarms it
// before the commit (and its wait for a standby) starts.
func openDB(host, password string, io time.Duration, onNotice func(*pq.Error)) (*sql.DB, error) {
	dsn := fmt.Sprintf("host=%s port=5432 user=postgres dbname=postgres sslmode=require connect_timeout=2 "+
		"statement_timeout=3000 application_name=chaos-e2e password='%s'", host, password)
	connector, err := pq.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	connector.Dialer(deadlineDialer{io: io})
	var c = sql.OpenDB(pq.ConnectorWithNoticeHandler(connector, onNotice))
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	return c, nil
}

// deadlineDialer dials connections whose every read and write must
// finish within io.
type deadlineDialer struct {
	d  net.Dialer
	io time.Duration
}

func (d deadlineDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialTimeout(network, address, 2*time.Second)
}

func (d deadlineDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d deadlineDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := d.d.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return deadlineConn{Conn: c, io: d.io}, nil
}

type deadlineConn struct {
	net.Conn
	io time.Duration
}

func (c deadlineConn) Read(b []byte) (int, error) {
	_ = c.SetReadDeadline(time.Now().Add(c.io))
	return c.Conn.Read(b)
}

func (c deadlineConn) Write(b []byte) (int, error) {
	_ = c.SetWriteDeadline(time.Now().Add(c.io))
	return c.Conn.Write(b)
}

// queryRows runs one read-only query on a fresh connection (never a pooled
// one: a backend orphaned by a killed postmaster must not answer for a
// server that is gone) and returns its rows as text.
func queryRows(host, password, query string, args ...any) ([][]string, error) {
	db, err := openDB(host, password, probeIOTimeout, nil)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.Query(query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			row[i] = v.String
		}
		out = append(out, row)
	}
	return out, rows.Err()
}
