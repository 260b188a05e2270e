package main

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// durations is a sample of measured times; failed runs are not in it but
// counted separately by the caller.
type durations []time.Duration

// add appends d unless it is missing.
func (d *durations) add(v time.Duration) {
	if v >= 0 {
		*d = append(*d, v)
	}
}

// quantile returns the nearest-rank quantile (q in [0,1]); 0 when empty.
// Nearest rank keeps every printed figure an actually measured one.
func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return -1
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func (d durations) median() time.Duration { return d.quantile(0.5) }
func (d durations) p95() time.Duration    { return d.quantile(0.95) }
func (d durations) max() time.Duration    { return d.quantile(1) }
func (d durations) min() time.Duration    { return d.quantile(0) }

// secs formats a duration in seconds with two decimals, "-" for missing.
func secs(d time.Duration) string {
	if d < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// seconds is d in seconds for judging against a goal; negative when missing.
func seconds(d time.Duration) float64 {
	if d < 0 {
		return -1
	}
	return d.Seconds()
}

// ratio formats a/b as "4.2x", "-" when either is missing.
func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", a.Seconds()/b.Seconds())
}

func mib(bytes int64) string { return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20)) }

// table prints aligned columns; the first row is the header. It also
// counts the goals its figures were judged against, and the misses.
type table struct {
	title  string
	rows   [][]string
	notes  []string
	checks int      // bounds of goals judged
	misses []string // one line per missed bound, for the summary
}

func newTable(title string, header ...string) *table {
	return &table{title: title, rows: [][]string{header}}
}

func (t *table) add(cells ...string) { t.rows = append(t.rows, cells) }

func (t *table) note(format string, args ...any) {
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// judged returns cell (the figure what's statistic s, formatted) with goal
// g's MISSED marker when v misses it, and counts the check.
func (t *table) judged(cell, what string, g goal, s stat, v float64) string {
	marker, judged := g.judge(s, v)
	if !judged {
		return cell
	}
	t.checks++
	if marker == "" {
		return cell
	}
	t.misses = append(t.misses, fmt.Sprintf("%s: %s %s", what, cell, marker))
	return cell + " " + marker
}

func (t *table) String() string {
	widths := map[int]int{}
	for _, r := range t.rows {
		for i, c := range r {
			// fmt pads to a width in runes; "→", "≤" and "✗" are one each.
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	if len(t.rows) == 1 {
		t.rows = append(t.rows, []string{"(no runs)"})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n== %s\n", t.title)
	for n, r := range t.rows {
		for i, c := range r {
			fmt.Fprintf(&b, "%-*s  ", widths[i], c)
		}
		b.WriteString("\n")
		if n == 0 {
			for i := range r {
				b.WriteString(strings.Repeat("-", widths[i]) + "  ")
			}
			b.WriteString("\n")
		}
	}
	for _, n := range t.notes {
		b.WriteString("  " + n + "\n")
	}
	return b.String()
}
