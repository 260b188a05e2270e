//go:build e2e

package e2e

import (
	"strings"
	"time"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// pauseLimit bounds a primary's freeze when no other member is ever
// labelled primary: the fault must end for the cluster to converge.
const pauseLimit = 90 * time.Second

// Opt-in (CHAOS_ONLY=pause-primary): in a CI run the primary was thawed
// after the operator had promoted past it at its self-fence deadline, with
// its pod's deletion not yet carried out, and it answered as a primary
// beside the new one for 2m43s (sync mode: no commit acknowledged). A
// kubelet stops the liveness probes of a deleted pod, so the self-fence
// was off; the operator now waits for a connected kubelet's confirmation
// (TestFrozenPrimaryWaitsForTheKubelet). A kubelet that takes minutes to
// kill the frozen container makes this failover take as long, past the
// suite's convergence limit, so the fault stays out of the default suites.
//
// injectPausePrimary freezes the primary's container (a stalled VM, a
// stuck disk: its processes stop without dying, its sockets stay open and
// its fence probe cannot run) and thaws it once another member is
// labelled primary. That is the moment a thawed old primary could take
// writes beside the new one: the clients' commits sent during the freeze
// wait in its sockets.
func injectPausePrimary(e *chaosEnv) (injected, error) {
	return e.hitPrimary(func(p framework.MemberView) (string, error) {
		cid, err := e.containerID(p.Name)
		if err != nil {
			return "", err
		}
		if err := e.f.PauseContainer(cid); err != nil {
			return "", err
		}
		thawed := make(chan struct{})
		go func() {
			defer close(thawed)
			e.waitOtherPrimary(p.Name, pauseLimit)
			err := e.f.ResumeContainer(cid)
			switch {
			case err != nil && strings.Contains(err.Error(), "not found"):
				// runc thaws a frozen container to deliver SIGKILL: the
				// fence's pod deletion ended it before the promotion.
				e.t.Logf("%s's frozen container was killed by its pod's deletion before another member was promoted", p.Name)
			case err != nil:
				e.t.Logf("thawing %s: %v", p.Name, err)
			default:
				e.t.Logf("%s thawed after another member was promoted", p.Name)
			}
		}()
		e.t.Cleanup(func() { <-thawed })
		return p.UID, nil
	})
}

// waitOtherPrimary returns once a member other than old is labelled
// primary, or after limit.
func (e *chaosEnv) waitOtherPrimary(old string, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if p, err := e.f.PrimaryPod(e.ns, chaosCluster); err == nil && p != old {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
