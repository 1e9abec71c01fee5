package models

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is when `cohort serve` starts a sync (or, in cohort.yaml, the
// warehouse run). In YAML it is a cron line or @every as text, or a mapping
// {cron: TEXT, after: run}; after: run starts the sync each time a warehouse
// run of the project succeeds. Both may be given.
type Schedule struct {
	Cron  string `yaml:"cron"`
	After string `yaml:"after"`
}

// Set reports whether any schedule was given.
func (s Schedule) Set() bool { return s.Cron != "" || s.After != "" }

func (s Schedule) String() string {
	switch {
	case s.Cron != "" && s.After != "":
		return s.Cron + ", after " + s.After
	case s.After != "":
		return "after " + s.After
	}
	return s.Cron
}

// AfterRun is the only event a schedule can follow.
const AfterRun = "run"

// Alert sends a notice through a destination that can carry one (slack, a
// webhook) when a sync fails or rejects too many of its records.
type Alert struct {
	Pos         `yaml:"-"`
	Destination string   `yaml:"destination"`
	On          []string `yaml:"on"` // failure | rejections; default both
	// RejectionRate is the share of a run's records that may be rejected
	// before it alerts; nil means DefaultRejectionRate.
	RejectionRate *Percent `yaml:"rejection_rate"`
}

// Alert events and defaults.
var (
	AlertEvents          = []string{"failure", "rejections"}
	DefaultRejectionRate = Percent(1)
	// NotifierTypes are the destination types whose connector can carry an alert.
	NotifierTypes = []string{"slack", "webhook"}
)

// Wants reports whether the alert fires on event (failure or rejections).
func (a *Alert) Wants(event string) bool {
	if a == nil {
		return false
	}
	if len(a.On) == 0 {
		return true
	}
	for _, e := range a.On {
		if e == event {
			return true
		}
	}
	return false
}

// Threshold is the rejection rate, in percent, above which the alert fires.
func (a *Alert) Threshold() float64 {
	if a == nil || a.RejectionRate == nil {
		return float64(DefaultRejectionRate)
	}
	return float64(*a.RejectionRate)
}

// Retention is how long the state store keeps history; `cohort serve`
// deletes older records once an hour.
type Retention struct {
	Runs       Duration `yaml:"runs"`       // warehouse and sync runs; default 90d
	Rejections Duration `yaml:"rejections"` // rejected rows of sync runs (they hold match keys); default 30d
	// SegmentHistory bounds the output schema's segment_history (who
	// entered and left each segment when); unset keeps it all.
	SegmentHistory Duration `yaml:"segment_history"`
}

// Retention defaults.
var (
	DefaultRunRetention       = 90 * 24 * time.Hour
	DefaultRejectionRetention = 30 * 24 * time.Hour
)

// RunsFor is how long run history is kept.
func (r Retention) RunsFor() time.Duration {
	if r.Runs.Set() {
		return r.Runs.D
	}
	return DefaultRunRetention
}

// RejectionsFor is how long rejected rows are kept.
func (r Retention) RejectionsFor() time.Duration {
	if r.Rejections.Set() {
		return r.Rejections.D
	}
	return DefaultRejectionRetention
}

// cronParser is the one definition of the cron syntax Cohort accepts: five
// fields (minute hour day-of-month month day-of-week) or a descriptor
// (@every 15m, @hourly, @daily, @weekly, @monthly, @yearly).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron reads a cron line or descriptor; cron lines and descriptors
// other than @every are read in loc (the project's timezone) unless the text
// starts with CRON_TZ=. @every also takes the project's 7d and 2w.
func ParseCron(text string, loc *time.Location) (cron.Schedule, error) {
	s := strings.TrimSpace(text)
	if s == "" {
		return nil, fmt.Errorf("empty schedule")
	}
	if rest, ok := strings.CutPrefix(s, "@every "); ok {
		rest = strings.TrimSpace(rest)
		d, err := time.ParseDuration(rest)
		if err != nil {
			pd, perr := ParseDuration(rest)
			if perr != nil {
				return nil, fmt.Errorf("%q is not a duration (write @every 30s, 15m, 2h, 1d or 1w)", rest)
			}
			d = pd.D
		}
		if d < time.Second {
			return nil, fmt.Errorf("the shortest @every is 1s")
		}
		return cron.Every(d), nil
	}
	if loc == nil {
		loc = time.UTC
	}
	if !strings.HasPrefix(s, "CRON_TZ=") && !strings.HasPrefix(s, "TZ=") {
		s = "CRON_TZ=" + loc.String() + " " + s
	}
	sch, err := cronParser.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("%v (write a cron line of 5 fields, minute hour day month weekday, such as \"0 6 * * *\", or @every 15m, @hourly, @daily)", err)
	}
	return sch, nil
}

// checkSchedule reports the problems of a sync's or cohort.yaml's schedule;
// at gives where a key stands, has whether it was written.
func (c *checker) checkSchedule(at func(key string) Pos, has func(key string) bool, s Schedule, afterAllowed bool) {
	if s.Cron != "" {
		key := "schedule"
		if has("schedule.cron") {
			key = "schedule.cron"
		}
		if _, err := ParseCron(s.Cron, c.p.Location()); err != nil {
			c.errs.add(at(key), "schedule %q: %v", s.Cron, err)
		}
	}
	if s.After != "" {
		switch {
		case !afterAllowed:
			c.errs.add(at("schedule.after"), "the warehouse run's schedule takes a cron line or @every, not after")
		case s.After != AfterRun:
			c.errs.add(at("schedule.after"), "schedule after %q: the only event is run (after: run starts the sync when a warehouse run of the project succeeds)", s.After)
		}
	}
}
