package cluster

import (
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Self-fencing without an agent. A primary cut off from the API server,
// the operator and its replicas may keep running and taking writes while
// the operator promotes a replica elsewhere. Nothing outside its node can
// stop it, but the kubelet on that node still runs exec probes. So every
// member gets a liveness probe that fails only when the member is a
// primary that nobody has heard from for the lease T
// (spec.failover.fenceAfterSeconds): the kubelet then kills its container,
// restartPolicy Never keeps it down, and the operator, which promotes past
// a primary it cannot confirm dead only after T plus fenceMargin
// (failover_fence.go), never makes a second primary while the first one
// still takes writes.
//
// "Heard from" is read by PostgreSQL itself: the operator's heartbeat
// backend (pkg/postgres/heartbeat.go) changed state within T, or a
// standby's WAL receiver replied within T (pg_stat_replication reply_time;
// standbys reply every walReceiverStatusInterval). While the operator is
// down the replicas keep a healthy primary alive, and while replicas are
// down the operator does. state_change is the primary's own clock;
// reply_time is the standby's, so a standby clock behind the primary's by
// more than T minus a status interval could let a healthy primary with no
// heartbeat fence itself: nodes must keep their clocks in step (NTP), as
// Kubernetes already needs for certificates.

// FenceAfterAnnotation records on a member pod the lease T its fence probe
// was built with. The operator's wait before promoting past an unconfirmed
// primary uses the pod's own T, and a pod without it (made before
// self-fencing existed) is never promoted past unconfirmed.
const FenceAfterAnnotation = "postgres-operator.dev/fence-after-seconds"

// defaultFenceAfter is T when spec.failover.fenceAfterSeconds is unset (the
// CRD defaults it to the same value).
const defaultFenceAfter = 10 * time.Second

// fenceAfter is the cluster's lease T.
func fenceAfter(pgc *v1alpha1.PostgresCluster) time.Duration {
	if s := pgc.Spec.Failover.FenceAfterSeconds; s > 0 {
		return time.Duration(s) * time.Second
	}
	return defaultFenceAfter
}

// fenceProbePeriod is how often the fence probe runs; fenceLead is how much
// before T it fences, so that a probe that just missed the lease's end
// still kills within T + 2 s.
const (
	fenceProbePeriod = 2 * time.Second
	fenceLead        = fenceProbePeriod - time.Second
)

// fenceProbeTimeout is the kubelet's bound on one fence probe run; psql's
// own (timeout 4) ends first (see fenceProbe). A run that fences answers
// in milliseconds, so the bound never delays a fence; it only decides how
// long a node may take to start the exec before the kubelet counts the
// run as a failure and kills a healthy member. 15 s was not enough on a
// node at a load of 90 (twenty clusters initialising at once on 2 cores).
const fenceProbeTimeout = time.Minute

// fenceProbe is the members' liveness probe. A false kill of a healthy
// primary is the worst outcome, so only a lease PostgreSQL itself shows
// run out fails it: no connection (not started, starting, recovering,
// shutting down), an error, or a slow answer cut off by timeout all count
// as alive (fenceScript). psql is bounded well inside timeoutSeconds
// (connect_timeout 2 s, the libpq minimum; statement_timeout 1 s; timeout
// 4 s where the image has timeout), because a probe that times out counts
// as failed. The kubelet's bound, fenceProbeTimeout, is far above psql's:
// on a node whose CPUs are saturated (ten clusters running initdb at once
// on two cores) starting the exec, the shell and psql took more than the
// 1 s that was once left, and the kubelet killed healthy primaries.
//
// One failure is enough: the answer itself says the lease ran out. Every
// exec probe costs the node a runc exec, a psql and a backend (tens of
// milliseconds of CPU), and the readiness probe already runs every 2 s, so
// this one runs every fenceProbePeriod and fences fenceLead before T: the
// kill still lands within T + 2 s of the last proof of life (the period,
// psql's run, member.sh's fast shutdown on SIGTERM), before the operator
// promotes past it at T + fenceMargin.
func fenceProbe(pgc *v1alpha1.PostgresCluster) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{
			Command: []string{"/bin/sh", "-c", fenceScript, "fence-probe",
				fenceQuery(pgc.Name, fenceAfter(pgc)-fenceLead, fenceBeatDiscount(fenceAfter(pgc)), fenceReplyDiscount(fenceAfter(pgc)))},
		}},
		PeriodSeconds:    int32(fenceProbePeriod / time.Second),
		TimeoutSeconds:   int32(fenceProbeTimeout / time.Second),
		FailureThreshold: 1,
		SuccessThreshold: 1,
		// member.sh turns SIGTERM into a fast shutdown, which refuses new
		// work at once; a shutdown stuck on its checkpoint is killed soon.
		TerminationGracePeriodSeconds: ptr.To[int64](5),
	}
}

