package plan

import (
	"strings"
	"time"
)

// TimeLayout is how every command shows a time to people: to the second,
// with the zone's abbreviation or offset.
const TimeLayout = "2006-01-02 15:04:05 MST"

// ShowTime is t as every command prints it for people: in loc (the
// project's timezone, UTC when it has none) and labelled with the zone,
// "2026-11-23 11:00:00 CET". The local zone of the machine never shows.
// With --json, times are RFC 3339 with their offset (encoding/json).
func ShowTime(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format(TimeLayout)
}

// WallClock is a timestamp read from the warehouse as the instant it means.
// A column without a time zone holds the wall clock of the project's
// timezone (sources are read so, and runs write entered_at so); the drivers
// return it as a time in UTC, whose fields are therefore read in loc. A
// time the driver placed in another zone (a column with a time zone) is
// an instant already, and only moved to loc.
func WallClock(t time.Time, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	if t.Location() != time.UTC {
		return t.In(loc)
	}
	y, m, d := t.Date()
	return time.Date(y, m, d, t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc)
}

// WallClocks applies WallClock to v when it is a time, and leaves any other
// value as it is.
func WallClocks(v any, loc *time.Location) any {
	if t, ok := v.(time.Time); ok {
		return WallClock(t, loc)
	}
	return v
}

// Count is n and its noun for people, in the singular for one:
// "1 row", "1,234 rows", "1 person", "2 people". noun is the singular.
func Count(n int64, noun string) string {
	return Thousands(n) + " " + Noun(n, noun)
}

// Noun is the singular noun for n == 1 (or -1), its plural otherwise.
func Noun(n int64, noun string) string {
	if n == 1 || n == -1 {
		return noun
	}
	if p, ok := irregular[noun]; ok {
		return p
	}
	switch {
	case strings.HasSuffix(noun, "y") && !strings.HasSuffix(noun, "ey") && !strings.HasSuffix(noun, "ay"):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s") || strings.HasSuffix(noun, "sh") || strings.HasSuffix(noun, "ch") || strings.HasSuffix(noun, "x"):
		return noun + "es"
	}
	return noun + "s"
}

var irregular = map[string]string{"person": "people"}
