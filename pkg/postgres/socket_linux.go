package postgres

import (
	"errors"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// userTimeoutControl sets TCP_USER_TIMEOUT: how long sent data may stay
// unacknowledged before the kernel gives up on the connection. A member
// whose address vanished (pod deleted, node cut off) then fails a query on
// an established connection within that time, as a new connection fails
// its connect_timeout; a live server acknowledges at once, however long its
// statement runs.
func userTimeoutControl(d time.Duration) func(network, address string, c syscall.RawConn) error {
	if d <= 0 {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var sockErr error
		err := c.Control(func(fd uintptr) {
			sockErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
		})
		return errors.Join(err, sockErr)
	}
}

// peekIdle: the socket is open and has nothing to read (recv with
// MSG_PEEK|MSG_DONTWAIT would block).
func peekIdle(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	idle := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, rerr := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		idle = n < 0 && errors.Is(rerr, syscall.EAGAIN)
		return true // never wait for data
	})
	return err == nil && idle
}
