package cluster

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// A primary that merely stops answering the operator is not proven dead:
// the operator's own network may be what failed. Its replicas say more: a
// WAL receiver streaming from it that heard from it moments ago proves it
// alive, and failing over then would fence a healthy primary (or, were the
// fence not confirmed, risk two). Deaths the kubelet confirms (pod deleted,
// container terminated, pod failed) never ask the replicas.

// vouchWindow is how recent a replica's last message from the primary must
// be to prove the primary alive. The operator's default wal_receiver_timeout
// of 10 s (safety_parameters.go) makes a receiver ping an idle primary every
// 5 s, so a live primary is heard from at least that often; the margin
// covers the ping's round trip. It also bounds how long a primary that died
// right after its last message can hold a failover back.
const vouchWindow = 7 * time.Second

// reasonUnreachableFromOperator is the reason of the PrimaryAvailable
// condition (Unknown) and of the Warning Event while replicas vouch for a
// primary the operator cannot reach.
const reasonUnreachableFromOperator = "PrimaryUnreachableFromOperator"

// voucher is a replica whose WAL receiver proves the primary alive.
type voucher struct {
	m   *member
	age time.Duration // since its last message from the primary, by its own clock
}

// primaryVoucher returns the replica that heard from the primary most
// recently, within vouchWindow: it streams, from the primary's timeline
// (status.timeline, when known), and is of this cluster's database.
func primaryVoucher(in planInput, p *member) *voucher {
	var best *voucher
	tl := uint32(in.cluster.Status.Timeline)
	for _, m := range in.obs.members.live() {
		if m == p || !m.streaming() || !m.db.ReceiverHeard || m.db.ReceiverMessageAge > vouchWindow ||
			(tl != 0 && m.db.ReceiverTimeline != tl) || in.obs.isForeign(m.name) {
			continue
		}
		if best == nil || m.db.ReceiverMessageAge < best.age {
			best = &voucher{m: m, age: m.db.ReceiverMessageAge}
		}
	}
	return best
}

// vouchedUnreachable reports whether p is lost only because it does not
// answer the operator while a replica proves it alive.
func vouchedUnreachable(in planInput, p *member) *voucher {
	if dead, _ := primaryDead(p, in.now); dead {
		return nil
	}
	return primaryVoucher(in, p)
}

// holdFailover is the Wait that replaces the fence while a replica vouches.
func holdFailover(p *member, v *voucher) action {
	return action{kind: actWait, member: p.name, phase: v1alpha1.PhaseRunning, reason: fmt.Sprintf(
		"primary %s does not answer the operator, but replica %s received WAL from it %.1f s ago: "+
			"not failing over (an operator-side network problem is not a dead primary)",
		p.name, v.m.name, v.age.Seconds())}
}

// vouchNotice reports the held failover as the PrimaryAvailable condition
// (Unknown: the operator cannot see it, a replica can) and, once, a Warning
// Event. The message carries no age, so the condition does not change
// every pass; recheck makes the actor look again when the replica's word
// goes stale, as no API event will say so.
func vouchNotice(in planInput) []notice {
	p := labelledPrimary(in.obs.members)
	if p == nil || !p.hasPod() || in.cluster.Spec.Failover.Disabled || !in.cluster.Status.Initialized {
		return nil
	}
	if lost, _ := primaryLost(p, in.now, in.unreachableSince[p.name]); !lost {
		return nil
	}
	v := vouchedUnreachable(in, p)
	if v == nil {
		return nil
	}
	return []notice{{
		condition: v1alpha1.ConditionPrimaryAvailable, status: metav1.ConditionUnknown,
		reason: reasonUnreachableFromOperator, key: reasonUnreachableFromOperator + "/" + p.name,
		message: fmt.Sprintf("primary %s does not answer the operator, but replica %s receives WAL from it: "+
			"not failing over (an operator-side network problem is not a dead primary)", p.name, v.m.name),
		recheck: vouchWindow - v.age,
	}}
}
