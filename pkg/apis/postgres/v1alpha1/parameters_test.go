package v1alpha1

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/util/yaml"
)

const crdPath = "../../../../manifests/crd/postgres-operator.dev_postgresclusters.yaml"

// parametersSchema is spec.parameters in the generated CRD.
type parametersSchema struct {
	AdditionalProperties struct {
		MaxLength int `json:"maxLength"`
	} `json:"additionalProperties"`
	Validations []struct {
		Rule    string `json:"rule"`
		Message string `json:"message"`
	} `json:"x-kubernetes-validations"`
}

func readParametersSchema(t *testing.T) parametersSchema {
	t.Helper()
	data, err := os.ReadFile(crdPath)
	require.NoError(t, err)
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema struct {
						Properties struct {
							Spec struct {
								Properties struct {
									Parameters parametersSchema `json:"parameters"`
								} `json:"properties"`
							} `json:"spec"`
						} `json:"properties"`
					} `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	require.NoError(t, yaml.Unmarshal(data, &crd))
	require.Len(t, crd.Spec.Versions, 1)
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema.Properties.Spec.Properties.Parameters
}

var (
	celMatches = regexp.MustCompile(`matches\('([^']*)'\)`)
	celList    = regexp.MustCompile(`\[('[^\]]*)\]`) // a list of strings, not a regexp class
)

// The CRD's rules on spec.parameters (markers in types.go, which cannot
// name Go constants) spell exactly ParameterNamePattern, OwnedParameters
// and MaxParameterValueLength.
func TestCRDParameterRulesMatchGo(t *testing.T) {
	s := readParametersSchema(t)
	assert.Equal(t, MaxParameterValueLength, s.AdditionalProperties.MaxLength, "maxLength of a value")

	var patterns []string
	lists := 0
	for _, v := range s.Validations {
		for _, m := range celMatches.FindAllStringSubmatch(v.Rule, -1) {
			patterns = append(patterns, m[1])
		}
		for _, m := range celList.FindAllStringSubmatch(v.Rule, -1) {
			lists++
			var names []string
			for _, n := range strings.Split(m[1], ",") {
				names = append(names, strings.Trim(strings.TrimSpace(n), "'"))
			}
			assert.Equal(t, OwnedParameters, names, "the CEL list of owned settings is OwnedParameters, in order")
			_, listed, ok := strings.Cut(v.Message, "owns: ")
			assert.True(t, ok, "the message names the owned settings: %q", v.Message)
			assert.Equal(t, strings.Join(OwnedParameters, ", "), listed, "the message lists OwnedParameters")
		}
	}
	assert.Equal(t, 1, lists, "one rule lists the owned settings")
	assert.ElementsMatch(t, []string{ParameterNamePattern, parameterValueForbidden}, patterns,
		"the name and value rules match with the Go patterns")
}

// The CRD rule and the operator judge names alike. CEL's matches() is RE2,
// as Go's regexp is, so compiling the CRD's own text here is what the API
// server runs.
func TestParameterNames(t *testing.T) {
	crdName := regexp.MustCompile(celMatches.FindStringSubmatch(readParametersSchema(t).Validations[0].Rule)[1])
	long := strings.Repeat("x", 63)
	for name, ok := range map[string]bool{
		"work_mem":                             true,
		"pg_stat_statements.max":               true,
		"_private":                             true,
		"auto_explain.log_min_duration":        true,
		long:                                   true,
		long + "." + long:                      true,
		long + "x":                             false, // ALTER SYSTEM would truncate it
		"a.b.c":                                false, // the configuration file parser refuses it
		"a..b":                                 false,
		".a":                                   false,
		"a.":                                   false,
		"Work_Mem":                             false, // the server lower-cases: two spellings of one setting
		"work mem":                             false,
		"work-mem":                             false,
		"1st":                                  false,
		"a.1b":                                 false,
		"":                                     false,
		"work_mem\n":                           false,
		"work_mem=1; shared_preload_libraries": false,
	} {
		assert.Equal(t, ok, crdName.MatchString(name), "CRD rule on %q", name)
		assert.Equal(t, ok, ValidateParameter(name, "1") == nil, "ValidateParameter(%q)", name)
	}
}

func TestParameterValues(t *testing.T) {
	for value, ok := range map[string]bool{
		"4MB":                       true,
		"%m [%p] %q%u@%d ":          true,
		`C:\path\`:                  true, // a backslash is quoted, not refused
		"it's":                      true,
		"é ünïcode":                 true,
		strings.Repeat("x", 4096):   true,
		strings.Repeat("x", 4097):   false,
		"4MB\nlisten_addresses='*'": false,
		"4MB\\\nport=1":             false,
		"a\rb":                      false,
		"tab\there":                 false,
		"nul\x00":                   false,
		"del\x7f":                   false,
		"\x01":                      false,
	} {
		assert.Equal(t, ok, ValidateParameter("application_name", value) == nil, "value %q", value)
	}
}

func TestOwnedParameters(t *testing.T) {
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(OwnedParameters))), len(OwnedParameters), "no duplicates")
	for _, name := range OwnedParameters {
		assert.True(t, IsOwnedParameter(name))
		assert.ErrorContains(t, ValidateParameter(name, "x"), "set by the operator")
	}
	for _, name := range []string{"archive_cleanup_command", "recovery_end_command", "synchronous_standby_names"} {
		assert.True(t, IsOwnedParameter(name), name)
	}
	assert.False(t, IsOwnedParameter("work_mem"))
}
