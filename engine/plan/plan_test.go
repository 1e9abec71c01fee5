package plan

import (
	"strings"
	"testing"
)

// No user text ends a comment: every line of it stays behind "-- ".
func TestCommentKeepsUserTextInside(t *testing.T) {
	for _, text := range []string{"a\nDROP TABLE raw.orders;", "a\rDROP TABLE raw.orders;", "a\u2028b\vDROP", "trait x (models/a.yaml:1:2)"} {
		for _, line := range strings.Split(strings.TrimSuffix(Comment(text), "\n"), "\n") {
			if !strings.HasPrefix(line, "-- ") || strings.ContainsAny(line, "\r\v") {
				t.Errorf("Comment(%q) has line %q", text, line)
			}
		}
	}
	if got := CommentSafe("a\rb"); got != `a\rb` {
		t.Errorf("CommentSafe: %q", got)
	}
}
