package destinations

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Size counts what encoding the record's key and fields would produce,
// escapes and number formats included, without encoding it.
func TestSizeIsTheEncodedSize(t *testing.T) {
	encoded := func(r *Record) int {
		b, err := json.Marshal(struct {
			K map[string]string
			F map[string]any
		}{r.Key, r.Fields})
		if err != nil {
			t.Fatal(err)
		}
		return len(b) + len(r.ID) + len(r.ProfileID) + len(r.Ref)
	}
	at := time.Date(2026, 3, 29, 1, 30, 0, 123000000, time.FixedZone("CEST", 7200))
	for name, r := range map[string]*Record{
		"removal":  {ID: "c1", Op: Remove, ProfileID: "p_1", Key: map[string]string{"email": "a@b.nl"}},
		"no key":   {ID: "c2", Op: Add},
		"empty":    {ID: "c3", Op: Add, Key: map[string]string{}, Fields: map[string]any{}},
		"escapes":  {ID: "c4", Key: map[string]string{"email": "\"q\"\\<b>&\n\r\t\b\f\x01\x7f@x.nl"}, Fields: map[string]any{"s": "a\u2028b\u2029c", "bad": "\xff\xfe", "é": "Zoë 東京 🎉"}},
		"numbers":  {ID: "c5", Fields: map[string]any{"a": 0.0, "b": -1.5, "c": 1e21, "d": 1e-7, "e": 123456789.125, "f": float32(0.1), "g": int64(-42), "h": 7, "i": int32(3), "j": 1e20, "k": 5e-324, "l": math.MaxFloat64}},
		"others":   {ID: "c6", Ref: "01HQ", Fields: map[string]any{"t": true, "f": false, "n": nil, "at": at, "utc": at.UTC(), "list": []string{"a", "b"}, "obj": map[string]any{"x": 1.0}}},
		"two keys": {ID: "c7", Key: map[string]string{"email": "a@b.nl", "phone": "+31612345678"}, Fields: map[string]any{"tier": "vip"}},
	} {
		assert.Equal(t, encoded(r), r.Size(), name)
	}
}

// Counting a record's size allocates nothing: batching measures every
// record a sync sends.
func TestSizeDoesNotEncode(t *testing.T) {
	r := &Record{ID: "0123456789abcdef0123456789abcdef", Op: Update, ProfileID: "p_000000042",
		Key:    map[string]string{"email": "member42@bench.cohort.test"},
		Fields: map[string]any{"first_name": "Name42", "ltv": 499.9, "orders": int64(12), "vip": true, "last_order_at": time.Now()}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = r.Size() }))
}

func BenchmarkSize(b *testing.B) {
	r := &Record{ID: "0123456789abcdef0123456789abcdef", Op: Update, ProfileID: "p_000000042",
		Key:    map[string]string{"email": "member42@bench.cohort.test"},
		Fields: map[string]any{"first_name": "Name42", "ltv": 499.9}}
	for b.Loop() {
		_ = r.Size()
	}
}
