package pgsim

import (
	"fmt"
	"strconv"
	"strings"
)

// The DDL the operator sends (CREATE ROLE "x" LOGIN ..., GRANT, ALTER
// SYSTEM SET x = '...') carries names and literals, so it is read as
// tokens rather than matched as text.

type tokenKind int

const (
	tokWord   tokenKind = iota // unquoted identifier or keyword (text lower-cased)
	tokQuoted                  // "quoted identifier" (text unquoted)
	tokString                  // 'literal' or E'literal' (text unescaped)
	tokNumber                  // 42, -1, 1.5
	tokSymbol                  // ( ) , = * and the like
)

type token struct {
	kind tokenKind
	text string
}

// lex splits a statement into tokens.
func lex(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case isSpace(c):
			i++
		case c == '"':
			end := quotedEnd(s, i)
			if end > len(s) || s[end-1] != '"' || end-i < 2 {
				return nil, fmt.Errorf("unterminated quoted identifier")
			}
			out = append(out, token{tokQuoted, strings.ReplaceAll(s[i+1:end-1], `""`, `"`)})
			i = end
		case c == '\'' || ((c == 'E' || c == 'e') && i+1 < len(s) && s[i+1] == '\''):
			t, end, err := lexString(s, i)
			if err != nil {
				return nil, err
			}
			out = append(out, t)
			i = end
		case isDigit(c) || (c == '-' && i+1 < len(s) && isDigit(s[i+1])):
			j := i + 1
			for j < len(s) && (isDigit(s[j]) || s[j] == '.') {
				j++
			}
			out = append(out, token{tokNumber, s[i:j]})
			i = j
		case isLetter(c) || c == '_':
			j := i + 1
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '$') {
				j++
			}
			out = append(out, token{tokWord, strings.ToLower(s[i:j])})
			i = j
		default:
			out = append(out, token{tokSymbol, string(c)})
			i++
		}
	}
	return out, nil
}

// lexString reads '...' (” is a quote) or E'...' (backslash escapes too).
func lexString(s string, i int) (token, int, error) {
	escapes := s[i] != '\''
	if escapes {
		i++
	}
	var b strings.Builder
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case escapes && c == '\\' && j+1 < len(s):
			j++
			b.WriteByte(s[j])
		case c == '\'' && j+1 < len(s) && s[j+1] == '\'':
			j++
			b.WriteByte('\'')
		case c == '\'':
			return token{tokString, b.String()}, j + 1, nil
		default:
			b.WriteByte(c)
		}
	}
	return token{}, 0, fmt.Errorf("unterminated string literal")
}

// cursor walks the tokens of one statement.
type cursor struct {
	toks []token
	i    int
}

func newCursor(stmt string) (*cursor, bool) {
	toks, err := lex(stmt)
	return &cursor{toks: toks}, err == nil
}

func (c *cursor) done() bool { return c.i == len(c.toks) }

// word consumes the keywords in sequence, or nothing.
func (c *cursor) word(words ...string) bool {
	if c.i+len(words) > len(c.toks) {
		return false
	}
	for k, w := range words {
		t := c.toks[c.i+k]
		if t.kind != tokWord || t.text != strings.ToLower(w) {
			return false
		}
	}
	c.i += len(words)
	return true
}

// name consumes an identifier: quoted as is, unquoted lower-cased.
func (c *cursor) name() (string, bool) {
	if c.done() {
		return "", false
	}
	t := c.toks[c.i]
	if t.kind != tokWord && t.kind != tokQuoted {
		return "", false
	}
	c.i++
	return t.text, true
}

func (c *cursor) str() (string, bool) {
	if c.done() || c.toks[c.i].kind != tokString {
		return "", false
	}
	c.i++
	return c.toks[c.i-1].text, true
}

func (c *cursor) int() (int64, bool) {
	if c.done() || c.toks[c.i].kind != tokNumber {
		return 0, false
	}
	n, err := strconv.ParseInt(c.toks[c.i].text, 10, 64)
	if err != nil {
		return 0, false
	}
	c.i++
	return n, true
}

func (c *cursor) symbol(s string) bool {
	if c.done() || c.toks[c.i].kind != tokSymbol || c.toks[c.i].text != s {
		return false
	}
	c.i++
	return true
}

// peek returns the next token, or an empty one at the end.
func (c *cursor) peek() token {
	if c.done() {
		return token{kind: -1}
	}
	return c.toks[c.i]
}
