package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"postgres-operator.dev/postgres-operator/pkg/pki"
)

// The cost of TLS on throughput, measured where nothing else moves: one
// PostgreSQL 15 server on loopback with ssl on (an ECDSA P-256 certificate
// from pkg/pki, as the members serve), pgbench from the host in three
// sslmodes. Select-only transactions show the cost per round trip; with -C
// (a new connection per transaction) the cost of each handshake, which is
// what a client without a pool pays.

type tlsCostRow struct {
	mode              string
	tps, tpsReconnect float64
}

var pgbenchTPS = regexp.MustCompile(`tps = ([0-9.]+)`)

func (e *env) runTLSCost(ctx context.Context) ([]tlsCostRow, error) {
	h, err := newPGHost(e.opts.pgBin)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(h.dir)
	data := filepath.Join(h.dir, "tls")
	if _, err := h.run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"); err != nil {
		return nil, err
	}
	root, err := h.writeCertificates()
	if err != nil {
		return nil, err
	}
	port := freePort()
	srv, err := h.server(data, port, "-c", "ssl=on", "-c", "ssl_cert_file="+filepath.Join(h.dir, "server.crt"),
		"-c", "ssl_key_file="+filepath.Join(h.dir, "server.key"), "-c", "max_connections=50")
	if err != nil {
		return nil, err
	}
	defer stopServer(srv)
	if err := waitAnswers(ctx, pgTarget{host: "127.0.0.1", port: port}); err != nil {
		return nil, err
	}
	p := strconv.Itoa(port)
	if _, err := h.run("pgbench", "-i", "-q", "-s", "10", "-h", "127.0.0.1", "-p", p, "-U", "postgres", "postgres"); err != nil {
		return nil, err
	}
	// Rounds interleave the modes, and each figure is the median of its
	// rounds: a neighbour's burst of CPU then hits every mode alike.
	modes := []string{"disable", "require", "verify-full"}
	tps, reconnect := make([][]float64, len(modes)), make([][]float64, len(modes))
	for round := 1; round <= tlsRounds; round++ {
		for i, mode := range modes {
			conn := fmt.Sprintf("host=localhost hostaddr=127.0.0.1 port=%s user=postgres dbname=postgres sslmode=%s sslrootcert=%s", p, mode, root)
			a, err := h.pgbenchTPS(conn, e.opts.tlsWindow)
			if err != nil {
				return nil, err
			}
			b, err := h.pgbenchTPS(conn, e.opts.tlsWindow, "-C")
			if err != nil {
				return nil, err
			}
			logf("tls round %d: sslmode=%s: %.0f tps, %.0f tps with a connection per transaction", round, mode, a, b)
			tps[i], reconnect[i] = append(tps[i], a), append(reconnect[i], b)
		}
	}
	var rows []tlsCostRow
	for i, mode := range modes {
		rows = append(rows, tlsCostRow{mode: mode, tps: medianOf(tps[i]), tpsReconnect: medianOf(reconnect[i])})
	}
	return rows, nil
}

// tlsRounds: each mode's figures are medians of this many runs.
const tlsRounds = 3

func medianOf(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// writeCertificates issues a CA and a server certificate for localhost
// into the host's directory, owned by the postgres user, and returns the
// CA's path.
func (h *pgHost) writeCertificates() (string, error) {
	now := time.Now()
	ca, err := pki.NewCA("bench CA", 24*time.Hour, now)
	if err != nil {
		return "", err
	}
	srv, err := pki.Issue(ca, pki.Request{CommonName: "localhost", DNSNames: []string{"localhost"},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, Lifetime: time.Hour}, now)
	if err != nil {
		return "", err
	}
	for name, b := range map[string][]byte{"ca.crt": ca.Cert, "server.crt": srv.Cert, "server.key": srv.Key} {
		path := filepath.Join(h.dir, name)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			return "", err
		}
		if err := os.Chown(path, int(h.uid), int(h.gid)); err != nil {
			return "", err
		}
	}
	return filepath.Join(h.dir, "ca.crt"), nil
}

// pgbenchTPS runs select-only pgbench, 4 clients on 2 threads, and
// returns its tps.
func (h *pgHost) pgbenchTPS(conn string, window time.Duration, extra ...string) (float64, error) {
	args := append([]string{"-n", "-S", "-c", "4", "-j", "2", "-T", strconv.Itoa(int(window.Seconds()))}, extra...)
	out, err := h.command("pgbench", append(args, conn)...).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("pgbench %v: %w: %s", extra, err, lastLines(string(out), 5))
	}
	m := pgbenchTPS.FindStringSubmatch(string(out))
	if m == nil {
		return 0, fmt.Errorf("pgbench printed no tps: %s", lastLines(string(out), 5))
	}
	return strconv.ParseFloat(m[1], 64)
}

func tlsCostTable(rows []tlsCostRow) *table {
	t := newTable("Cost of TLS on pgbench (host, loopback, select-only, 4 clients)", "sslmode", "tps", "vs plain", "tps, new connection per transaction (-C)", "vs plain")
	base := rows[0]
	for _, r := range rows {
		t.add(r.mode, fmt.Sprintf("%.0f", r.tps), pct(r.tps, base.tps), fmt.Sprintf("%.0f", r.tpsReconnect), pct(r.tpsReconnect, base.tpsReconnect))
	}
	t.note("PostgreSQL 15 with ssl on (ECDSA P-256, TLS 1.3), trust authentication; the members serve the same kind of certificate;")
	t.note("  medians of %d interleaved rounds of each mode.", tlsRounds)
	return t
}

func pct(v, base float64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f %%", 100*(v-base)/base)
}
