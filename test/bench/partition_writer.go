package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The partition scenario needs a client on the cut-off side: on the old
// primary's node, where its PostgreSQL keeps running while nothing else can
// reach it. The bench runs itself there, in the node's network namespace
// (ip netns exec), as a writer that prints one line per acknowledged
// insert; the password travels in the environment, never on the command
// line. Both sides read the same clock: the nodes are namespaces of this
// machine.

const (
	nodeWriterEnv     = "BENCH_NODE_WRITER" // its value: the server's address
	nodeWriterFirstID = "BENCH_NODE_WRITER_FIRST_ID"
)

// runNodeWriter is the writer's side: insert every 20 ms on one
// connection, reopened after an error, and print "ack <id> <unix nanos>"
// for each acknowledgement, until stdin closes.
func runNodeWriter(host string) {
	id, _ := strconv.ParseInt(os.Getenv(nodeWriterFirstID), 10, 64)
	target := pgTarget{host: host, password: os.Getenv("PGPASSWORD")}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	out := bufio.NewWriter(os.Stdout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for ctx.Err() == nil {
		db, conn, err := target.open(ctx, time.Second)
		for err == nil && ctx.Err() == nil {
			id++
			if _, err = conn.ExecContext(ctx, "insert into bench_writes(id) values ($1)", id); err == nil {
				fmt.Fprintf(out, "ack %d %d\n", id, time.Now().UnixNano())
				_ = out.Flush()
			}
			<-tick.C
		}
		if db != nil {
			conn.Close()
			db.Close()
		}
		<-tick.C
	}
}

// nodeWriter is the bench's handle on a writer in a node's namespace.
type nodeWriter struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	done chan struct{}

	mu   sync.Mutex
	acks map[int64]time.Time
	last time.Time
}

// startNodeWriter starts the writer in network namespace netns, writing
// ids from firstID on to host.
func startNodeWriter(netns, host, password string, firstID int64) (*nodeWriter, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("ip", "netns", "exec", netns, self)
	cmd.Env = append(os.Environ(), nodeWriterEnv+"="+host, nodeWriterFirstID+"="+strconv.FormatInt(firstID, 10), "PGPASSWORD="+password)
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	w := &nodeWriter{cmd: cmd, in: in, done: make(chan struct{}), acks: map[int64]time.Time{}}
	go w.read(stdout)
	return w, nil
}

func (w *nodeWriter) read(r io.Reader) {
	defer close(w.done)
	s := bufio.NewScanner(r)
	for s.Scan() {
		f := strings.Fields(s.Text())
		if len(f) != 3 || f[0] != "ack" {
			continue
		}
		id, err1 := strconv.ParseInt(f[1], 10, 64)
		ns, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		at := time.Unix(0, ns)
		w.mu.Lock()
		w.acks[id] = at
		if at.After(w.last) {
			w.last = at
		}
		w.mu.Unlock()
	}
}

// lastAck is the writer's latest acknowledgement (zero: none).
func (w *nodeWriter) lastAck() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// halt ends the writer (closing its stdin; killing it if it does not
// go, as after its node was stopped) and returns its acknowledgements.
func (w *nodeWriter) halt() map[int64]time.Time {
	_ = w.in.Close()
	select {
	case <-w.done:
	case <-time.After(5 * time.Second):
		_ = w.cmd.Process.Kill()
		<-w.done
	}
	_ = w.cmd.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.acks
}
