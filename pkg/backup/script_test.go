package backup

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scriptRun is one run of the Job's command against testdata/fake-pgbackrest.
type scriptRun struct {
	out, termination, calls string
	exit                    int
}

// runScript runs the Job's command as the pod would: with busybox alone on
// PATH when the machine has it (the image's shell and tools), else /bin/sh.
func runScript(t *testing.T, env ...string) scriptRun {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	require.NoError(t, os.Mkdir(bin, 0o755))
	fake, err := filepath.Abs("testdata/fake-pgbackrest")
	require.NoError(t, err)
	require.NoError(t, os.Symlink(fake, filepath.Join(bin, "pgbackrest")))
	shell, path := "/bin/sh", bin+":"+os.Getenv("PATH")
	if busybox, err := exec.LookPath("busybox"); err == nil {
		for _, applet := range []string{"sh", "awk", "sed", "tee", "tr", "tail", "cat", "rm", "mkdir"} {
			require.NoError(t, os.Symlink(busybox, filepath.Join(bin, applet)))
		}
		shell, path = filepath.Join(bin, "sh"), bin
	}
	keys := filepath.Join(dir, "keys")
	require.NoError(t, os.Mkdir(keys, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(keys, "ACCESS_KEY_ID"), []byte("AKIA"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(keys, "ACCESS_SECRET_KEY"), []byte("s3cr3t"), 0o600))
	info, err := filepath.Abs("testdata/info.json")
	require.NoError(t, err)
	// The engine prints its info on one line; this one is cut in two to
	// check the script joins it.
	twoLines := filepath.Join(dir, "info.json")
	raw, err := os.ReadFile(info)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(twoLines, bytes.Replace(raw, []byte(`"backup":[`), []byte("\"backup\":\n["), 1), 0o600))

	cmd := exec.Command(shell, "-c", jobScript())
	cmd.Env = append([]string{
		"PATH=" + path, "TMPDIR=" + dir,
		"TERMINATION_LOG=" + filepath.Join(dir, "termination-log"),
		"CALLS=" + filepath.Join(dir, "calls"),
		"INFO_JSON=" + twoLines,
		"PGBACKREST_LOCK_PATH=" + filepath.Join(dir, "lock"),
		"KEYS_DIR=" + keys, "KEYS_SECRET=s3-creds",
		"BACKUP_TYPE=incr", "FULL_DAYS=",
	}, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	run := scriptRun{out: out.String()}
	if exitErr, ok := err.(*exec.ExitError); ok {
		run.exit = exitErr.ExitCode()
	} else {
		require.NoError(t, err)
	}
	term, _ := os.ReadFile(filepath.Join(dir, "termination-log"))
	calls, _ := os.ReadFile(filepath.Join(dir, "calls"))
	run.termination, run.calls = string(term), string(calls)
	assert.DirExists(t, filepath.Join(dir, "lock"))
	return run
}

func TestScriptReportsTheBackup(t *testing.T) {
	run := runScript(t)
	require.Equal(t, 0, run.exit, run.out)
	assert.Equal(t, "stanza-create\n--type=incr backup\n--output=json --log-level-console=off --log-level-stderr=error info\n", run.calls)
	assert.Contains(t, run.out, "stanza 'db' already exists", "the engine's output is in the log")
	lines := strings.Split(strings.TrimSpace(run.out), "\n")
	assert.True(t, strings.HasPrefix(lines[len(lines)-1], resultPrefix+incrLabel+` [{"archive"`), "the report is the last line")
	r, err := parseReport(run.out)
	require.NoError(t, err)
	assert.Equal(t, incrLabel, r.Label)
	assert.Len(t, r.Stanza.Backup, 2)
	assert.Empty(t, run.termination)
}

func TestScriptExpiresByAge(t *testing.T) {
	run := runScript(t, "FULL_DAYS=14")
	require.Equal(t, 0, run.exit, run.out)
	assert.Contains(t, run.calls, "--repo1-retention-full-type=time --repo1-retention-full=14 expire\n")
	r, err := parseReport(run.out)
	require.NoError(t, err)
	assert.Empty(t, r.Warning)
}

func TestScriptWarnsWhenExpireFails(t *testing.T) {
	run := runScript(t, "FULL_DAYS=14", "FAIL=expire")
	require.Equal(t, 0, run.exit, "the backup is good: "+run.out)
	r, err := parseReport(run.out)
	require.NoError(t, err)
	assert.Equal(t, "retention by age (fullDays) not applied: ERROR: [039]: HTTP request failed with 503 (Slow Down)", r.Warning)
}

func TestScriptFailures(t *testing.T) {
	for fail, want := range map[string]string{
		"stanza-create": "stanza-create failed: ERROR: [039]: HTTP request failed with 403 (Forbidden):\n" +
			"            *** Path/Query ***:\n            /?delimiter=%2F\n",
		"backup": "ERROR: [082]: WAL segment 000000010000000000000008 was not archived before the 60000ms timeout\n" +
			"            HINT: check the archive_command to ensure that all options are correct (especially --stanza).\n",
		"info": "backup " + incrLabel + " was taken but reading the repository failed: ERROR: [029]: unable to read the repository\n",
	} {
		t.Run(fail, func(t *testing.T) {
			run := runScript(t, "FAIL="+fail)
			assert.Equal(t, 1, run.exit, run.out)
			assert.Equal(t, want, run.termination)
			assert.NotContains(t, run.out, resultPrefix)
			assert.Contains(t, run.out, "backup failed: ", "the reason is in the log too")
		})
	}
}

func TestScriptWithoutKeys(t *testing.T) {
	run := runScript(t, "KEYS_DIR=/nonexistent")
	assert.Equal(t, 1, run.exit)
	assert.Equal(t, "cannot read the object store's access keys: Secret s3-creds must hold ACCESS_KEY_ID and ACCESS_SECRET_KEY\n", run.termination)
	assert.Empty(t, run.calls, "the engine never ran")
}
