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
// writes on a failed exit (the step it was at; never a password). Empty
// when the container has not ended.
func exitDetail(pod *corev1.Pod) string {
	cs := postgresContainerStatus(pod)
	if cs == nil || cs.State.Terminated == nil {
		return ""
	}
	t := cs.State.Terminated
	msg, _, _ := strings.Cut(strings.TrimSpace(t.Message), "\n")
	if len(msg) > maxExitMessage {
		msg = msg[:maxExitMessage] + "…"
	}
	if msg == "" {
		return fmt.Sprintf(" (exit code %d)", t.ExitCode)
	}
	return fmt.Sprintf(" (exit code %d: %s)", t.ExitCode, msg)
}
