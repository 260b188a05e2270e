package cluster

import (
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"postgres-operator.dev/postgres-operator/pkg/apis/postgres/v1alpha1"
)

// Every setting member.sh passes on the postgres command line is one the
// API refuses in spec.parameters: the command line would silently win over
// the user's value, or the user's value would break the member.
func TestMemberScriptSettingsAreOwned(t *testing.T) {
	script, err := os.ReadFile("member.sh")
	require.NoError(t, err)
	options := regexp.MustCompile(`(?m)-c ([a-z_.]+)=`).FindAllStringSubmatch(string(script), -1)
	require.NotEmpty(t, options, "member.sh passes settings with -c name=value")
	for _, m := range options {
		assert.True(t, v1alpha1.IsOwnedParameter(m[1]), "member.sh sets %s: add it to v1alpha1.OwnedParameters", m[1])
	}
}

// The settings the operator writes over SQL are owned, so applyParameters
// never resets them.
func TestSQLSettingsAreOwned(t *testing.T) {
	for name := range sqlOwnedParameters {
		assert.True(t, v1alpha1.IsOwnedParameter(name), name)
	}
	assert.True(t, sqlOwnedParameters["synchronous_standby_names"])
}
