package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxExitMessage bounds the termination message quoted in a reason: it
// goes to the operator's log and to an Event.
const maxExitMessage = 200

// exitDetail says how the member's postgres container last ended: its exit
// code and the first line of its termination message, which member.sh
// writes on a failed exit (the step it was at; never a password), or the
// memory limit the kernel killed it for. Empty when the container has not
// ended, or the pod is gone.
func exitDetail(pod *corev1.Pod) string {
	cs := postgresContainerStatus(pod)
	if cs == nil || cs.State.Terminated == nil {
		return ""
	}
	t := cs.State.Terminated
	if t.Reason == oomKilled {
		return fmt.Sprintf(" (exit code %d: OOMKilled, %s)", t.ExitCode, overMemoryLimit(pod))
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(t.Message), "\n")
	if len(msg) > maxExitMessage {
		msg = msg[:maxExitMessage] + "…"
	}
	if msg == "" {
		return fmt.Sprintf(" (exit code %d)", t.ExitCode)
	}
	return fmt.Sprintf(" (exit code %d: %s)", t.ExitCode, msg)
}

// oomKilled is the kubelet's reason for a container the kernel killed for
// its memory cgroup's limit.
const oomKilled = "OOMKilled"

// overMemoryLimit names the limit an OOMKilled member ran over, and where
// the user raises it (a PostgreSQL needs its shared_buffers and more).
func overMemoryLimit(pod *corev1.Pod) string {
	if c := podPostgresContainer(pod); c != nil {
		if lim, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
			return fmt.Sprintf("it used more than its memory limit %s: raise spec.resources.limits.memory, "+
				"or lower shared_buffers in spec.parameters", lim.String())
		}
	}
	return "the node ran out of memory"
}
