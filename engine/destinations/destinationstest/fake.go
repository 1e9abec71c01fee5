package destinationstest

// Fake is what the suite asks of a vendor fake (engine/destinations/<vendor>/fake).
// A fake is an httptest server that checks requests the way the vendor does
// (paths, auth headers, body shapes, batch limits, hashed values) and
// answers the way the vendor does (bodies, per-record errors, 401/413/429/5xx).
type Fake interface {
	// URL is the fake's base URL, to put in the destination's endpoint config.
	URL() string
	// Members is the audience as the vendor holds it now: the person's key
	// as the vendor stores it (the e-mail, or its SHA-256 for hashing
	// vendors; see Case.Key) → the fields it holds for them.
	Members() map[string]map[string]any
	// Erased lists the keys the vendor received an erasure request for.
	Erased() []string
	// Reject makes the vendor refuse, from now on, every record whose key
	// (as Members shows it) is k, with its own per-record error.
	Reject(k string)
	// Fail makes the next n data requests fail with status (429 and 503
	// carry Retry-After: 1).
	Fail(n, status int)
	// Requests counts the data requests received so far, failed or not.
	Requests() int
}
