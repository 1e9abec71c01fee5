package models

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Error is one problem of a project, at the place that causes it.
type Error struct {
	Pos Pos
	Msg string
}

func (e Error) Error() string {
	switch {
	case e.Pos.Line > 0:
		file := e.Pos.File
		if file == "" {
			file = "<unsaved>"
		}
		return fmt.Sprintf("%s:%d:%d: %s", file, e.Pos.Line, e.Pos.Col, e.Msg)
	case e.Pos.File != "":
		return e.Pos.File + ": " + e.Msg
	}
	return e.Msg
}

// MarshalJSON writes {"file", "line", "col", "message"} for the API and
// --json output (Pos itself is not serialized).
func (e Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		File    string `json:"file,omitempty"`
		Line    int    `json:"line,omitempty"`
		Col     int    `json:"col,omitempty"`
		Message string `json:"message"`
	}{e.Pos.File, e.Pos.Line, e.Pos.Col, e.Msg})
}

// ErrorList is every problem found, printed one per line sorted by file,
// line and column. Load, Validate and CheckWarehouse return it; callers
// detect an invalid project with errors.As(err, &models.ErrorList{}).
type ErrorList []Error

func (l ErrorList) Error() string {
	lines := make([]string, len(l))
	for i, e := range l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Sort orders the list by file, line and column and drops exact repeats.
func (l *ErrorList) Sort() {
	s := *l
	sort.SliceStable(s, func(i, j int) bool {
		a, b := s[i].Pos, s[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	out := s[:0]
	for i, e := range s {
		if i > 0 && e == s[i-1] {
			continue
		}
		out = append(out, e)
	}
	*l = out
}

// err returns the sorted list as an error, or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	l.Sort()
	return l
}

func (l *ErrorList) add(pos Pos, format string, args ...any) {
	*l = append(*l, Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// distance is the optimal string alignment distance: insertions, deletions,
// substitutions and swaps of two neighbours each cost one.
func distance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

// closest is the known name nearest to name, if it is near enough to be a
// misspelling.
func closest(name string, known []string) string {
	limit := min(1+len([]rune(name))/5, 3)
	best, bestD := "", limit+1
	lower := strings.ToLower(name)
	for _, k := range known {
		d := distance(lower, strings.ToLower(k))
		if d < bestD {
			best, bestD = k, d
		}
	}
	return best
}

// suggest is a hint for an unknown name: " (did you mean "x"?)", or the known
// names when there are few, or nothing.
func suggest(name string, known []string, what string) string {
	if c := closest(name, known); c != "" {
		return fmt.Sprintf(" (did you mean %q?)", c)
	}
	switch {
	case len(known) == 0:
		return fmt.Sprintf(" (no %s is defined)", what)
	case len(known) <= 12:
		return fmt.Sprintf(" (known: %s)", strings.Join(known, ", "))
	}
	return ""
}

// Suggest is the hint Validate gives for an unknown name, for callers outside
// the package (the command line's unknown segment names).
func Suggest(name string, known []string, what string) string { return suggest(name, known, what) }
