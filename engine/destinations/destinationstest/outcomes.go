package destinationstest

import "github.com/cohort-cdp/cohort/engine/destinations"

// Outcomes is a result as one line per record, "accepted" or "rejected:
// the vendor's reason", for connector tests to compare whole.
func Outcomes(r destinations.Result) []string {
	out := make([]string, len(r.Records))
	for i, x := range r.Records {
		out[i] = x.Outcome.String()
		if x.Reason != "" {
			out[i] += ": " + x.Reason
		}
	}
	return out
}
