// Package meta delivers audiences to a Meta (Facebook) Custom Audience: it
// normalizes and hashes each person's identifiers as Meta documents, sends
// them as {schema, data} rows to the audience's users edge (POST to add,
// DELETE to remove) and, because Meta answers with counts only, refuses
// before sending every row Meta would count as invalid.
package meta
