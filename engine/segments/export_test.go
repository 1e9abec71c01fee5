package segments

// MemberQuery is memberQuery, for the plan tests of segments_test.
var MemberQuery = memberQuery
