package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Members stuck before they ever ran. A pod that never started (a wrong
// image, an impossible resource request) or exited before it did any good
// is rebuilt when the spec changes: waiting for it to become healthy, as the
// bootstrap and the roll do, would wait forever for a pod built from the
// very spec the user has just fixed.

// seedFailureLimit is how many failures in a row of the seed make the
// cluster report Failed; the operator keeps retrying with its back-off.
const seedFailureLimit = 3

// reasonSeedFailing is the Failed condition's reason for a seed that keeps
// failing before it initialised.
const reasonSeedFailing = "SeedFailing"

// noDataLost is said whenever the seed's volume is deleted.
const noDataLost = "the seed never initialised, so no data is lost"

// podNeverStarted: a pod leaves Pending once its container has started and
// never goes back, so a Pending pod never ran PostgreSQL and holds no
// writes. ("" is a pod the API server has not given a phase yet.)
func podNeverStarted(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodPending || pod.Status.Phase == ""
}

// whyNotStarted says what a member's Pending pod waits for, in the
// kubelet's or the scheduler's words (ErrImagePull, Unschedulable, ...),
// and names its volume claim when that is what holds the pod back.
func whyNotStarted(m *member) string {
	pod := m.pod
	if cs := postgresContainerStatus(pod); cs != nil && cs.State.Waiting != nil && cs.State.Waiting.Reason != "" {
		return withMessage(cs.State.Waiting.Reason, cs.State.Waiting.Message)
	}
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return withMessage(c.Reason, c.Message) + claimPending(m)
		}
	}
	return "pod pending"
}

// claimPending: an unschedulable pod whose volume claim is not bound waits
// for a volume, and the scheduler's words do not say why there is none (a
// storage class that does not exist, a provisioner that fails); the
// claim's Events do.
func claimPending(m *member) string {
	if m.pvc == nil || m.pvc.Status.Phase != corev1.ClaimPending {
		return ""
	}
	class := "the default storage class"
	if sc := m.pvc.Spec.StorageClassName; sc != nil && *sc != "" {
		class = fmt.Sprintf("storage class %q", *sc)
	}
	return fmt.Sprintf("; its volume claim %s is not bound (%s): `kubectl describe pvc %s` says why", m.pvc.Name, class, m.pvc.Name)
}

// howItExited describes a failed pod's end, e.g. "exited with code 1 (Error)".
func howItExited(pod *corev1.Pod) string {
	cs := postgresContainerStatus(pod)
	if cs == nil || cs.State.Terminated == nil {
		// Evicted, or deleted by the node before the container ran.
		return withMessage("failed", strings.TrimSpace(pod.Status.Reason+" "+pod.Status.Message))
	}
	t := cs.State.Terminated
	return withMessage(fmt.Sprintf("exited with code %d (%s)", t.ExitCode, t.Reason), t.Message)
}

func withMessage(reason, msg string) string {
	if msg = strings.TrimSpace(msg); msg != "" {
		return reason + ": " + msg
	}
	return reason
}

// planStuckPods replaces a replica whose pod never started, or exited, and
// was built from an older spec (podOutdated): it comes back from its volume
// (or is cloned again) with the current spec, without waiting out the
// restart back-off of a member that kept failing with the old one. A
// primary's pod that never started (one restarted on its volume with a
// wrong image) is replaced the same way: it never ran PostgreSQL, so it
// holds no write, and planPrimary starts it again on its volume. A primary
// that ran is failover's business. (Running pods are skipped before the
// spec is rendered: this runs every pass.)
func planStuckPods(in planInput) (action, bool) {
	for _, m := range in.obs.members.live() {
		if !m.hasPod() || m.fenced() || !(podNeverStarted(m.pod) || podFailed(m.pod)) || !podOutdated(in, m.pod) {
			continue
		}
		if m.role() == RolePrimary && in.cluster.Status.Initialized && podNeverStarted(m.pod) {
			return action{kind: actDeletePod, member: m.name, reason: fmt.Sprintf(
				"the primary %s never started (%s) and the spec has changed since its pod was made: "+
					"replacing its pod on its volume (it never ran, so no write is lost)", m.name, whyNotStarted(m))}, true
		}
		if m.role() != RoleReplica && m.role() != RoleDiverged {
			continue
		}
		var state string
		switch {
		case podNeverStarted(m.pod):
			state = "never started (" + whyNotStarted(m) + ")"
		case podFailed(m.pod):
			state = howItExited(m.pod)
		default:
			continue
		}
		return action{kind: actDeletePod, member: m.name, reason: fmt.Sprintf(
			"replica %s %s and the spec has changed since its pod was made: replacing its pod", m.name, state)}, true
	}
	return action{}, false
}

