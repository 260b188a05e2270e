package cluster

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/postgres"
)

// member.sh raises on a standby the very settings the operator lowers on
// the primary first (postgres.StandbyCheckedSettings): a setting missing
// from either list wedges a replica when it is lowered.
func TestMemberRaisesEveryStandbyCheckedSetting(t *testing.T) {
	loop := regexp.MustCompile(`(?s)raise_to_primary_settings\(\) \{.*?for pair in (.*?); do`).FindStringSubmatch(memberScript)
	require.NotNil(t, loop, "member.sh's raise_to_primary_settings loop")
	var names []string
	for _, pair := range strings.Fields(strings.ReplaceAll(loop[1], "\\", " ")) {
		name, _, ok := strings.Cut(pair, ":")
		require.True(t, ok, "name:pg_controldata-field pairs, got %q", pair)
		names = append(names, name)
	}
	slices.Sort(names)
	assert.Equal(t, postgres.StandbyCheckedSettings, names)
}
