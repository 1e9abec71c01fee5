package engine

import (
	"strings"

	"github.com/cohort-cdp/cohort/engine/identity"
	"github.com/cohort-cdp/cohort/engine/segments"
	"github.com/cohort-cdp/cohort/engine/sync"
	"github.com/cohort-cdp/cohort/models"
)

// PersonalKeys are the names under which a result carries what the
// project marks as personal data (pii: true): the traits built from such
// columns and the columns themselves. The API masks them for roles
// without access to personal data.
func (s *Service) PersonalKeys() map[string]bool {
	pd := s.Project.Personal()
	out := map[string]bool{}
	for t := range pd.Traits {
		out[t] = true
	}
	for _, cols := range pd.Columns {
		for c := range cols {
			out[c] = true
		}
	}
	for _, sy := range s.Project.Syncs { // a destination field filled from a personal trait
		for field, trait := range sy.Fields {
			if pd.Traits[trait] {
				out[field] = true
			}
		}
	}
	return out
}

// Redact masks, in place, the personal data in a result of Profile,
// Preview, Explain, SyncHistory or a dry run, for output to people without
// access to it (the command line without --show-pii): the columns marked
// pii: true and the traits built from them, the identifiers of personal
// types (e-mail addresses, phone numbers, any read from a pii: true
// column), a sync's match keys and fields filled from personal traits, and
// what a destination quoted. It masks with models.Mask, as the API does for
// the roles without access. The identifiers a command was given (the
// person looked up, the two explained) stay readable: whoever typed them
// has them.
func (s *Service) Redact(v any) {
	pd := s.Project.Personal()
	switch x := v.(type) {
	case *Person:
		if x == nil || x.Profile == nil {
			return
		}
		if x.Identity != nil {
			for i, id := range x.Identity.Identifiers {
				if pd.Identifiers[id.Type] && (Ident{Type: id.Type, Value: id.Value}) != x.Identity.Asked {
					x.Identity.Identifiers[i].Value = models.Mask(id.Value)
				}
			}
		}
		for i, t := range x.Profile.Traits {
			if pd.Traits[t.Name] {
				x.Profile.Traits[i].Value = maskAny(t.Value)
			}
		}
		for _, e := range x.Profile.Events {
			for col, val := range e.Columns {
				if pd.Column(e.Source, col) {
					e.Columns[col] = maskAny(val)
				}
			}
		}
		for i, d := range x.Deliveries {
			s.redactKey(pd, d.Sync, d.Key)
			x.Deliveries[i].Reason = models.MaskValuesIn(d.Reason)
		}
	case *segments.PreviewResult:
		if x == nil {
			return
		}
		for _, m := range x.Sample {
			for t, val := range m.Traits {
				if pd.Traits[t] {
					m.Traits[t] = maskAny(val)
				}
			}
		}
	case *identity.Explanation:
		if x != nil {
			x.Redact(pd)
		}
	case *SyncHistory:
		if x == nil {
			return
		}
		for _, rs := range x.Rejections {
			for i, r := range rs {
				rs[i].Key = s.redactKeyText(pd, r.Sync, r.Key)
				rs[i].Reason = models.MaskValuesIn(r.Reason) // kept masked (sync.Deliver), but rows kept before may not be
			}
		}
	case []*sync.Result:
		for _, r := range x {
			sy := findSync(s.Project, r.Run.Sync)
			for _, c := range r.Sample {
				s.redactKey(pd, r.Run.Sync, c.Key)
				for f, val := range c.Fields {
					if sy == nil || pd.Traits[sy.Fields[f]] {
						c.Fields[f] = maskAny(val)
					}
				}
			}
		}
	}
}

// redactKey masks, in place, the values of a sync's match key filled from
// personal traits; all of them when the sync is not in the YAML (saved
// from the UI), since which traits fill it is not known here.
func (s *Service) redactKey(pd models.Personal, syncName string, key map[string]string) {
	sy := findSync(s.Project, syncName)
	for k, val := range key {
		if sy == nil || pd.Traits[sy.Match[k]] {
			key[k] = models.Mask(val)
		}
	}
}

// redactKeyText is redactKey for a sync key as the state store keeps it:
// the match values in sync.MatchKeys order, joined by sync.KeySep.
func (s *Service) redactKeyText(pd models.Personal, syncName, key string) string {
	sy := findSync(s.Project, syncName)
	var names []string
	if sy != nil {
		names = sync.MatchKeys(sy)
	}
	vals := strings.Split(key, sync.KeySep)
	for i, v := range vals {
		if sy == nil || i >= len(names) || pd.Traits[sy.Match[names[i]]] {
			vals[i] = models.Mask(v)
		}
	}
	return strings.Join(vals, sync.KeySep)
}

// maskAny is models.Mask for a value of any type: text keeps its shape,
// anything else (a date, a number) becomes ***.
func maskAny(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		return models.Mask(x)
	}
	return "***"
}
