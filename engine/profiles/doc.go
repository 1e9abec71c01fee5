// Package profiles builds the golden record: one row per profile with a typed
// column per trait (pick, aggregate, sql and the built-in rfm and churn_risk
// models), plus, per source, an internal table of its rows with the profile
// they belong to, which segments and the profile view read instead of
// re-joining identity_graph.
package profiles
