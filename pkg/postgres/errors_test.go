package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
)

func TestUnreachableClassification(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &syscallErr{syscall.ECONNREFUSED}}
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"connection refused":       {refused, true},
		"bare errno":               {syscall.ECONNRESET, true},
		"closed by our deadline":   {fmt.Errorf("read: %w", net.ErrClosed), true},
		"EOF mid-message":          {io.ErrUnexpectedEOF, true},
		"EOF":                      {io.EOF, true},
		"bad conn":                 {driver.ErrBadConn, true},
		"deadline":                 {context.DeadlineExceeded, true},
		"deadline joined with sql": {errors.Join(context.DeadlineExceeded, &pq.Error{Code: "57014"}), true},
		"caller cancelled":         {errors.Join(context.Canceled, refused), false},
		"starting up":              {&pq.Error{Code: "57P03"}, true},
		"admin shutdown":           {&pq.Error{Code: "57P01"}, true},
		"crash shutdown":           {&pq.Error{Code: "57P02"}, true},
		"connection failure":       {&pq.Error{Code: "08006"}, true},
		"auth failed":              {&pq.Error{Code: "28P01"}, false},
		"statement timeout":        {&pq.Error{Code: "57014"}, false},
		"read-only":                {&pq.Error{Code: "25006"}, false},
		"too many connections":     {&pq.Error{Code: "53300"}, false},
		"plain error":              {errors.New("boom"), false},
	} {
		assert.Equal(t, tc.want, unreachable(tc.err), name)
	}
}

type syscallErr struct{ errno syscall.Errno }

func (e *syscallErr) Error() string { return e.errno.Error() }
func (e *syscallErr) Unwrap() error { return e.errno }

func TestErrorWrapping(t *testing.T) {
	ep := Endpoint{Host: "10.0.0.1", Password: "topsecret"}
	pqErr := &pq.Error{Code: "25006", Message: "cannot execute CREATE ROLE in a read-only transaction"}
	err := newError("ensure role", ep, context.Background(), pqErr)
	assert.EqualError(t, err, "postgres ensure role 10.0.0.1:5432: pq: cannot execute CREATE ROLE in a read-only transaction (25006)")
	assert.False(t, IsUnreachable(err))
	assert.Equal(t, "25006", SQLState(err))
	var e *Error
	assert.True(t, errors.As(err, &e))
	assert.Equal(t, "ensure role", e.Op)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = newError("probe", ep, ctx, &pq.Error{Code: "57014"})
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, IsUnreachable(err))

	err = newError("probe", ep, context.Background(), io.EOF)
	assert.True(t, IsUnreachable(err))
	assert.ErrorIs(t, err, ErrUnreachable)
	assert.ErrorIs(t, err, io.EOF)
	assert.NotContains(t, err.Error(), "topsecret")
	assert.Equal(t, "", SQLState(err))
}

func TestStartingClassification(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: &syscallErr{syscall.ECONNREFUSED}}
	ep := Endpoint{Host: "10.0.0.1"}
	wrap := func(err error) error { return newError("probe", ep, context.Background(), err) }
	for name, tc := range map[string]struct {
		err  error
		want bool
	}{
		"nothing listens yet":   {wrap(refused), true},
		"starting up":           {wrap(&pq.Error{Code: "57P03", Message: "the database system is starting up"}), true},
		"not yet consistent":    {wrap(&pq.Error{Code: "57P03", Message: "the database system is not yet accepting connections"}), true},
		"shutting down":         {wrap(&pq.Error{Code: "57P03", Message: "the database system is shutting down"}), false},
		"no answer in time":     {wrap(context.DeadlineExceeded), false},
		"reset":                 {wrap(syscall.ECONNRESET), false},
		"admin shutdown":        {wrap(&pq.Error{Code: "57P01"}), false},
		"no error":              {nil, false},
		"no route (a cut node)": {wrap(&net.OpError{Op: "dial", Net: "tcp", Err: &syscallErr{syscall.EHOSTUNREACH}}), false},
	} {
		assert.Equal(t, tc.want, IsStarting(tc.err), name)
	}
}
