//go:build integration

package cluster

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var checkMajorFunc = regexp.MustCompile(`(?s)\ncheck_major\(\) \{\n.*?\n\}\n`)

// check_major with the machine's PostgreSQL 15 binaries: a member refuses
// to start, with a termination message the operator reads, when the image
// is not the cluster's major version or not its data directory's.
func TestCheckMajor(t *testing.T) {
	fn := checkMajorFunc.FindString(memberScript)
	require.NotEmpty(t, fn, "check_major not found in member.sh")
	for _, tc := range []struct {
		name, want, dataVersion string
		refused                 bool
	}{
		{"the cluster's version", "15", "", false},
		{"the cluster's version, on its data", "15", "15", false},
		{"another major for a new member", "16", "", true},
		{"data of another major", "15", "14", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSeedEnv(t)
			root := t.TempDir()
			pgdata := filepath.Join(root, "pgdata")
			require.NoError(t, os.MkdirAll(pgdata, 0o755))
			if tc.dataVersion != "" {
				require.NoError(t, os.WriteFile(filepath.Join(pgdata, "PG_VERSION"), []byte(tc.dataVersion+"\n"), 0o644))
			}
			termLog := filepath.Join(root, "termination-log")
			script := "set -eu\nlog() { echo \"member test: $*\"; }\n" + fn + "check_major\necho started\n"
			cmd := e.command([]string{"PGDATA=" + pgdata, "POSTGRES_MAJOR=" + tc.want, "TERMINATION_LOG=" + termLog}, "/bin/sh", "-c", script)
			cmd.SysProcAttr = nil // nothing is written in the data directory: run as whoever runs the test
			out, err := cmd.CombinedOutput()
			if !tc.refused {
				require.NoError(t, err, "%s", out)
				assert.Contains(t, string(out), "started")
				return
			}
			require.Error(t, err)
			assert.NotContains(t, string(out), "started")
			msg, readErr := os.ReadFile(termLog)
			require.NoError(t, readErr)
			assert.Regexp(t, `^`+imageMismatchPrefix+`the image runs PostgreSQL 15, the cluster is PostgreSQL \d+ and its data directory \d+`, string(msg))
			assert.NotEmpty(t, imageMismatch(podTerminatedWith(string(msg))), "the operator reads it")
		})
	}
}
