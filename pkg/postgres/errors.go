package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// ErrUnreachable matches (with errors.Is) every error that means the server
// could not be talked to: connection refused, reset or timed out, no answer
// before the deadline, or a server that is shutting down or starting up.
// Anything else that fails is the server answering with an SQL error.
var ErrUnreachable = errors.New("postgres: server unreachable")

// IsUnreachable reports whether err means the server could not be talked to,
// as opposed to the server answering with an error. Failover treats the two
// very differently: an unreachable primary may be dead, one that answers is
// not.
func IsUnreachable(err error) bool { return errors.Is(err, ErrUnreachable) }

// Error is what every Client method returns on failure. It never contains
// the password: only the operation, the address and lib/pq's error, which
// does not echo connection parameters.
type Error struct {
	Op          string // the Client method, e.g. "probe"
	Addr        string // host:port
	Unreachable bool
	Err         error
}

func (e *Error) Error() string {
	return "postgres " + e.Op + " " + e.Addr + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrUnreachable) true for unreachable errors.
func (e *Error) Is(target error) bool { return target == ErrUnreachable && e.Unreachable }

// SQLState returns the SQLSTATE code of the server error inside err, or "".
func SQLState(err error) string {
	if pqErr := pq.As(err); pqErr != nil {
		return string(pqErr.Code)
	}
	return ""
}

// invalidArgument wraps an error found in the arguments, before connecting.
func invalidArgument(op string, ep Endpoint, err error) error {
	return &Error{Op: op, Addr: ep.Address(), Err: err}
}

// newError wraps err from operation op. callCtx is the call's context: if it
// ended, that is the real cause (lib/pq then reports a cancelled statement
// or a closed socket), so it is put first in the chain.
func newError(op string, ep Endpoint, callCtx context.Context, err error) error {
	if ctxErr := callCtx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		err = fmt.Errorf("%w: %w", ctxErr, err)
	}
	return &Error{Op: op, Addr: ep.Address(), Unreachable: unreachable(err), Err: err}
}

// unreachable classifies an error from lib/pq or database/sql.
func unreachable(err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		// Our caller gave up; that says nothing about the server.
		return false
	case errors.Is(err, context.DeadlineExceeded):
		// The server did not answer in time: hung, partitioned or overloaded.
		return true
	}
	if pqErr := pq.As(err); pqErr != nil {
		switch code := string(pqErr.Code); {
		case strings.HasPrefix(code, "08"): // connection_exception class
			return true
		case code == "57P01", code == "57P02", code == "57P03":
			// admin_shutdown, crash_shutdown, cannot_connect_now (starting
			// up or shutting down): the server cannot serve us right now.
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || // refused, reset, timeouts, DNS (syscall.Errno is one too)
		errors.Is(err, net.ErrClosed) || // our deadline closed the socket
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn)
}

// IsStarting reports whether err says the server is on its way up rather
// than hung or gone: nothing listens yet on its port (the container's
// script has not started the postmaster), or the postmaster answers that
// it cannot take connections while it starts or recovers. A server that
// is shutting down, or that does not answer at all, is not starting.
func IsStarting(err error) bool {
	if pqErr := pq.As(err); pqErr != nil {
		return string(pqErr.Code) == "57P03" && !strings.Contains(pqErr.Message, "shutting down")
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}
