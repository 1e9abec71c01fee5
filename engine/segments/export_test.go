package segments

// MemberQuery is memberQuery, for the plan tests of segments_test.
var MemberQuery = memberQuery

// Assignment is assignment, for the holdout test of segments_test.
var Assignment = assignment
