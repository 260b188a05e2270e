package postgres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSlotName(t *testing.T) {
	for in, want := range map[string]string{
		"demo-12":               "demo_12",
		"demo-0":                "demo_0",
		"Demo-1":                "demo_1",
		"a.b-c_d":               "a_b_c_d",
		"pg-ümlaut":             "pg___mlaut", // each non-ASCII byte becomes '_'
		strings.Repeat("x", 70): strings.Repeat("x", 63),
	} {
		got := SlotName(in)
		assert.Equal(t, want, got, in)
		assert.NoError(t, validateSlotName(got), in)
	}
}

func TestValidateSlotName(t *testing.T) {
	assert.NoError(t, validateSlotName("demo_1"))
	for _, bad := range []string{"", "demo-1", "Demo", "a b", "x'; DROP", strings.Repeat("a", 64)} {
		assert.Error(t, validateSlotName(bad), "%q", bad)
	}
}

func TestSyncStandbyNames(t *testing.T) {
	assert.Equal(t, `ANY 1 ("demo-1","demo-2")`, SyncStandbyNames(1, []string{"demo-2", "demo-1"}))
	assert.Equal(t, `ANY 2 ("a","b","c")`, SyncStandbyNames(2, []string{"c", "a", "b", "a"}))
	// Quotes inside a name are doubled, as the syncrep parser expects.
	assert.Equal(t, `ANY 1 ("we""ird","x y")`, SyncStandbyNames(1, []string{`we"ird`, "x y"}))
	// k is capped so commits never wait for standbys that do not exist.
	assert.Equal(t, `ANY 1 ("only")`, SyncStandbyNames(3, []string{"only"}))
	assert.Equal(t, "", SyncStandbyNames(0, []string{"a"}))
	assert.Equal(t, "", SyncStandbyNames(1, nil))
}

func TestSyncStandbyNamesDoesNotModifyInput(t *testing.T) {
	in := []string{"b", "a"}
	SyncStandbyNames(1, in)
	assert.Equal(t, []string{"b", "a"}, in)
}

func TestNormalizeParamName(t *testing.T) {
	for in, want := range map[string]string{
		"work_mem":               "work_mem",
		"Work_Mem":               "work_mem",
		"pg_stat_statements.max": "pg_stat_statements.max",
		"_x":                     "_x",
	} {
		got, err := normalizeParamName(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, bad := range []string{"", "1abc", "work mem", "work_mem; DROP TABLE x", `"work_mem"`, "a.b.c", "a.", ".a", "work-mem", "wörk"} {
		_, err := normalizeParamName(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func TestValidateRoleName(t *testing.T) {
	for _, ok := range []string{"postgres", "replicator", "Mixed Case", `we"ird`, strings.Repeat("r", 63)} {
		assert.NoError(t, validateRoleName(ok), ok)
	}
	for _, bad := range []string{"", "a\x00b", strings.Repeat("r", 64)} {
		assert.Error(t, validateRoleName(bad), "%q", bad)
	}
}