// fenceScript runs the query over the local socket (peer authentication)
// and fails only on the answer "fence <seen>". The query decides on the
// newest proof of life PostgreSQL holds and the newest one an earlier run
// saw, kept in fenceLeaseFile and handed to the query as the setting
// fenceSeenSetting. The file bridges the moments when a proof leaves
// PostgreSQL's views: the operator's heartbeat reconnecting or restarting,
// a standby's WAL sender ending. It only ever holds a time PostgreSQL
// reported, never the time of a run, so it cannot stretch the lease. Every
// other answer, no answer, or a failing psql is success.
//
// Every "$" is written "$$": the kubelet expands "$(NAME)" in a command
// and turns "$$" into "$". The query is the script's $1, never parsed by
// the shell; what the file holds is checked to be a number before use.
const fenceScript = `t=; command -v timeout >/dev/null 2>&1 && t='timeout 4'; ` +
	`l=$$(cat ` + fenceLeaseFile + ` 2>/dev/null); case "$$l" in ''|*[!0-9.]*) l=0 ;; esac; ` +
	`export PGCONNECT_TIMEOUT=2 PGOPTIONS="-c statement_timeout=1000 -c ` + fenceSeenSetting + `=$$l"; ` +
	`r=$$($$t psql -h ` + runDir + ` -U postgres -d postgres -XAtq -c "$$1" 2>/dev/null); ` +
	`case "$$r" in "lease "*|"fence "*) s=$${r#* }; ` +
	`case "$$s" in ''|*[!0-9.]*) ;; *) echo "$$s" >` + fenceLeaseFile + ` 2>/dev/null ;; esac ;; esac; ` +
	`case "$$r" in "fence "*) echo "self-fencing: this primary has heard from neither the operator ` +
	`nor a replica for spec.failover.fenceAfterSeconds"; exit 1 ;; esac; exit 0`

// fenceLeaseFile keeps the newest proof of life a probe run saw, as a Unix
// time. It lives in the member's run directory, in memory: a new pod
// starts without it, and its postmaster's start is its first proof.
const fenceLeaseFile = runDir + "/fence-lease"

// fenceSeenSetting carries fenceLeaseFile's time into the query (a custom
// setting, sent in the startup packet by PGOPTIONS).
const fenceSeenSetting = "postgres_operator.fence_seen"

// fenceQuery answers "alive: standby" on a standby, "alive: no member
// slots" on a primary without a physical slot named like one of the
// cluster's members (<cluster>_<ordinal>), so a one-member cluster never
// fences itself. Otherwise it answers "lease <seen>", or "fence <seen>"
// once seen is T or more behind clock_timestamp(); seen is the newest of
// (a Unix time, to the microsecond):
//   - its postmaster's start and its latest promotion (the mtime of its
//     timeline's history file): a new primary has had no time to be heard
//     from;
//   - the last state change of the operator's heartbeat backend (user
//     postgres), less the beat discount (see fenceBeatDiscount);
//   - the last reply of a standby (user replicator) to its WAL sender, less
//     the reply discount (see fenceReplyDiscount);
//   - fenceSeenSetting: what an earlier run saw.
//
// The query has no "$" in it (see fenceScript).
func fenceQuery(cluster string, t, beatDiscount, replyDiscount time.Duration) string {
	prefix := postgres.SlotName(cluster + "-")
	lines := []string{
		"SELECT CASE",
		" WHEN pg_is_in_recovery() THEN 'alive: standby'",
		" WHEN NOT EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_type = 'physical'",
		"  AND left(slot_name, " + strconv.Itoa(len(prefix)) + ") = " + sqlLiteral(prefix),
		"  AND substr(slot_name, " + strconv.Itoa(len(prefix)+1) + ") SIMILAR TO '[0-9]+') THEN 'alive: no member slots'",
		" WHEN clock_timestamp() - seen >= interval '" + strconv.FormatInt(int64(t/time.Second), 10) + " seconds'",
		"  THEN 'fence ' || extract(epoch FROM seen)",
		" ELSE 'lease ' || extract(epoch FROM seen)",
		" END",
		"FROM (SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE greatest(",
		"  pg_postmaster_start_time(),",
		"  (pg_stat_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history', true)).modification,",
		"  (SELECT max(state_change) FROM pg_stat_activity WHERE application_name = " + sqlLiteral(postgres.HeartbeatApplicationName) + " AND usename = 'postgres')",
		"   - interval '" + strconv.FormatInt(beatDiscount.Milliseconds(), 10) + " milliseconds',",
		"  (SELECT max(reply_time) FROM pg_stat_replication WHERE usename = " + sqlLiteral(replicationUser) + ")",
		"   - interval '" + strconv.FormatInt(int64(replyDiscount/time.Second), 10) + " seconds',",
		"  to_timestamp(coalesce(nullif(current_setting(" + sqlLiteral(fenceSeenSetting) + ", true), ''), '0')::float8)",
		" ) END AS seen) lease",
	}
	return strings.Join(lines, "\n")
}

