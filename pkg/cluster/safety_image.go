package cluster

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// imageMismatchPrefix starts the termination message member.sh's
// check_major writes when the image's PostgreSQL major version is not the
// cluster's. The member exits before touching its data, so the members
// still on the old image keep running and the roll stops (planRoll waits
// for every member to be healthy).
const imageMismatchPrefix = "image-major-mismatch: "

// imageNotices reports a member that refused its image: Degraded, and one
// Warning Event while it lasts.
func imageNotices(in planInput) []notice {
	for _, m := range in.obs.members {
		msg := imageMismatch(m.pod)
		if msg == "" {
			continue
		}
		return []notice{{
			condition: v1alpha1.ConditionDegraded,
			status:    metav1.ConditionTrue,
			reason:    "ImageVersionMismatch",
			message: fmt.Sprintf("%s did not start: %s; the other members keep running on their image. "+
				"Set spec.image to a PostgreSQL %d image", m.name, msg, in.cluster.Spec.PostgresVersion),
			key: "image/" + m.name + "/" + msg,
		}}
	}
	return nil
}

// imageMismatch returns what check_major said when the member's postgres
// container last exited because of its image, or "".
func imageMismatch(pod *corev1.Pod) string {
	if pod == nil {
		return ""
	}
	cs := postgresContainerStatus(pod)
	if cs == nil {
		return ""
	}
	for _, t := range []*corev1.ContainerStateTerminated{cs.State.Terminated, cs.LastTerminationState.Terminated} {
		if t != nil && strings.HasPrefix(t.Message, imageMismatchPrefix) {
			return strings.TrimSpace(strings.TrimPrefix(t.Message, imageMismatchPrefix))
		}
	}
	return ""
}
