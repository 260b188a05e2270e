package main

import (
	"io"
	"os"

	"golang.org/x/term"
)

// ANSI colours of the status screen. Only the three a reader needs: good,
// needs a look, bad.
const (
	green  = "\x1b[32m"
	yellow = "\x1b[33m"
	red    = "\x1b[31m"
	bold   = "\x1b[1m"
	reset  = "\x1b[0m"
)

// wantColor is true only when stdout is a terminal and NO_COLOR is not set
// (https://no-color.org): a pipe, a file or a test gets plain text.
func (a *app) wantColor(out io.Writer) bool {
	if _, set := a.lookupEnv("NO_COLOR"); set {
		return false
	}
	return a.isTTY(out)
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// painter wraps text in a colour when colour is on, and passes it through
// otherwise, so the rendering code has a single path.
type painter bool

func (p painter) paint(color, text string) string {
	if !p || color == "" || text == "" {
		return text
	}
	return color + text + reset
}
