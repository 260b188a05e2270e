package postgres

import (
	"errors"
	"testing"

	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
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
	got := sqlOf(alterSystemStatements(current, set, []string{"old", "missing", "old"}))
	assert.Equal(t, []string{
		`ALTER SYSTEM SET log_line_prefix =  E'%m \\x'`,
		`ALTER SYSTEM SET max_connections = '200'`,
		`ALTER SYSTEM SET search_path = '''$user'', public'`,
		`ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 ("a","b")'`,
		`ALTER SYSTEM RESET old`,
	}, got)
	assert.Empty(t, alterSystemStatements(current, map[string]string{"work_mem": "4MB"}, []string{"missing"}))
	assert.Equal(t, []alterStmt{{name: "new", sql: `ALTER SYSTEM SET new = ''`}}, alterSystemStatements(current, map[string]string{"new": ""}, nil))
	assert.Equal(t, []alterStmt{{name: "old", reset: true, sql: `ALTER SYSTEM RESET old`}}, alterSystemStatements(current, nil, []string{"old"}))
}

func sqlOf(stmts []alterStmt) []string {
	out := make([]string, len(stmts))
	for i, st := range stmts {
		out[i] = st.sql
	}
	return out
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

func TestSettingRefused(t *testing.T) {
	for code, want := range map[string]bool{
		"22023": true,  // invalid_parameter_value: shared_buffers = 'banana'
		"42704": true,  // undefined_object: an unknown setting
		"42602": true,  // invalid_name: a reserved custom prefix
		"55P02": true,  // cant_change_runtime_param: data_directory
		"08006": false, // connection_failure: the server, not the setting
		"53100": false, // disk_full: the same statement may work later
		"57014": false, // query_canceled: our timeout
	} {
		_, got := settingRefused(&pq.Error{Code: pqerror.Code(code)})
		assert.Equal(t, want, got, code)
	}
	_, got := settingRefused(errors.New("connection reset"))
	assert.False(t, got)
	_, got = settingRefused(nil)
	assert.False(t, got)
}

func TestRejectedError(t *testing.T) {
	bad := &pq.Error{Code: "22023", Message: `invalid value for parameter "shared_buffers": "banana"`, Hint: `Valid units are "kB".`}
	rej := &RejectedError{Rejected: []Rejection{
		newRejection(alterStmt{name: "shared_buffers", value: "banana"}, bad),
		newRejection(alterStmt{name: "old", reset: true}, &pq.Error{Code: "42704", Message: `unrecognized configuration parameter "old"`}),
	}}
	err := invalidArgument("set parameters", Endpoint{Host: "h", Port: 5432}, rej)
	assert.Equal(t, `postgres set parameters h:5432: server refused shared_buffers = 'banana': `+
		`invalid value for parameter "shared_buffers": "banana" (Valid units are "kB".); `+
		`RESET old: unrecognized configuration parameter "old"`, err.Error())
	assert.Same(t, rej, AsRejected(err))
	assert.Equal(t, "22023", SQLState(err), "the server's errors stay reachable")
	assert.False(t, IsUnreachable(err))
	assert.Nil(t, AsRejected(errors.New("other")))
}
