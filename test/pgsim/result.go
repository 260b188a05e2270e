package pgsim

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type OIDs (pg_type) of the columns the simulator returns. The client
// decodes by OID, so they must be the real ones.
const (
	oidBool        = 16
	oidName        = 19
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidFloat8      = 701
	oidTextArray   = 1009
	oidTimestamptz = 1184
	oidVoid        = 2278
	oidRecord      = 2249
	oidPgLSN       = 3220
	oidNumeric     = 1700
)

// column is one column of a result.
type column struct {
	name string
	oid  int
}

func col(name string, oid int) column { return column{name: name, oid: oid} }

// typeLen is pg_type.typlen, which RowDescription carries.
func typeLen(oid int) int {
	switch oid {
	case oidBool:
		return 1
	case oidInt4:
		return 4
	case oidInt8, oidFloat8, oidTimestamptz, oidPgLSN:
		return 8
	case oidName:
		return 64
	case oidVoid:
		return 4
	}
	return -1
}

// result is what a statement returns: rows for its columns (nil values are
// NULL), and the command tag.
type result struct {
	cols []column
	rows [][]any
	tag  string // "" means "SELECT <rows>"
}

func (r result) commandTag() string {
	if r.tag != "" {
		return r.tag
	}
	return "SELECT " + strconv.Itoa(len(r.rows))
}

// command is the result of a statement that returns no rows.
func command(tag string) result { return result{tag: tag} }

// rows1 is a one-row result.
func rows1(cols []column, values ...any) result {
	return result{cols: cols, rows: [][]any{values}}
}

// writeRowDescription describes cols; formats are the result format codes
// of a Bind (none: all text).
func (w *writer) writeRowDescription(cols []column, formats []int) {
	w.begin('T')
	w.int16(len(cols))
	for i, c := range cols {
		w.cstring(c.name)
		w.int32(0) // table OID
		w.int16(0) // attribute number
		w.int32(c.oid)
		w.int16(typeLen(c.oid))
		w.int32(-1) // type modifier
		w.int16(formatOf(formats, i))
	}
	w.end()
}

// formatOf applies the Bind rule: no codes is all text, one code is for
// every column, otherwise one code per column.
func formatOf(formats []int, i int) int {
	switch {
	case len(formats) == 0:
		return 0
	case len(formats) == 1:
		return formats[0]
	case i < len(formats):
		return formats[i]
	}
	return 0
}

func (w *writer) writeDataRow(cols []column, row []any, formats []int) error {
	w.begin('D')
	w.int16(len(row))
	for i, v := range row {
		if v == nil {
			w.int32(-1)
			continue
		}
		b, err := encodeValue(v, cols[i].oid, formatOf(formats, i))
		if err != nil {
			return fmt.Errorf("column %s: %w", cols[i].name, err)
		}
		w.int32(len(b))
		w.bytes(b)
	}
	w.end()
	return nil
}

// encodeValue renders v as the column's type, in text (format 0) or
// binary (1). lib/pq asks for binary only for int2/int4/int8, bytea and
// uuid columns of prepared statements.
func encodeValue(v any, oid, format int) ([]byte, error) {
	if format == 1 {
		return encodeBinary(v, oid)
	}
	return []byte(encodeText(v)), nil
}

func encodeBinary(v any, oid int) ([]byte, error) {
	n, ok := asInt64(v)
	if !ok {
		return nil, fmt.Errorf("binary format of %T (type %d) not simulated", v, oid)
	}
	switch oid {
	case oidInt4:
		return binary.BigEndian.AppendUint32(nil, uint32(int32(n))), nil
	case oidInt8:
		return binary.BigEndian.AppendUint64(nil, uint64(n)), nil
	}
	return nil, fmt.Errorf("binary format of type %d not simulated", oid)
}

func asInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}

// encodeText renders a value as PostgreSQL's output functions do.
func encodeText(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "t"
		}
		return "f"
	case int, int32, int64:
		n, _ := asInt64(x)
		return strconv.FormatInt(n, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case float64:
		return formatFloat(x)
	case string:
		return x
	case []string:
		return textArray(x)
	case time.Time:
		return x.UTC().Format("2006-01-02 15:04:05.999999") + "+00"
	case lsn:
		return x.String()
	}
	return fmt.Sprint(v)
}

// formatFloat is float8out with extra_float_digits 1 (shortest exact).
func formatFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// textArray is array_out of text[]: elements double-quoted when they need
// it, with backslash escapes.
func textArray(items []string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i, s := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		if s != "" && !strings.ContainsAny(s, "{},\"\\ \t\n") && !strings.EqualFold(s, "NULL") {
			b.WriteString(s)
			continue
		}
		b.WriteByte('"')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// parseTextArray reads a one-dimensional text[] literal as lib/pq's
// pq.Array sends it ({"a","b"}), or as written by hand ({a,b}).
func parseTextArray(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, fmt.Errorf("malformed array literal %q", s)
	}
	body := s[1 : len(s)-1]
	var out []string
	for i := 0; i < len(body); {
		item, next, err := arrayItem(body, i)
		if err != nil {
			return nil, fmt.Errorf("malformed array literal %q: %w", s, err)
		}
		out = append(out, item)
		i = next
		if i < len(body) {
			if body[i] != ',' {
				return nil, fmt.Errorf("malformed array literal %q", s)
			}
			i++
		}
	}
	return out, nil
}

// arrayItem reads one element starting at i, returning where the next
// delimiter is.
func arrayItem(body string, i int) (string, int, error) {
	if body[i] != '"' {
		end := strings.IndexByte(body[i:], ',')
		if end < 0 {
			return strings.TrimSpace(body[i:]), len(body), nil
		}
		return strings.TrimSpace(body[i : i+end]), i + end, nil
	}
	var b strings.Builder
	for j := i + 1; j < len(body); j++ {
		switch c := body[j]; c {
		case '\\':
			j++
			if j < len(body) {
				b.WriteByte(body[j])
			}
		case '"':
			return b.String(), j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, fmt.Errorf("unterminated quoted element")
}
