package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
)

// exitTrap is member.sh from its STEP variable to the EXIT trap.
var exitTrap = regexp.MustCompile(`(?s)\nSTEP="starting"\n.*?\ntrap on_exit EXIT\n`)

// member.sh leaves the step it failed at as the termination message, keeps
// one check_major wrote, and writes nothing on a clean exit; the operator
// quotes it when it replaces the pod.
func TestMemberExitLeavesItsStep(t *testing.T) {
	block := exitTrap.FindString(memberScript)
	require.NotEmpty(t, block, "the exit trap not found in member.sh")
	for _, tc := range []struct {
		name, body, before, want string
	}{
		{"a failing step", `log "cloning from demo-rw"; false`, "", "exit status 1 while: cloning from demo-rw\n"},
		{"a message already written", `exit 3`, "image-major-mismatch: x\n", "image-major-mismatch: x\n"},
		{"a clean exit", `log "done"; exit 0`, "", ""},
		{"a full volume", `log "running postgres"; exit 1`, "", "exit status 1 while: running postgres; " +
			"the volume is full (120 kB free): grow spec.storage.size\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			termLog := filepath.Join(dir, "termination-log")
			require.NoError(t, os.WriteFile(termLog, []byte(tc.before), 0o600))
			cmd := exec.Command("/bin/sh", "-c", "set -eu\n"+block+tc.body+"\n")
			cmd.Env = []string{"POD_NAME=demo-2", "TERMINATION_LOG=" + termLog, "PATH=" + fakeDF(t, tc.name == "a full volume") + ":/usr/bin:/bin"}
			if tc.name == "a full volume" {
				cmd.Env = append(cmd.Env, "PGDATA="+dir)
			}
			out, err := cmd.CombinedOutput()
			if tc.want == "" {
				require.NoError(t, err, "%s", out)
			} else {
				require.Error(t, err, "the exit status is kept")
			}
			got, err := os.ReadFile(termLog)
			require.NoError(t, err)
			assert.Equal(t, tc.want, string(got))
		})
	}
}

// fakeDF is a directory with a df that reports 120 kB free on a full
// volume, and 1 GB free otherwise.
func fakeDF(t *testing.T, full bool) string {
	dir := t.TempDir()
	free := "1048576"
	if full {
		free = "120"
	}
	script := "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n" +
		"echo \"/dev/sdb 1048576 1000 " + free + " 99% /pgdata\"\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "df"), []byte(script), 0o755))
	return dir
}

func TestExitDetail(t *testing.T) {
	assert.Empty(t, exitDetail(&corev1.Pod{}), "no container status")
	assert.Equal(t, " (exit code 3: exit status 3 while: cloning from demo-rw)",
		exitDetail(podTerminatedWith("exit status 3 while: cloning from demo-rw\nsecond line")))
	long := exitDetail(podTerminatedWith(strings.Repeat("x", 500)))
	assert.Less(t, len(long), 230, "bounded: %q", long)
	noMsg := podTerminatedWith("")
	assert.Equal(t, " (exit code 3)", exitDetail(noMsg))

	pgc := testCluster(1, tinyMemory) // plan_primary_restart_test.go
	oom := testMember(pgc, 1, oomKilledAt(now))
	assert.Equal(t, " (exit code 137: OOMKilled, it used more than its memory limit 40Mi: raise spec.resources.limits.memory, "+
		"or lower shared_buffers in spec.parameters)", exitDetail(oom.pod))
	noLimit := testMember(testCluster(1), 1, oomKilledAt(now))
	assert.Equal(t, " (exit code 137: OOMKilled, the node ran out of memory)", exitDetail(noLimit.pod))
}