// planStuckSeed handles a seed, before the cluster is initialized, whose
// pod never started or exited. Changed spec: start afresh, volume and all.
// Same spec: retry on its volume with the restart back-off (initdb works
// in a scratch directory, so a crashed one leaves nothing behind).
func planStuckSeed(in planInput, seed *member) (action, bool) {
	if !seed.hasPod() {
		return action{}, false
	}
	var state string
	switch {
	case podFailed(seed.pod):
		state = howItExited(seed.pod)
	case podNeverStarted(seed.pod):
		state = "cannot start (" + whyNotStarted(seed) + ")"
	default:
		return action{}, false
	}
	if a, ok := planRecoveryFailed(in, seed); ok {
		return a, true // backup_plan.go
	}
	if seedOutdated(in, seed.pod) {
		return action{kind: actReplaceSeed, member: seed.name, reason: fmt.Sprintf(
			"the seed %s %s and the spec has changed: deleting its pod and volume to start afresh; %s",
			seed.name, state, noDataLost)}, true
	}
	if !podFailed(seed.pod) {
		return action{}, false // waiting; planBootstrap says for what
	}
	failures := in.restarts[seed.name] + 1
	a := action{kind: actDeletePod, member: seed.name, restart: true, seedSpec: podSeedSpec(seed.pod), reason: fmt.Sprintf(
		"the seed %s %s before it initialised (%s in a row): retrying on its volume", seed.name, state, failuresText(failures))}
	if wait := restartBackoff(in.restarts[seed.name]); in.now.Sub(podFinishedAt(seed.pod)) < wait {
		a = action{kind: actWait, member: seed.name, reason: fmt.Sprintf(
			"the seed %s %s before it initialised (%s in a row): retrying %s after its last failure",
			seed.name, state, failuresText(failures), wait)}
	}
	return seedFailing(a, seed.name, failures), true
}

// seedFailing marks the cluster Failed once the seed has failed
// seedFailureLimit times in a row: retrying alone is unlikely to help, and
// the user should know why the cluster does not come up.
func seedFailing(a action, seed string, failures int) action {
	if failures < seedFailureLimit {
		return a
	}
	a.phase, a.failure = v1alpha1.PhaseFailed, reasonSeedFailing
	a.reason += fmt.Sprintf("; the seed keeps failing: see `kubectl logs %s`; fixing the spec replaces it (%s)", seed, noDataLost)
	return a
}

// seedOutdated: the seed's pod was built from an older spec, counting the
// parameters initdb writes (BOOTSTRAP_PARAMETERS) too.
func seedOutdated(in planInput, pod *corev1.Pod) bool {
	if podOutdated(in, pod) {
		return true
	}
	params, ok := bootstrapParameters(pod)
	return ok && params != renderedParameters(in.cluster)
}

// podOutdated: the pod was built from an older spec, counting the
// parameters member.sh writes at every start (SPEC_PARAMETERS), which the
// pod spec hash leaves out because a running member takes them over SQL.
// A member that cannot start with the old parameters (shared_buffers
// larger than the node's memory) only sees the fixed ones in a new pod.
func podOutdated(in planInput, pod *corev1.Pod) bool {
	if pod.Annotations[SpecHashAnnotation] != podSpecHash(in.cluster, in.image) {
		return true
	}
	params, ok := podEnv(pod, "SPEC_PARAMETERS")
	return ok && params != renderedParameters(in.cluster)
}

// bootstrapParameters is the BOOTSTRAP_PARAMETERS of an initdb pod; not
// an initdb pod: only its hash says.
func bootstrapParameters(pod *corev1.Pod) (string, bool) {
	return podEnv(pod, "BOOTSTRAP_PARAMETERS")
}

// podEnv is the value of the postgres container's variable name.
func podEnv(pod *corev1.Pod, name string) (string, bool) {
	if c := podPostgresContainer(pod); c != nil {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value, true
			}
		}
	}
	return "", false
}

// podSeedSpec and seedSpec identify the spec a seed pod was built from,
// and the spec a seed pod built now would have.
func podSeedSpec(pod *corev1.Pod) string {
	params, _ := bootstrapParameters(pod)
	return pod.Annotations[SpecHashAnnotation] + "\n" + params
}

func seedSpec(in planInput) string {
	params := "" // only an initdb seed carries BOOTSTRAP_PARAMETERS
	if seedBootstrap(in.cluster) == BootstrapInitdb {
		params = renderedParameters(in.cluster)
	}
	return podSpecHash(in.cluster, in.image) + "\n" + params
}

// planRetriedSeed handles a seed whose failed pod the actor deleted to
// retry it: if the spec changed before the pod is made again, its volume
// (where initdb may have written the old parameters) is replaced too.
func planRetriedSeed(in planInput, seed *member) (action, bool) {
	was, ok := in.seedRetriedWith[seed.name]
	if !ok || was == seedSpec(in) {
		return action{}, false
	}
	return action{kind: actReplaceSeed, member: seed.name, reason: fmt.Sprintf(
		"the seed %s failed before it initialised and the spec has changed since: deleting its volume to start afresh; %s",
		seed.name, noDataLost)}, true
}

// seedWait explains what the seed is waiting for.
func seedWait(in planInput, seed *member) action {
	a := action{kind: actWait, member: seed.name, reason: fmt.Sprintf("waiting for the seed %s to initialise", seed.name)}
	if seed.hasPod() && podNeverStarted(seed.pod) {
		a.reason += ": its pod has not started (" + whyNotStarted(seed) + ")"
	}
	if n := in.restarts[seed.name]; n > 0 {
		a.reason += fmt.Sprintf(" (it failed before: %s in a row)", failuresText(n))
	}
	return seedFailing(a, seed.name, in.restarts[seed.name])
}

func failuresText(n int) string {
	if n == 1 {
		return "1 failure"
	}
	return fmt.Sprintf("%d failures", n)
}
