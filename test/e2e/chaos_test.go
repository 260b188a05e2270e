//go:build e2e

package e2e

import (
	"flag"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"postgres-operator.dev/postgres-operator/test/e2e/framework"
)

// The randomized run: CHAOS_FAULTS (or -chaos.faults) faults; opt-in, as
// CI's time budget is spent on TestChaosSync and TestChaosAsync, which run
// every fault in both modes. The long run is e.g.
//
//	CHAOS_FAULTS=100 go test -tags e2e -timeout 3h -run TestChaosRandom ./test/e2e/
//
// CHAOS_SEED (or -chaos.seed) replays a run; the seed is printed either way.
var (
	chaosFaultCount = flag.Int("chaos.faults", envInt("CHAOS_FAULTS", 0), "faults in TestChaosRandom")
	chaosSeed       = flag.Int64("chaos.seed", int64(envInt("CHAOS_SEED", 0)), "seed of TestChaosRandom (0: from the clock)")
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

// faultBudget is how much test time one more fault needs at worst; a run
// with less left stops early and fails, rather than being killed by the
// test timeout mid-fault (which would leave its namespace behind).
const faultBudget = 4 * time.Minute

// Every fault in sync mode on one cluster of 3 under write load: never two
// primaries, one primary writable again, all members streaming within 60 s,
// and no acknowledged commit lost.
func TestChaosSync(t *testing.T) {
	e := newChaosEnv(t, "chaos-sync", "sync", 1)
	for _, fault := range selectedFaults(t, chaosFaults) {
		if !e.timeLeft(fault.name) {
			return
		}
		e.runFault(fault)
	}
}

// Primary failures in async mode: the same promises except durability;
// commits lost in the replication lag are reported, not failed.
func TestChaosAsync(t *testing.T) {
	e := newChaosEnv(t, "chaos-async", "async", 2)
	subset := []chaosFault{faultByName(faultForceDeletePrimary), faultByName(faultKillPostmaster), faultByName(faultDeleteAll)}
	for _, fault := range selectedFaults(t, subset) {
		if !e.timeLeft(fault.name) {
			return
		}
		e.runFault(fault)
	}
}

// Random faults in random replication modes on one cluster (both modes in
// every run); the seed is printed and CHAOS_SEED replays it.
func TestChaosRandom(t *testing.T) {
	if *chaosFaultCount <= 0 {
		t.Skip("opt-in: CHAOS_FAULTS=N E2E_RUN=TestChaosRandom make test-e2e runs N random faults " +
			"(TestChaosSync and TestChaosAsync run every fault)")
	}
	seed := uint64(*chaosSeed)
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos seed %d (replay: CHAOS_SEED=%d CHAOS_FAULTS=%d)", seed, seed, *chaosFaultCount)
	e := newChaosEnv(t, "chaos-random", "sync", seed)
	for i := 0; i < *chaosFaultCount; i++ {
		fault := chaosFaults[e.rng.IntN(len(chaosFaults))]
		mode := randomMode(e, i)
		if !e.timeLeft(fault.name) {
			return
		}
		t.Logf("fault %d/%d: %s in %s mode", i+1, *chaosFaultCount, fault.name, mode)
		e.setMode(mode)
		e.runFault(fault)
	}
}

// randomMode picks a fault's replication mode: the first two faults run
// one in each mode, so every run covers both; the rest are random.
func randomMode(e *chaosEnv, i int) string {
	modes := []string{"sync", "async"}
	if i < len(modes) {
		return modes[i]
	}
	return modes[e.rng.IntN(len(modes))]
}

// selectedFaults is the suite's own list, or the faults CHAOS_ONLY names
// (comma separated), to replay one fault while debugging it.
func selectedFaults(t *testing.T, suite []chaosFault) []chaosFault {
	only := os.Getenv("CHAOS_ONLY")
	if only == "" {
		return suite
	}
	var out []chaosFault
	for _, name := range strings.Split(only, ",") {
		out = append(out, faultByName(name))
	}
	t.Logf("CHAOS_ONLY=%s: running only these faults", only)
	return out
}

// timeLeft fails the test when the go test timeout would cut the next fault.
func (e *chaosEnv) timeLeft(next string) bool {
	deadline, ok := e.t.Deadline()
	if ok && time.Until(deadline) < faultBudget {
		framework.Fail(e.t, "stopping before %s after %d faults: less than %s left before the test timeout (raise -timeout)",
			next, len(e.results), faultBudget)
		return false
	}
	return true
}
