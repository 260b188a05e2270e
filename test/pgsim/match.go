package pgsim

import (
	"strings"
)

// entry is one kind of statement the operator sends (queries.go).
type entry struct {
	// what names it in errors ("ALTER SYSTEM", "CREATE DATABASE").
	what string
	// match recognizes the normalized statement and parses what the
	// handler needs out of it.
	match func(q string) (any, bool)
	// cols are its result columns (nil: a command); colsOf, when set,
	// derives them from the parsed arguments instead.
	cols   []column
	colsOf func(args any) []column
	run    func(x *call) (result, error)

	write           bool // changes the catalog: refused in a read-only transaction
	noTxBlock       bool // refused inside a transaction block
	endsTransaction bool // COMMIT, ROLLBACK: allowed in a failed transaction
}

func (e *entry) columns(args any) []column {
	if e.colsOf != nil {
		return e.colsOf(args)
	}
	return e.cols
}

// Matchers. The operator's SELECTs are recognized by the fragments that
// make them distinct, after normalize; a change to them that drops a
// fragment makes the statement unknown (0A000), and one that adds a
// column fails the client's Scan in pgsim_test.go. Either way the test
// catches the drift.

// exactly matches one normalized statement.
func exactly(s string) func(string) (any, bool) {
	want := normalize(s)
	return func(q string) (any, bool) { return nil, q == want }
}

// having matches a statement that holds every fragment.
func having(fragments ...string) func(string) (any, bool) {
	for i, f := range fragments {
		fragments[i] = normalize(f)
	}
	return func(q string) (any, bool) {
		for _, f := range fragments {
			if !strings.Contains(q, f) {
				return nil, false
			}
		}
		return nil, true
	}
}

// parsed matches what parse accepts, reading the statement as tokens; the
// parser must consume every token.
func parsed[T any](parse func(c *cursor) (T, bool)) func(string) (any, bool) {
	return func(q string) (any, bool) {
		c, ok := newCursor(q)
		if !ok {
			return nil, false
		}
		v, ok := parse(c)
		if !ok || !c.done() {
			return nil, false
		}
		return v, true
	}
}

// lookup finds the entry for a normalized statement. Inside a transaction
// block, a statement nobody matches that a user's script may hold is run
// without effect (scriptStatement).
func lookup(q string, inTransaction bool) (*entry, any) {
	for i := range queries {
		if args, ok := queries[i].match(q); ok {
			return &queries[i], args
		}
	}
	if inTransaction {
		if args, ok := scriptStatement.match(q); ok {
			return &scriptStatement, args
		}
	}
	return nil, nil
}
