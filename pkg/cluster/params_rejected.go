package cluster

import (
	"maps"
	"slices"
	"strings"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// Settings PostgreSQL refuses. SetParameters applies every other setting
// and returns the refused ones; the actor remembers them per member for the
// parameters fingerprint they were refused for. Applying the same
// fingerprint again cannot succeed, so the member counts as done (nothing
// waits on it: rolls, scaling, failover go on), the refusal shows in the
// Progressing condition, and one Warning Event tells the user. A new
// fingerprint (the spec changed) or a new pod of the member tries again.

// reasonParameterRejected is the Progressing condition's reason, and the
// Warning Event's, when PostgreSQL refused a setting of spec.parameters.
const reasonParameterRejected = "ParameterRejected"

// paramRejections is owned by the actor's goroutine; the zero value is ready.
type paramRejections struct {
	byMember map[string]memberRejections
	// announced holds the refusals already told in an Event for
	// announcedFor, so a refusal is announced once, not once per member or pass.
	announcedFor string
	announced    map[string]bool
}

type memberRejections struct {
	fingerprint string
	rejected    []postgres.Rejection
}

// record notes what a member refused for fingerprint (nothing: it accepted
// everything) and returns the refusals not announced yet.
func (r *paramRejections) record(member, fingerprint string, rejected []postgres.Rejection) []postgres.Rejection {
	if r.byMember == nil {
		r.byMember = map[string]memberRejections{}
	}
	if len(rejected) == 0 {
		delete(r.byMember, member)
		return nil
	}
	r.byMember[member] = memberRejections{fingerprint: fingerprint, rejected: rejected}
	if r.announcedFor != fingerprint {
		r.announcedFor, r.announced = fingerprint, map[string]bool{}
	}
	var fresh []postgres.Rejection
	for _, x := range rejected {
		if !r.announced[x.String()] {
			r.announced[x.String()] = true
			fresh = append(fresh, x)
		}
	}
	return fresh
}

// summary describes the refusals of the current members for fingerprint,
// or returns "". Entries of members that are gone are dropped.
func (r *paramRejections) summary(fingerprint string, ms members) string {
	seen := map[string]bool{}
	for name, mr := range r.byMember {
		if ms.byName(name) == nil {
			delete(r.byMember, name)
			continue
		}
		if mr.fingerprint != fingerprint {
			continue
		}
		for _, x := range mr.rejected {
			seen[x.String()] = true
		}
	}
	if len(seen) == 0 {
		return ""
	}
	return rejectionMessage(slices.Sorted(maps.Keys(seen)))
}

// rejectionMessage is the sentence users read in the condition and Event.
func rejectionMessage(refusals []string) string {
	return "PostgreSQL refused spec.parameters " + strings.Join(refusals, "; ") +
		"; the other settings are applied; fix or remove the refused ones to try again"
}

func rejectionStrings(rejected []postgres.Rejection) []string {
	out := make([]string, len(rejected))
	for i, x := range rejected {
		out[i] = x.String()
	}
	return out
}
