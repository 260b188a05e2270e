package cluster

import (
	"fmt"
	"time"
)

// expectationTimeout is how long the actor trusts its own writes over the
// informer cache; past it the cache wins (the write may have been undone).
const expectationTimeout = 30 * time.Second

// expectation is a change the actor made that the listers must reflect
// before the next plan, as in the ReplicaSet controller: without it a pass
// right after creating a pod would not see it and create another.
type expectation struct {
	kind     string // "pod", "pvc" or "pdb"
	name     string
	present  bool // true: created, false: deleted
	deadline time.Time
}

type expectations struct{ items []expectation }

func (e *expectations) expect(kind, name string, present bool, now time.Time) {
	e.items = append(e.items, expectation{kind: kind, name: name, present: present, deadline: now.Add(expectationTimeout)})
}

// pending drops met or expired expectations and describes the first one
// still unmet, or returns "".
func (e *expectations) pending(now time.Time, l Listers, namespace string) string {
	kept := e.items[:0]
	for _, x := range e.items {
		if now.Before(x.deadline) && x.present != x.seen(l, namespace) {
			kept = append(kept, x)
		}
	}
	e.items = kept
	if len(kept) == 0 {
		return ""
	}
	verb := "deleted"
	if kept[0].present {
		verb = "created"
	}
	return fmt.Sprintf("%s %s %s", kept[0].kind, kept[0].name, verb)
}

// seen reports whether the lister has the object (a deleting one counts as
// seen for a creation, and as gone for a deletion).
func (x expectation) seen(l Listers, namespace string) bool {
	switch x.kind {
	case "pod":
		p, err := l.Pods.Pods(namespace).Get(x.name)
		return err == nil && (x.present || p.DeletionTimestamp == nil)
	case "pvc":
		v, err := l.PVCs.PersistentVolumeClaims(namespace).Get(x.name)
		return err == nil && (x.present || v.DeletionTimestamp == nil)
	case "pdb":
		_, err := l.PDBs.PodDisruptionBudgets(namespace).Get(x.name)
		return err == nil
	}
	return x.present // an unknown kind never holds a pass back
}
