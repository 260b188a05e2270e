package v1alpha1

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// nameSchema is the schema of one name field in the generated CRD.
type nameSchema struct {
	Pattern     string `json:"pattern"`
	MaxLength   int    `json:"maxLength"`
	Validations []struct {
		Rule string `json:"rule"`
	} `json:"x-kubernetes-validations"`
}

// crdSpec returns spec's schema from the generated CRD, as plain maps.
func crdSpec(t *testing.T) map[string]any {
	t.Helper()
	data, err := os.ReadFile(crdPath)
	require.NoError(t, err)
	var crd map[string]any
	require.NoError(t, yaml.Unmarshal(data, &crd))
	return dig(t, crd, "spec", "versions", 0, "schema", "openAPIV3Schema", "properties", "spec")
}

func dig(t *testing.T, v any, path ...any) map[string]any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			v = v.(map[string]any)[k]
		case int:
			v = v.([]any)[k]
		}
		require.NotNil(t, v, "%v", path)
	}
	return v.(map[string]any)
}

func nameAt(t *testing.T, spec map[string]any, path ...any) nameSchema {
	t.Helper()
	var out nameSchema
	b, err := json.Marshal(dig(t, spec, path...))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

// The CRD's name rules (markers in roles.go, which cannot name Go
// constants) spell exactly NamePattern and the reserved lists that
// ValidateRoleName and ValidateDatabaseName use.
func TestNameRulesMatchTheCRD(t *testing.T) {
	spec := crdSpec(t)
	roles := []nameSchema{
		nameAt(t, spec, "properties", "roles", "items", "properties", "name"),
		nameAt(t, spec, "properties", "bootstrap", "properties", "initdb", "properties", "owner"),
	}
	dbs := []nameSchema{
		nameAt(t, spec, "properties", "databases", "items", "properties", "name"),
		nameAt(t, spec, "properties", "bootstrap", "properties", "initdb", "properties", "database"),
	}
	for _, s := range append(roles, dbs...) {
		assert.Equal(t, NamePattern, s.Pattern)
		assert.Equal(t, 63, s.MaxLength)
		require.Len(t, s.Validations, 1)
	}
	for _, s := range roles {
		assert.Equal(t, ReservedRoleNames, celStrings(t, s.Validations[0].Rule))
		assert.Contains(t, s.Validations[0].Rule, "!self.startsWith('pg_')")
	}
	for _, s := range dbs {
		assert.Equal(t, ReservedDatabaseNames, celStrings(t, s.Validations[0].Rule))
	}
	ext := dig(t, spec, "properties", "databases", "items", "properties", "extensions", "items")
	assert.Equal(t, ExtensionPattern, ext["pattern"])
}

func celStrings(t *testing.T, rule string) []string {
	t.Helper()
	m := celList.FindStringSubmatch(rule)
	require.NotNil(t, m, rule)
	var out []string
	for _, q := range regexp.MustCompile(`'([^']*)'`).FindAllStringSubmatch(m[1], -1) {
		out = append(out, q[1])
	}
	return out
}

func TestValidateNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"app": true, "etl_job": true, "read-only": true, "a1": true, "a": true,
		"": false, "App": false, "1a": false, "a_": false, "-a": false, "postgres": false, "replicator": false,
		"pg_monitor": false, "public": false, "a b": false, string(make([]byte, 64)): false,
	} {
		assert.Equal(t, ok, ValidateRoleName(name) == nil, "%q", name)
	}
	assert.NoError(t, ValidateDatabaseName("pg_data"), "pg_ is reserved for roles only")
	assert.Error(t, ValidateDatabaseName("template0"))
	assert.Error(t, ValidateDatabaseName("postgres"))
}

func TestAppDefaults(t *testing.T) {
	var s PostgresClusterSpec
	assert.Equal(t, "app", s.AppDatabase())
	assert.Equal(t, "app", s.AppOwner())
	assert.Nil(t, s.InitSQL())
	s.Bootstrap = &BootstrapSpec{Initdb: &InitdbSpec{Owner: "shop", DatabaseInitSQL: []SQLRef{{ConfigMap: "c", Key: "k"}}}}
	assert.Equal(t, "app", s.AppDatabase())
	assert.Equal(t, "shop", s.AppOwner())
	assert.Len(t, s.InitSQL(), 1)
}
