package pgsim

import (
	"strings"
)

// normalize is how queries are matched: whitespace runs outside quotes
// become one space, and the ends and trailing semicolons are trimmed, so
// the operator's indentation and line breaks do not matter but every
// word and literal does.
func normalize(q string) string {
	var b strings.Builder
	b.Grow(len(q))
	space := false
	for i := 0; i < len(q); {
		c := q[i]
		if c == '\'' || c == '"' {
			end := quotedEnd(q, i)
			flushSpace(&b, &space)
			b.WriteString(q[i:end])
			i = end
			continue
		}
		if isSpace(c) {
			space = b.Len() > 0
			i++
			continue
		}
		flushSpace(&b, &space)
		b.WriteByte(c)
		i++
	}
	return strings.TrimRight(strings.TrimSpace(b.String()), "; ")
}

func flushSpace(b *strings.Builder, space *bool) {
	if *space {
		b.WriteByte(' ')
		*space = false
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// quotedEnd returns the index just past the quoted string or identifier
// that starts at i. A doubled quote stays inside; in an E” string a
// backslash escapes the next character.
func quotedEnd(q string, i int) int {
	quote := q[i]
	escapes := quote == '\'' && i > 0 && (q[i-1] == 'E' || q[i-1] == 'e')
	for j := i + 1; j < len(q); j++ {
		switch {
		case escapes && q[j] == '\\':
			j++
		case q[j] == quote && j+1 < len(q) && q[j+1] == quote:
			j++
		case q[j] == quote:
			return j + 1
		}
	}
	return len(q)
}

// splitStatements cuts a simple-protocol query string at its top-level
// semicolons (not those in quotes, dollar quotes or comments), as the
// server does; empty statements are dropped.
func splitStatements(q string) []string {
	var out []string
	start := 0
	for i := 0; i < len(q); {
		switch {
		case q[i] == '\'' || q[i] == '"':
			i = quotedEnd(q, i)
		case strings.HasPrefix(q[i:], "--"):
			i = lineEnd(q, i)
		case strings.HasPrefix(q[i:], "/*"):
			i = commentEnd(q, i)
		case q[i] == '$':
			i = dollarEnd(q, i)
		case q[i] == ';':
			out = appendStatement(out, q[start:i])
			i++
			start = i
		default:
			i++
		}
	}
	return appendStatement(out, q[start:])
}

func appendStatement(out []string, s string) []string {
	if strings.TrimSpace(stripComments(s)) == "" {
		return out
	}
	return append(out, strings.TrimSpace(s))
}

func lineEnd(q string, i int) int {
	if j := strings.IndexByte(q[i:], '\n'); j >= 0 {
		return i + j + 1
	}
	return len(q)
}

func commentEnd(q string, i int) int {
	if j := strings.Index(q[i+2:], "*/"); j >= 0 {
		return i + 2 + j + 2
	}
	return len(q)
}

// dollarEnd skips a dollar-quoted string ($$...$$ or $tag$...$tag$);
// a lone $ (a parameter such as $1) is one character.
func dollarEnd(q string, i int) int {
	j := i + 1
	for j < len(q) && (q[j] == '_' || isLetter(q[j]) || (j > i+1 && isDigit(q[j]))) {
		j++
	}
	if j >= len(q) || q[j] != '$' {
		return i + 1
	}
	tag := q[i : j+1]
	if k := strings.Index(q[j+1:], tag); k >= 0 {
		return j + 1 + k + len(tag)
	}
	return len(q)
}

// stripComments drops -- and /* */ comments (outside quotes).
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch {
		case s[i] == '\'' || s[i] == '"':
			end := quotedEnd(s, i)
			b.WriteString(s[i:end])
			i = end
		case strings.HasPrefix(s[i:], "--"):
			i = lineEnd(s, i)
			b.WriteByte(' ')
		case strings.HasPrefix(s[i:], "/*"):
			i = commentEnd(s, i)
			b.WriteByte(' ')
		default:
			b.WriteByte(s[i])
			i++
		}
	}
	return b.String()
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80 }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// paramCount is the highest $n in the query: what ParameterDescription
// reports, and lib/pq checks its arguments against.
func paramCount(q string) int {
	highest := 0
	for i := 0; i < len(q); i++ {
		switch {
		case q[i] == '\'' || q[i] == '"':
			i = quotedEnd(q, i) - 1
		case q[i] == '$' && i+1 < len(q) && isDigit(q[i+1]) && (i == 0 || !isIdentChar(q[i-1])):
			n, j := 0, i+1
			for j < len(q) && isDigit(q[j]) {
				n = n*10 + int(q[j]-'0')
				j++
			}
			highest = max(highest, n)
			i = j - 1
		}
	}
	return highest
}

func isIdentChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '_' }
