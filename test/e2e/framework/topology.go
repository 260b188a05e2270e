//go:build e2e

package framework

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The operator's member labels, as a user sees them on the pods.
const (
	topoClusterLabel = "postgres-operator.dev/cluster"
	topoRoleLabel    = "postgres-operator.dev/role"
)

// MemberView is one member pod as a snapshot saw it.
type MemberView struct {
	Name, IP, UID string
	Phase         corev1.PodPhase
	Labelled      bool // carries role=primary
	Terminating   bool // has a deletion timestamp
	Answer        string
}

// Snapshot is what one sample of a cluster's topology saw: the pods from
// the API, and what each reachable member's PostgreSQL answered to
// pg_is_in_recovery() on a fresh connection.
type Snapshot struct {
	At      time.Time
	Members []MemberView
	// Vanished are pods gone from the API in the last vanishedWatch, still
	// asked: a force-deleted pod's object goes at once while its container
	// may still run, and a primary there is a primary all the same.
	Vanished []MemberView
	// Stale is set when the API did not answer and the pods are the last
	// ones listed. While the API server is down nobody can change a label,
	// so the last labels are still the truth.
	Stale bool
	// LabelPrimaries are pods labelled primary (terminating ones included:
	// until the kubelet stops them they may take writes); SQLPrimaries the
	// members that answered "not in recovery".
	LabelPrimaries, SQLPrimaries []string
}

// OnePrimary reports whether exactly one member is labelled primary, is
// not being deleted, and is the only one answering as a primary.
func (s Snapshot) OnePrimary() (MemberView, bool) {
	if len(s.LabelPrimaries) != 1 || len(s.SQLPrimaries) != 1 || s.LabelPrimaries[0] != s.SQLPrimaries[0] {
		return MemberView{}, false
	}
	for _, m := range s.Members {
		if m.Name == s.LabelPrimaries[0] && !m.Terminating {
			return m, true
		}
	}
	return MemberView{}, false
}

// TwoPrimaries reports whether the sample saw more than one primary by
// label or by PostgreSQL's own answer.
func (s Snapshot) TwoPrimaries() bool { return len(s.LabelPrimaries) > 1 || len(s.SQLPrimaries) > 1 }

func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stale=%v labelled=%v answering=%v:", s.Stale, s.LabelPrimaries, s.SQLPrimaries)
	for _, m := range s.Members {
		fmt.Fprintf(&b, " %s(%s labelled=%v terminating=%v %s)", m.Name, m.IP, m.Labelled, m.Terminating, m.Answer)
	}
	for _, m := range s.Vanished {
		fmt.Fprintf(&b, " %s(%s deleted %s)", m.Name, m.IP, m.Answer)
	}
	return b.String()
}

// vanishedWatch is how long the address of a pod gone from the API is
// still asked: longer than any grace period the kubelet gives a container.
const vanishedWatch = time.Minute

type vanishedPod struct {
	view   MemberView
	at     time.Time
	silent int // probes in a row that found nothing listening
}

// Topology samples one cluster.
type Topology struct {
	f               *Framework
	ns, cluster, pw string
	mu              sync.Mutex
	lastPods        []corev1.Pod
	vanished        map[string]vanishedPod // by UID
	lastLook        streamLook             // see streaming
	primaries       *PrimaryWatch          // nil unless WatchPrimaries was called
}

// WatchPrimaries starts following every member incarnation the sampler
// lists from now on (see PrimaryWatch).
func (tp *Topology) WatchPrimaries() *PrimaryWatch {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.primaries == nil {
		tp.primaries = newPrimaryWatch(tp.f)
	}
	return tp.primaries
}

// NewTopology returns a sampler of the cluster's topology.
func (f *Framework) NewTopology(ns, cluster, password string) *Topology {
	return &Topology{f: f, ns: ns, cluster: cluster, pw: password, vanished: map[string]vanishedPod{}}
}

