package pgsim

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizeKeepsQuotedTextIntact(t *testing.T) {
	assert.Equal(t, `SELECT a FROM b WHERE c = 'x  y' AND "q  r" = 1`,
		normalize("\n\tSELECT a\n  FROM b WHERE c = 'x  y'\n AND \"q  r\" = 1 ;\n"))
	assert.Equal(t, `SET x = E'a\'  b'`, normalize(`SET   x = E'a\'  b'`))
}

func TestSplitStatementsHonoursQuotesAndComments(t *testing.T) {
	script := "CREATE TABLE t (n text DEFAULT 'a;b');\n-- one; two\nDO $f$ BEGIN PERFORM 1; END $f$;\n/* x; */ INSERT INTO t VALUES ($$;$$);;"
	got := splitStatements(script)
	require.Len(t, got, 3)
	assert.True(t, strings.HasPrefix(got[0], "CREATE TABLE"))
	assert.Contains(t, got[1], "DO $f$ BEGIN PERFORM 1; END $f$")
	assert.Contains(t, got[2], "INSERT INTO t VALUES ($$;$$)")
	assert.Empty(t, splitStatements(" ; -- nothing\n"))
}

func TestParamCount(t *testing.T) {
	assert.Equal(t, 2, paramCount(`SELECT $1 || '$3', x FROM y WHERE z = ANY($2)`))
	assert.Equal(t, 0, paramCount(`SELECT a$1 FROM b`))
}

func TestTextArraysRoundTrip(t *testing.T) {
	items := []string{"plain", "with space", `quo"te`, `back\slash`, "", "NULL", "a,b"}
	got, err := parseTextArray(textArray(items))
	require.NoError(t, err)
	assert.Equal(t, items, got)
	got, err = parseTextArray("{a,b}")
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, got)
	got, err = parseTextArray("{}")
	require.NoError(t, err)
	assert.Empty(t, got)
	_, err = parseTextArray(`{"open`)
	assert.Error(t, err)
}

func TestServerNames(t *testing.T) {
	for name, want := range map[string]string{
		"demo-rw.ns1.svc":                "ns1/demo",
		"demo-ro.ns1":                    "ns1/demo",
		"my-db-rw.ns1.svc.cluster.local": "ns1/my-db",
		"demo-rw":                        "",
		"demo.ns1.svc":                   "",
		"10.0.0.7":                       "",
	} {
		assert.Equal(t, want, clusterOf(name), name)
	}
	names := dnsNames(serverName{namespace: "ns1", cluster: "demo"})
	assert.Contains(t, names, "demo-rw.ns1.svc")
	assert.Contains(t, names, "demo-ro.ns1.svc.cluster.local")
}

func TestRoleStatementsParse(t *testing.T) {
	v, ok := parsed(parseRoleStatement("create"))(normalize(`CREATE ROLE "we""ird" LOGIN NOSUPERUSER CONNECTION LIMIT -1 PASSWORD  E'a\\b'`))
	require.True(t, ok)
	st := v.(roleStatement)
	assert.Equal(t, `we"ird`, st.name)
	r := &role{}
	require.NoError(t, applyOptions(r, st.options))
	assert.True(t, r.login)
	assert.Equal(t, int64(-1), r.connLimit)
	assert.True(t, strings.HasPrefix(*r.verifier, "SCRAM-SHA-256$"), "a plaintext password is stored as a verifier")
	_, ok = parsed(parseRoleStatement("create"))("CREATE ROLE x SOMETHING")
	assert.False(t, ok)
}
