package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAlterSystemStatements(t *testing.T) {
	current := map[string]string{"work_mem": "4MB", "max_connections": "100", "old": "x"}
	set := map[string]string{
		"work_mem":                  "4MB", // unchanged: no statement
		"max_connections":           "200",
		"synchronous_standby_names": `ANY 1 ("a","b")`,
		"search_path":               `'$user', public`,
		"log_line_prefix":           `%m \x`,
	}
	got := alterSystemStatements(current, set, []string{"old", "missing", "old"})
	assert.Equal(t, []string{
		`ALTER SYSTEM SET log_line_prefix =  E'%m \\x'`,
		`ALTER SYSTEM SET max_connections = '200'`,
		`ALTER SYSTEM SET search_path = '''$user'', public'`,
		`ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 ("a","b")'`,
		`ALTER SYSTEM RESET old`,
	}, got)
	assert.Empty(t, alterSystemStatements(current, map[string]string{"work_mem": "4MB"}, []string{"missing"}))
	assert.Equal(t, []string{`ALTER SYSTEM SET new = ''`}, alterSystemStatements(current, map[string]string{"new": ""}, nil))
}

func TestNormalizeParams(t *testing.T) {
	set, reset, err := normalizeParams(map[string]string{"Work_Mem": "1MB"}, []string{"Shared_Buffers"})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"work_mem": "1MB"}, set)
	assert.Equal(t, []string{"shared_buffers"}, reset)

	_, _, err = normalizeParams(map[string]string{"work_mem = 1; DROP": "x"}, nil)
	assert.Error(t, err)
	_, _, err = normalizeParams(nil, []string{"bad name"})
	assert.Error(t, err)
	_, _, err = normalizeParams(map[string]string{"work_mem": "1MB"}, []string{"WORK_MEM"})
	assert.ErrorContains(t, err, "both set and reset")
}