// Sample takes one snapshot. Every member is asked at the same time, so
// the answers describe (nearly) one instant.
func (tp *Topology) Sample() Snapshot {
	s := Snapshot{At: time.Now()}
	pods, err := tp.pods()
	s.Stale = err != nil
	owner := map[string]int{} // a reused IP is asked once, for the pod not being deleted
	for i, p := range pods {
		mv := MemberView{Name: p.Name, IP: p.Status.PodIP, UID: string(p.UID), Phase: p.Status.Phase, Answer: "not running",
			Labelled: p.Labels[topoRoleLabel] == "primary", Terminating: p.DeletionTimestamp != nil}
		if mv.Labelled {
			s.LabelPrimaries = append(s.LabelPrimaries, p.Name)
		}
		if j, seen := owner[mv.IP]; mv.IP != "" && p.Status.Phase == corev1.PodRunning && (!seen || s.Members[j].Terminating) {
			owner[mv.IP] = i
		}
		s.Members = append(s.Members, mv)
	}
	s.Vanished = tp.recentlyVanished(s.At, owner)
	var wg sync.WaitGroup
	for ip, i := range owner {
		wg.Go(func() { s.Members[i].Answer = tp.ask(ip) })
	}
	for i := range s.Vanished {
		wg.Go(func() { s.Vanished[i].Answer = tp.askVanished(s.Vanished[i]) })
	}
	wg.Wait()
	for _, m := range s.Members {
		if m.Answer == "primary" {
			s.SQLPrimaries = append(s.SQLPrimaries, m.Name)
		}
	}
	for _, m := range s.Vanished {
		if m.Answer == "primary" {
			s.SQLPrimaries = append(s.SQLPrimaries, m.Name+" (deleted pod)")
		}
	}
	return s
}

// recentlyVanished returns the pods that vanished from the API within
// vanishedWatch and whose address no listed pod has taken over.
func (tp *Topology) recentlyVanished(now time.Time, listed map[string]int) []MemberView {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	var out []MemberView
	for uid, v := range tp.vanished {
		if _, taken := listed[v.view.IP]; taken || now.Sub(v.at) > vanishedWatch {
			delete(tp.vanished, uid)
			continue
		}
		out = append(out, v.view)
	}
	slices.SortFunc(out, func(a, b MemberView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// askVanished asks a vanished pod's address, after a quick TCP check so
// that dead addresses (the usual case) do not slow the sample down; an
// address found dead three times in a row is no longer asked.
func (tp *Topology) askVanished(m MemberView) string {
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(m.IP, "5432"), 300*time.Millisecond)
	if err == nil {
		conn.Close()
		return tp.ask(m.IP)
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if v, ok := tp.vanished[m.UID]; ok {
		if v.silent++; v.silent >= 3 {
			delete(tp.vanished, m.UID)
		} else {
			tp.vanished[m.UID] = v
		}
	}
	return "nothing listening"
}

// ask returns "primary", "standby" or why it got no answer.
func (tp *Topology) ask(ip string) string {
	rows, err := queryRows(ip, tp.pw, "select pg_is_in_recovery()")
	switch {
	case err != nil || len(rows) != 1:
		return "no answer"
	case rows[0][0] == "true":
		return "standby"
	}
	return "primary"
}

// pods lists the member pods, falling back to the last list when the API
// does not answer.
func (tp *Topology) pods() ([]corev1.Pod, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	list, err := tp.f.Kube.CoreV1().Pods(tp.ns).List(ctx, metav1.ListOptions{LabelSelector: topoClusterLabel + "=" + tp.cluster})
	if err == nil && tp.primaryWatch() != nil {
		tp.primaryWatch().see(list.Items)
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if err != nil {
		return tp.lastPods, err
	}
	slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	tp.noteVanished(list.Items)
	tp.lastPods = list.Items
	return list.Items, nil
}

func (tp *Topology) primaryWatch() *PrimaryWatch {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.primaries
}

// noteVanished remembers the running pods of the last list that are not in
// this one. Called with tp.mu held.
func (tp *Topology) noteVanished(pods []corev1.Pod) {
	now := time.Now()
	for _, old := range tp.lastPods {
		gone := !slices.ContainsFunc(pods, func(p corev1.Pod) bool { return p.UID == old.UID })
		if gone && old.Status.PodIP != "" && old.Status.Phase == corev1.PodRunning {
			tp.vanished[string(old.UID)] = vanishedPod{at: now,
				view: MemberView{Name: old.Name, IP: old.Status.PodIP, UID: string(old.UID), Phase: old.Status.Phase}}
		}
	}
}
