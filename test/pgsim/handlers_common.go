package pgsim

// noRows answers a query that has no rows here (no walsender, no active
// slot).
func noRows(x *call) (result, error) { return result{}, nil }

// constant answers one row of one value.
func constant(v any) func(x *call) (result, error) {
	return func(x *call) (result, error) { return result{rows: [][]any{{v}}}, nil }
}

// commandOnly answers a command that changes nothing simulated.
func commandOnly(tag string) func(x *call) (result, error) {
	return func(x *call) (result, error) { return command(tag), nil }
}

// one is a one-row result, columns from the entry.
func one(values ...any) result { return result{rows: [][]any{values}} }
