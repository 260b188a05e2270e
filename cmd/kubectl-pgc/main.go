// Command kubectl-pgc is a kubectl plugin for PostgresClusters: `kubectl pgc
// status|switchover|restart|psql|logs|pause|resume`. kubectl finds it on
// PATH by its name; `make install-plugin` puts it there.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// version is set by the Makefile's -ldflags (git describe).
var version = "dev"

func main() {
	a := newApp()
	cmd := newRootCmd(a)
	cmd.SetArgs(normalizeArgs(os.Args[1:]))
	if err := cmd.ExecuteContext(context.Background()); err != nil {
		os.Exit(exitCode(err))
	}
}

// exitCode passes psql's own exit status through (a script that runs
// `kubectl pgc psql -- -c ...` must see psql's failure as its own); any
// other error prints and exits 1.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() > 0 {
		return exit.ExitCode()
	}
	fmt.Fprintln(os.Stderr, "error:", err)
	return 1
}

// normalizeArgs lets `psql CLUSTER -rw` and `-ro` be written as the issue
// and CloudNativePG users spell them: pflag would read "-rw" as the
// shorthands -r -w, so before "--" they become the long flags --rw, --ro.
// What follows "--" belongs to psql and is left alone.
func normalizeArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i, arg := range args {
		if arg == "--" {
			return append(out, args[i:]...)
		}
		switch arg {
		case "-rw":
			arg = "--rw"
		case "-ro":
			arg = "--ro"
		}
		out = append(out, arg)
	}
	return out
}
