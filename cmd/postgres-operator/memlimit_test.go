package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestContainerMemoryLimit(t *testing.T) {
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		assert.NoError(t, os.WriteFile(p, []byte(v), 0o600))
		return p
	}
	v2, unset, v1huge := write("v2", "268435456\n"), write("max", "max\n"), write("v1", "9223372036854771712\n")

	n, ok := containerMemoryLimit([]string{filepath.Join(dir, "missing"), v2})
	assert.True(t, ok)
	assert.EqualValues(t, 256<<20, n)
	_, ok = containerMemoryLimit([]string{unset, v2})
	assert.False(t, ok, "cgroup v2 without a limit")
	_, ok = containerMemoryLimit([]string{v1huge})
	assert.False(t, ok, "cgroup v1 without a limit")
	_, ok = containerMemoryLimit([]string{filepath.Join(dir, "missing")})
	assert.False(t, ok)
}

// The operator's GOGC is gcPercent unless the GOGC variable says otherwise.
func TestCollectorTarget(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "1GiB") // leave the test process's memory limit alone
	t.Setenv("GOGC", "")
	before := debug.SetGCPercent(100)
	defer debug.SetGCPercent(before)

	tuneCollector(context.Background())
	assert.Equal(t, gcPercent, debug.SetGCPercent(100), "unset: gcPercent")

	t.Setenv("GOGC", "100")
	tuneCollector(context.Background())
	assert.Equal(t, 100, debug.SetGCPercent(100), "set: left to the runtime, which read it at start")
}
