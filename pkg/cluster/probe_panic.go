package cluster

import (
	"context"
	"fmt"
	"runtime/debug"

	"k8s.io/klog/v2"
)

// recoverProbe, deferred in a probe goroutine, turns a panic there into the
// member's probe error. The controller recovers panics of the actor's own
// goroutine (and restarts it), but nothing can recover one in a goroutine
// the actor started: unrecovered, it would end the operator. A probe that
// panicked counts as failed, not as unreachable, so it never starts a
// failover by itself.
func recoverProbe(ctx context.Context, m *member) {
	v := recover()
	if v == nil {
		return
	}
	m.db, m.dbErr = nil, fmt.Errorf("probe panicked: %v", v)
	klog.FromContext(ctx).Error(m.dbErr, "Probe panicked", "member", m.name, "stack", string(debug.Stack()))
}
