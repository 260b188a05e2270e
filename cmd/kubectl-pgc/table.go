package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// cell is one table cell: its text and an optional colour. Widths are
// computed on the text alone, so coloured and plain cells line up (which
// text/tabwriter cannot do once escape codes are in the text).
type cell struct{ text, color string }

func plain(text string) cell { return cell{text: text} }

// writeTable prints rows in aligned columns two spaces apart, with an
// optional header; the last column is not padded.
func writeTable(w io.Writer, p painter, indent string, header []string, rows [][]cell) {
	if header != nil {
		hdr := make([]cell, len(header))
		for i, h := range header {
			hdr[i] = plain(h)
		}
		rows = append([][]cell{hdr}, rows...)
	}
	widths := map[int]int{}
	for _, row := range rows {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	for _, row := range rows {
		var b strings.Builder
		b.WriteString(indent)
		for i, c := range row {
			b.WriteString(p.paint(c.color, c.text))
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}

// truncate shortens s to n runes with an ellipsis: a condition message
// or an Event may be a paragraph, and the status fits one screen.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
