package cluster

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/klog/v2"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// primaryConninfo is where a member streams from. member.sh writes it with
// the -rw Service as host at every start; right after a promotion the
// operator points the running standbys at the new primary's address
// instead (repointReplicas). The WAL receiver connects asynchronously and
// so ignores connect_timeout: a connection that lands on a dead primary's
// address would wait out the kernel's SYN retries, about two minutes;
// tcp_user_timeout bounds it.
func primaryConninfo(host, member string) string {
	return fmt.Sprintf("host=%s port=%d user=%s application_name=%s passfile=%s/.pgpass connect_timeout=2 tcp_user_timeout=5000",
		host, postgresPort, replicationUser, member, runDir)
}

// tlsConninfo is primaryConninfo over TLS, the primary verified as every
// member's libpq does it (member.sh): host is what the certificate is
// checked against; a standby pointed at an address gets it as hostaddr.
func tlsConninfo(pgc *v1alpha1.PostgresCluster, addr, member string) string {
	host := addr
	if addr != RWServiceName(pgc.Name) {
		host = memberServerName(pgc) + " hostaddr=" + addr
	}
	return primaryConninfo(host, member) + fmt.Sprintf(" sslmode=verify-full sslrootcert=%[1]s/ca.crt sslcert=%[1]s/client.crt sslkey=%[1]s/client.key", tlsDir)
}

// conninfoHost is the address a primary_conninfo value leads to (its
// hostaddr, else its host), or "".
func conninfoHost(conninfo string) string {
	var host string
	for _, f := range strings.Fields(conninfo) {
		if h, ok := strings.CutPrefix(f, "hostaddr="); ok {
			return h
		}
		if h, ok := strings.CutPrefix(f, "host="); ok {
			host = h
		}
	}
	return host
}

// repointReplicas sends every other running standby straight to the new
// primary's address. Through -rw a standby waits for kube-proxy to follow
// the label, and a first attempt can land on the dead primary's address;
// in sync mode every commit waits for that reconnect. A standby that cannot
// be reached keeps -rw, which leads to the new primary a moment later.
func (c *Cluster) repointReplicas(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, primary *member) {
	pw, ok := obs.superuserPassword(pgc.Name)
	if !ok || primary.pod == nil || primary.pod.Status.PodIP == "" {
		return
	}
	for _, o := range obs.members.live() {
		if o == primary || !o.running() || o.db == nil || !o.db.InRecovery {
			continue
		}
		if err := c.pointAt(ctx, pgc, o, pw, primary.pod.Status.PodIP); err != nil {
			klog.FromContext(ctx).V(2).Info("Could not repoint a standby at the new primary; it follows -rw", "member", o.name, "err", err)
		}
	}
}

// actRepoint points a standby back at the -rw Service.
const actRepoint actionKind = "Repoint"

// planRepoint is the safety net of repointReplicas: a standby left pointing
// at an address that is no longer the primary's (an operator restart
// between promotions, a primary restarted on its volume without failover)
// is pointed back at the -rw Service, which always leads to the primary.
func planRepoint(in planInput) (action, bool) {
	primary := in.obs.members.live().primary()
	if primary == nil || !primary.healthy() || primary.pod.Status.PodIP == "" {
		return action{}, false
	}
	rw := RWServiceName(in.cluster.Name)
	for _, m := range in.obs.members.live() {
		if m == primary || !m.running() || m.db == nil || !m.db.InRecovery {
			continue
		}
		host := conninfoHost(m.db.PrimaryConninfo)
		if host == "" || host == rw || host == primary.pod.Status.PodIP {
			continue
		}
		return action{kind: actRepoint, member: m.name, reason: fmt.Sprintf(
			"%s streams from %s, which is no longer the primary's address: pointing it at %s", m.name, host, rw)}, true
	}
	return action{}, false
}

// repoint applies planRepoint's action.
func (c *Cluster) repoint(ctx context.Context, pgc *v1alpha1.PostgresCluster, obs *observation, act action) error {
	m := obs.members.byName(act.member)
	pw, ok := obs.superuserPassword(pgc.Name)
	if m == nil || !m.running() || !ok {
		return fmt.Errorf("member %s is not running", act.member)
	}
	return c.pointAt(ctx, pgc, m, pw, RWServiceName(pgc.Name))
}

// pointAt sets the standby's primary_conninfo to stream from host; the
// reload that follows restarts its WAL receiver there.
func (c *Cluster) pointAt(ctx context.Context, pgc *v1alpha1.PostgresCluster, standby *member, password, host string) error {
	conninfo := primaryConninfo(host, standby.name)
	if standby.tls != nil { // a pod from before TLS has no certificates to verify with
		conninfo = tlsConninfo(pgc, host, standby.name)
	}
	set := map[string]string{"primary_conninfo": conninfo}
	_, err := c.cfg.Postgres.SetParameters(ctx, endpoint(standby, password), set, nil)
	return err
}
