//go:build e2e

package framework

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"time"
)

// Pgbench keeps the host's pgbench running against one address: background
// write load during faults. pgbench gives up on a client whose connection
// breaks, so each run that ends is followed by another until Stop. Runs
// last a minute at most, so that most of them end on their own and print
// their totals.
type Pgbench struct {
	host, password string
	args           []string
	cancel         context.CancelFunc
	done           chan struct{}

	mu           sync.Mutex
	runs         int
	transactions int
}

// InitPgbench creates pgbench's tables (scale 1) through host.
func InitPgbench(host, password string) error {
	cmd := exec.Command("pgbench", "-i", "-s", "1", "-q", "-h", host, "-p", "5432", "-U", "postgres", "postgres")
	cmd.Env = pgEnv(password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("pgbench -i: %w: %s", err, out)
	}
	return nil
}

// StartPgbench runs `pgbench -c clients -R rate` in the background. The
// rate limit keeps a 2-core machine responsive for the operator and the
// kubelet, whose reaction times the chaos tests measure.
func StartPgbench(host, password string, clients, rate int) *Pgbench {
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pgbench{host: host, password: password, cancel: cancel, done: make(chan struct{}),
		args: []string{"-h", host, "-p", "5432", "-U", "postgres", "-n", "-c", strconv.Itoa(clients), "-j", "1",
			"-R", strconv.Itoa(rate), "-T", "60", "postgres"}}
	go p.loop(ctx)
	return p
}

func (p *Pgbench) loop(ctx context.Context) {
	defer close(p.done)
	for ctx.Err() == nil {
		cmd := exec.CommandContext(ctx, "pgbench", p.args...)
		cmd.Env = pgEnv(p.password)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run() // exits when its connections break; the next run reconnects
		p.mu.Lock()
		p.runs++
		p.transactions += processed(out.Bytes())
		p.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond): // no tight loop while the primary is away
		}
	}
}

var processedRE = regexp.MustCompile(`number of transactions actually processed: (\d+)`)

func processed(out []byte) int {
	if m := processedRE.FindSubmatch(out); m != nil {
		n, _ := strconv.Atoi(string(m[1]))
		return n
	}
	return 0
}

// Stop ends pgbench and returns how many runs it took and how many
// transactions the completed runs reported.
func (p *Pgbench) Stop() (runs, transactions int) {
	p.cancel()
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.runs, p.transactions
}

// pgEnv passes the password in the environment, never on a command line.
func pgEnv(password string) []string {
	return append(os.Environ(), "PGPASSWORD="+password, "PGCONNECT_TIMEOUT=2")
}
