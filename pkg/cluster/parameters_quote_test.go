package cluster

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The configuration file parser (guc-file.l) reads a doubled quote as one and a
// backslash as the start of an escape; member_seed_integration_test.go reads
// these back through the real server.
func TestConfQuote(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", `''`},
		{"128MB", `'128MB'`},
		{"it's", `'it''s'`},
		{`a\b`, `'a\\b'`},
		{`\n is two characters`, `'\\n is two characters'`},
		{`ends in \`, `'ends in \\'`},
		{`\'`, `'\\'''`},
		{"line\nbreak", `'line\nbreak'`},
		{"cr\rtab\t", `'cr\rtab\t'`},
		{"bell\a7", `'bell\0077'`},
		{`"$user", public`, `'"$user", public'`},
		{"ünïcode", `'ünïcode'`},
	} {
		assert.Equal(t, tt.want, confQuote(tt.in), "%q", tt.in)
	}
}

func TestAutoConfIsOneLinePerSetting(t *testing.T) {
	got := autoConf(map[string]string{"b": "x\ny = 'z'", "a": `it's \ 1`})
	assert.Equal(t, "a = 'it''s \\\\ 1'\nb = 'x\\ny = ''z'''\n", got)
	assert.Len(t, strings.Split(strings.TrimSuffix(got, "\n"), "\n"), 2)
}
