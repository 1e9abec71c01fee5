package plan

import (
	"testing"
	"time"
)

func TestCountIsSingularForOne(t *testing.T) {
	for _, c := range []struct {
		n    int64
		noun string
		want string
	}{
		{1, "row", "1 row"}, {0, "row", "0 rows"}, {1234, "row", "1,234 rows"},
		{1, "person", "1 person"}, {2, "person", "2 people"},
		{1, "identifier type", "1 identifier type"}, {5, "identifier type", "5 identifier types"},
		{2, "entry", "2 entries"}, {2, "day", "2 days"}, {3, "match", "3 matches"}, {-1, "member", "-1 member"},
	} {
		if got := Count(c.n, c.noun); got != c.want {
			t.Errorf("Count(%d, %q) = %q, want %q", c.n, c.noun, got, c.want)
		}
	}
}

// A time is shown in the zone asked for, labelled, whatever the machine's
// zone; a warehouse timestamp without a zone is a wall clock of that zone.
func TestShowTimeAndWallClock(t *testing.T) {
	ams, err := time.LoadLocation("Europe/Amsterdam")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	if got := ShowTime(at, ams); got != "2026-11-23 11:00:00 CET" {
		t.Errorf("ShowTime: %s", got)
	}
	if got := ShowTime(at.In(time.FixedZone("X", -5*3600)), nil); got != "2026-11-23 10:00:00 UTC" {
		t.Errorf("ShowTime without a zone: %s", got)
	}
	naive := time.Date(2026, 7, 1, 9, 30, 0, 0, time.UTC) // as a driver returns TIMESTAMP
	if got := WallClock(naive, ams); got.Format(time.RFC3339) != "2026-07-01T09:30:00+02:00" {
		t.Errorf("WallClock of a naive time: %s", got.Format(time.RFC3339))
	}
	zoned := time.Date(2026, 7, 1, 9, 30, 0, 0, time.FixedZone("EDT", -4*3600)) // TIMESTAMPTZ
	if got := WallClock(zoned, ams); got.Format(time.RFC3339) != "2026-07-01T15:30:00+02:00" {
		t.Errorf("WallClock of an instant: %s", got.Format(time.RFC3339))
	}
	if got := WallClocks("x", ams); got != "x" {
		t.Errorf("WallClocks of a string: %v", got)
	}
}
