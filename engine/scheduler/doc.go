// Package scheduler starts a project's warehouse run and syncs on their
// schedules inside `cohort serve`. It is handed everything it uses — the
// functions that do the work, a clock, the state store's marks and a lease —
// and reaches for nothing else. Each job fires once per slot across every
// replica sharing the state store, never overlaps itself or a warehouse run
// of the project (the project's lease), and after downtime runs a missed job
// once, not once per missed slot.
package scheduler
