package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// CustomQuery is a query of the operator's administrator whose rows become
// metrics (pkg/metrics parses them from a ConfigMap).
type CustomQuery struct {
	Name string
	Help string
	SQL  string
	// PrimaryOnly: run it on the primary only, not on every member.
	PrimaryOnly bool
	// Labels name the columns whose values label the series, Values the
	// columns that are measured; columns named in neither are ignored.
	Labels []string
	Values []CustomValue
}

// CustomValue is a measured column.
type CustomValue struct {
	Column  string
	Counter bool // else a gauge
}

// CustomResult is one query's answer on one member.
type CustomResult struct {
	Query CustomQuery
	Rows  []CustomRow
	Err   error
}

// CustomRow holds a row's label values and measured values, in the order
// of Query.Labels and Query.Values. A NULL value is NaN.
type CustomRow struct {
	Labels []string
	Values []float64
}

// MaxCustomRows bounds the rows of a custom query, and so the series it
// makes per member: a query that returns more fails.
const MaxCustomRows = 100

// CustomQueries runs each query on one connection, each in a read-only
// transaction of its own, so one that fails (or would write) spoils no
// other. The statement timeout bounds each query, the call's deadline all
// of them. The answer has one result per query, in order; a failed
// connection is every query's error.
func (c *client) CustomQueries(ctx context.Context, ep Endpoint, qs []CustomQuery) []CustomResult {
	out := make([]CustomResult, len(qs))
	for i, q := range qs {
		out[i].Query = q
	}
	ran := 0 // the queries that ran to an answer
	err := c.withOwnConn(ctx, ep, "custom queries", c.timeouts.Statement, func(ctx context.Context, conn *sql.Conn) error {
		for ; ran < len(out); ran++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			out[ran].Rows, out[ran].Err = runCustom(ctx, conn, out[ran].Query)
		}
		return nil
	})
	for i := ran; err != nil && i < len(out); i++ {
		out[i].Err = err
	}
	return out
}

// runCustom wraps the query in a subquery with a LIMIT, so the server
// stops one row past the bound, and a query that is not a single SELECT
// fails to parse.
func runCustom(ctx context.Context, conn *sql.Conn, q CustomQuery) ([]CustomRow, error) {
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	body := strings.TrimRight(strings.TrimSpace(q.SQL), ";")
	rows, err := tx.QueryContext(ctx, "SELECT * FROM (\n"+body+"\n) AS custom_query LIMIT "+strconv.Itoa(MaxCustomRows+1))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	pick, err := q.columnIndexes(cols)
	if err != nil {
		return nil, err
	}
	var out []CustomRow
	seen := map[string]bool{}
	for rows.Next() {
		if len(out) == MaxCustomRows {
			return nil, fmt.Errorf("more than %d rows", MaxCustomRows)
		}
		raw := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		row, err := q.row(raw, pick)
		if err != nil {
			return nil, err
		}
		key := strings.Join(row.Labels, "\x00")
		if seen[key] {
			return nil, fmt.Errorf("two rows with the same labels %q", row.Labels)
		}
		seen[key] = true
		out = append(out, row)
	}
	return out, rows.Err()
}

// columnIndexes finds the label and value columns in the result; a column
// the query declares must be there.
func (q CustomQuery) columnIndexes(cols []string) ([]int, error) {
	index := map[string]int{}
	for i, c := range cols {
		index[c] = i
	}
	var pick []int
	names := append([]string{}, q.Labels...)
	for _, v := range q.Values {
		names = append(names, v.Column)
	}
	for _, n := range names {
		i, ok := index[n]
		if !ok {
			return nil, fmt.Errorf("no column %q in the result", n)
		}
		pick = append(pick, i)
	}
	return pick, nil
}

// row picks and converts the declared columns of one scanned row.
func (q CustomQuery) row(raw []any, pick []int) (CustomRow, error) {
	r := CustomRow{Labels: make([]string, len(q.Labels)), Values: make([]float64, len(q.Values))}
	for i, l := range q.Labels {
		r.Labels[i] = labelValue(raw[pick[i]])
		if !utf8.ValidString(r.Labels[i]) {
			return CustomRow{}, fmt.Errorf("column %q: a label value that is not UTF-8", l)
		}
	}
	for i, v := range q.Values {
		f, err := numericValue(raw[pick[len(q.Labels)+i]])
		if err != nil {
			return CustomRow{}, fmt.Errorf("column %q: %w", v.Column, err)
		}
		r.Values[i] = f
	}
	return r, nil
}

func labelValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case []byte:
		return string(v)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	default:
		return fmt.Sprint(v)
	}
}

var errNotNumber = errors.New("not a number")

// numericValue converts what lib/pq returns for numbers, booleans and
// timestamps (as Unix seconds); NULL is NaN.
func numericValue(v any) (float64, error) {
	switch v := v.(type) {
	case nil:
		return math.NaN(), nil
	case int64:
		return float64(v), nil
	case float64:
		return v, nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case time.Time:
		return float64(v.UnixNano()) / 1e9, nil
	case []byte:
		return parseNumber(string(v))
	case string:
		return parseNumber(v)
	}
	return 0, errNotNumber
}

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %q", errNotNumber, s)
	}
	return f, nil
}
