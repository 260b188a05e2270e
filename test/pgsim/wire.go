package pgsim

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxMessage bounds what one frontend message may claim to be, so a
// garbled length cannot make the simulator allocate gigabytes. The
// operator's largest messages are init scripts.
const maxMessage = 64 << 20

// readMessage reads one typed frontend message (after startup): its type
// byte and body.
func readMessage(r *bufio.Reader) (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return 0, nil, err
	}
	n := int(binary.BigEndian.Uint32(head[1:])) - 4
	if n < 0 || n > maxMessage {
		return 0, nil, fmt.Errorf("message %q of bad length %d", head[0], n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(r, body)
	return head[0], body, err
}

// reader consumes the fields of a message body.
type reader struct {
	b   []byte
	err error
}

var errShort = errors.New("message too short")

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) int16() int {
	b := r.take(2)
	if b == nil {
		return 0
	}
	return int(int16(binary.BigEndian.Uint16(b)))
}

func (r *reader) int32() int {
	b := r.take(4)
	if b == nil {
		return 0
	}
	return int(int32(binary.BigEndian.Uint32(b)))
}

func (r *reader) byte1() byte {
	b := r.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

// cstring reads a NUL-terminated string.
func (r *reader) cstring() string {
	if r.err != nil {
		return ""
	}
	for i, c := range r.b {
		if c == 0 {
			s := string(r.b[:i])
			r.b = r.b[i+1:]
			return s
		}
	}
	r.err = errShort
	return ""
}

// writer builds backend messages into one buffer, flushed at the points
// the protocol waits for the client (ReadyForQuery, Flush), so a query
// costs one write.
type writer struct {
	buf   []byte
	start int // where the current message's length goes
}

func (w *writer) begin(typ byte) {
	w.buf = append(w.buf, typ, 0, 0, 0, 0)
	w.start = len(w.buf) - 4
}

func (w *writer) end() {
	binary.BigEndian.PutUint32(w.buf[w.start:], uint32(len(w.buf)-w.start))
}

func (w *writer) int16(v int) { w.buf = binary.BigEndian.AppendUint16(w.buf, uint16(v)) }
func (w *writer) int32(v int) { w.buf = binary.BigEndian.AppendUint32(w.buf, uint32(v)) }
func (w *writer) bytes(b []byte) {
	w.buf = append(w.buf, b...)
}
func (w *writer) cstring(s string) {
	w.buf = append(w.buf, s...)
	w.buf = append(w.buf, 0)
}

// empty writes a message without a body (ParseComplete and the like).
func (w *writer) empty(typ byte) {
	w.begin(typ)
	w.end()
}

func (w *writer) flushTo(out io.Writer) error {
	if len(w.buf) == 0 {
		return nil
	}
	_, err := out.Write(w.buf)
	w.buf = w.buf[:0]
	return err
}
