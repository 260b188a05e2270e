package pgsim

import (
	"regexp"
	"strconv"
	"strings"
)

// CustomQueries (custom.go) wraps the administrator's query as
// "SELECT * FROM (<query>) AS custom_query LIMIT n". The simulator cannot
// run arbitrary SQL; it answers queries made of constants only
// ("SELECT 1 AS up, 'x' AS label"), one row, which is what a bench's
// custom-query configuration uses. Any other stays unknown (0A000), and
// the operator reports that query as failing.
var customQueryRE = regexp.MustCompile(`^SELECT \* FROM \( (.+) \) AS custom_query LIMIT \d+$`)

type customArgs struct {
	cols []column
	row  []any
}

func matchCustomQuery(q string) (any, bool) {
	m := customQueryRE.FindStringSubmatch(q)
	if m == nil {
		return nil, false
	}
	c, ok := newCursor(m[1])
	if !ok || !c.word("select") {
		return nil, false
	}
	var a customArgs
	for {
		col, v, ok := constantColumn(c)
		if !ok {
			return nil, false
		}
		a.cols, a.row = append(a.cols, col), append(a.row, v)
		if c.done() {
			return a, true
		}
		if !c.symbol(",") {
			return nil, false
		}
	}
}

// constantColumn reads "<constant> [AS] name".
func constantColumn(c *cursor) (column, any, bool) {
	t := c.peek()
	var v any
	typ := oidText
	switch {
	case t.kind == tokNumber && !strings.Contains(t.text, "."):
		n, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return column{}, nil, false
		}
		v, typ = n, oidInt4
		if n != int64(int32(n)) {
			typ = oidInt8
		}
	case t.kind == tokNumber:
		v, typ = t.text, oidNumeric
	case t.kind == tokString:
		v = t.text
	case t.kind == tokWord && (t.text == "true" || t.text == "false"):
		v, typ = t.text == "true", oidBool
	case t.kind == tokWord && t.text == "null":
	default:
		return column{}, nil, false
	}
	c.i++
	c.word("as")
	name, ok := c.name()
	if !ok {
		return column{}, nil, false
	}
	return col(name, typ), v, true
}

func customColumns(args any) []column { return args.(customArgs).cols }

func customQuery(x *call) (result, error) {
	a := x.args.(customArgs)
	return result{rows: [][]any{a.row}}, nil
}
