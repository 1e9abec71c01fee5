package destinations

import "strings"

// EachRecord sends a batch one record at a time, for the vendor calls that
// take a single person (erasure requests, deleting a member). send answers
// for one record; an error it returns is treated the way the sync engine
// treats a whole request's:
//
//   - a retryable or too-large failure of the first record is returned as
//     is, so the engine waits as the vendor said and sends the batch again;
//     after some records went through, it marks the rest Retry instead, so
//     the ones already done are not sent twice;
//   - 401 and 403 (a wrong key, a missing scope) end the batch with the
//     error: no other record would fare better;
//   - any other vendor refusal rejects that record only, with its message.
//
// An error that is not an *Error (the context ended) ends the batch.
func EachRecord(b *Batch, send func(r *Record) (RecordResult, error)) (Result, error) {
	res := Result{Records: make([]RecordResult, len(b.Records))}
	for i := range b.Records {
		rr, err := send(&b.Records[i])
		if err == nil {
			res.Records[i] = rr
			continue
		}
		e, ok := AsError(err)
		switch {
		case !ok || e.Status == 401 || e.Status == 403:
			return Result{}, err
		case e.Retryable || e.TooLarge:
			if i == 0 {
				return Result{}, err
			}
			for j := i; j < len(b.Records); j++ {
				res.Records[j] = RecordResult{Outcome: Retry, Reason: e.Error()}
			}
			return res, nil
		default:
			res.Records[i] = RecordResult{Outcome: Rejected, Reason: e.Message}
		}
	}
	return res, nil
}

// LooksLikeEmail is a loose check that s can be an e-mail address: one @,
// something before it, a dot in the domain and no white space. Connectors
// whose vendor refuses a whole batch for one malformed address use it to
// reject that record alone before sending.
func LooksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at < 1 || strings.Count(s, "@") != 1 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	dom := s[at+1:]
	dot := strings.LastIndexByte(dom, '.')
	return dot > 0 && dot < len(dom)-1
}
