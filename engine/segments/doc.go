// Package segments compiles segment definitions (the condition language of
// segments: in the project) into SQL over profiles and the per-source rows
// tables, stages segment_memberships and segment_history every run with
// deterministic holdouts and splits, and answers previews and overlaps of
// saved or unsaved segments.
package segments