// sqlLiteral quotes s as an SQL string literal; the names it quotes are
// Kubernetes names and constants, but quoting keeps that from mattering.
func sqlLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// podFenceAfter is the lease T a member pod's fence probe was built with,
// and false when the pod has no fence probe.
func podFenceAfter(pod *corev1.Pod) (time.Duration, bool) {
	return podDurationAnnotation(pod, FenceAfterAnnotation, time.Second)
}

// podDurationAnnotation reads a positive whole number of units from a
// pod's annotation; false when the pod, the annotation or a valid number
// is missing.
func podDurationAnnotation(pod *corev1.Pod, key string, unit time.Duration) (time.Duration, bool) {
	if pod == nil {
		return 0, false
	}
	n, err := strconv.Atoi(pod.Annotations[key])
	if err != nil || n <= 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}

// FenceReplyDiscountAnnotation records on a member pod the reply discount
// its fence probe was built with (fenceReplyDiscount). A pod without it
// counts standby replies at full value, and the operator then waits for
// it as it always did.
const FenceReplyDiscountAnnotation = "postgres-operator.dev/fence-reply-discount-seconds"

// replyLeeway is how late every standby's replies may run, while the
// operator's heartbeat is also away, before a healthy primary would fence
// itself: replies normally land every replyInterval.
const replyLeeway = 3 * time.Second

// fenceReplyDiscount is how much less a standby's reply counts as proof of
// life on the primary than the time it was sent. Why: the operator cannot
// see when a standby's last reply reached a primary that was cut off. It
// sees only when the standby last heard from it, and an idle primary sends
// nothing between the receiver's pings (half of wal_receiver_timeout), so
// the link, and the replies over it, may have lasted that long, plus a
// status interval, after the standby's last message. Counting the primary's
// lease from that bound made the operator wait T plus the ping gap before
// promoting. With the discount the primary fences that much sooner after a
// reply, so the operator can count T from the standby's last message. The
// discount is capped so that replies, which arrive every replyInterval,
// still keep a healthy primary alive with replyLeeway to spare while the
// operator is away (T = 10 s: 6 s; the shortest lease, 5 s: 1 s).
func fenceReplyDiscount(t time.Duration) time.Duration {
	timeout, _ := parseGUCDuration(defaultWalReceiverTimeout, time.Millisecond)
	d := min(timeout/2+replyInterval, t-fenceLead-replyLeeway)
	return max(d, 0).Truncate(time.Second)
}

// podReplyDiscount is the reply discount of a member pod's fence probe:
// zero for pods made before there was one.
func podReplyDiscount(pod *corev1.Pod) time.Duration {
	d, _ := podDurationAnnotation(pod, FenceReplyDiscountAnnotation, time.Second)
	return d
}

// FenceBeatDiscountAnnotation records on a member pod the beat discount of
// its fence probe, in milliseconds (fenceBeatDiscount); a pod without it
// counts beats at full value.
const FenceBeatDiscountAnnotation = "postgres-operator.dev/fence-beat-discount-ms"

// fenceBeatDiscount is how much less a beat of the operator's heartbeat
// counts as proof of life on the primary than the time it arrived. Why:
// once the primary's node is cut off, the operator cannot tell whether
// the beat it sent last reached it; it must assume so until that beat
// times out, which can be a whole beat interval plus heartbeatTimeout
// after the cut. With the discount the primary fences that much sooner
// after a beat, and the operator counts T from the cut itself. Capped,
// like fenceReplyDiscount, so that beats every interval still keep a
// primary alive with replyLeeway to spare (T = 10 s: 3.5 s; 5 s: 0).
func fenceBeatDiscount(t time.Duration) time.Duration {
	interval := heartbeatInterval(t)
	d := min(interval+heartbeatTimeout, t-fenceLead-interval-replyLeeway)
	return max(d, 0).Truncate(time.Millisecond)
}

// podBeatDiscount is the beat discount of a member pod's fence probe:
// zero for pods made before there was one.
func podBeatDiscount(pod *corev1.Pod) time.Duration {
	d, _ := podDurationAnnotation(pod, FenceBeatDiscountAnnotation, time.Millisecond)
	return d
}
