package main

import (
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// runForeground runs an interactive child such as psql. Ctrl-C reaches
// the whole foreground process group: psql cancels its query and goes on,
// so the plugin must not die of it (and leave the passfile behind); it
// catches SIGINT and waits. SIGTERM and SIGHUP are passed on, and the
// plugin cleans up once the child has gone.
func runForeground(cmd *exec.Cmd) error {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-sigs:
			if sig != os.Interrupt {
				_ = cmd.Process.Signal(sig)
			}
		}
	}
}
