package destinations

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEachRecord(t *testing.T) {
	batch := &Batch{Records: []Record{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "d"}}}
	run := func(fail map[string]error) (Result, error, []string) {
		var sent []string
		res, err := EachRecord(batch, func(r *Record) (RecordResult, error) {
			sent = append(sent, r.ID)
			return RecordResult{Ref: "ref-" + r.ID}, fail[r.ID]
		})
		return res, err, sent
	}
	res, err, _ := run(map[string]error{"b": &Error{Status: 400, Message: "bad address"}, "d": &Error{Status: 429, Retryable: true, Message: "slow down"}})
	require.NoError(t, err)
	assert.Equal(t, []RecordResult{{Ref: "ref-a"}, {Outcome: Rejected, Reason: "bad address"}, {Ref: "ref-c"}, {Outcome: Retry, Reason: "HTTP 429: slow down"}}, res.Records)

	_, err, sent := run(map[string]error{"a": &Error{Status: 503, Retryable: true}})
	assert.Equal(t, []string{"a"}, sent, "a first failure is the batch's: the engine waits and sends it again")
	assert.Error(t, err)

	_, err, sent = run(map[string]error{"b": &Error{Status: 401, Message: "bad key"}})
	assert.Equal(t, []string{"a", "b"}, sent)
	assert.EqualError(t, err, "HTTP 401: bad key")

	_, err, _ = run(map[string]error{"c": context.Canceled})
	assert.True(t, errors.Is(err, context.Canceled))
}

func TestLooksLikeEmail(t *testing.T) {
	for s, want := range map[string]bool{"ada@example.com": true, "a.b+c@mail.example.co.uk": true, "ada@": false, "@example.com": false,
		"ada@example": false, "ada@@example.com": false, "a da@example.com": false, "ada@example.": false, "": false} {
		assert.Equal(t, want, LooksLikeEmail(s), s)
	}
}
