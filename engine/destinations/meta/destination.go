package meta

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/cohort-cdp/cohort/engine/destinations"
)

// Column is one of Meta's multi-key schema keys.
type Column struct {
	Key    string // e.g. "EMAIL"
	Hashed bool   // sent as SHA-256 hex, else as normalized text
}

// Columns is the order columns take in a payload's schema. A batch sends
// only the columns at least one of its rows fills.
var Columns = []Column{
	{"EMAIL", true}, {"PHONE", true}, {"EXTERN_ID", false}, {"MADID", false},
	{"FN", true}, {"LN", true}, {"GEN", true}, {"DOBY", true}, {"DOBM", true}, {"DOBD", true},
	{"CT", true}, {"ST", true}, {"ZIP", true}, {"COUNTRY", true},
}

// Hashed reports whether Meta wants the schema key's values hashed.
func Hashed(key string) bool {
	for _, c := range Columns {
		if c.Key == key {
			return c.Hashed
		}
	}
	return false
}

type destination struct {
	c *client
}

// Open makes a Meta Custom Audiences destination from its config.
func Open(cfg destinations.Config) (destinations.Destination, error) {
	return &destination{c: newClient(cfg)}, nil
}

// Write adds (or removes, for a batch of removals) the batch's people.
// Rows Meta would count as invalid are rejected here with the reason and
// never sent: Meta's answer names no row.
func (d *destination) Write(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	res := destinations.Result{Records: make([]destinations.RecordResult, len(b.Records))}
	var rows []map[string]string
	var idx []int
	for i := range b.Records {
		row, err := Row(&b.Records[i])
		if err != nil {
			res.Records[i] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: err.Error()}
			continue
		}
		rows = append(rows, row)
		idx = append(idx, i)
	}
	if len(rows) == 0 {
		return res, nil
	}
	p := newPayload(rows)
	method := "POST"
	if b.Removals() {
		method = "DELETE"
	}
	ans, err := d.c.users(ctx, method, p, sessionFor(b.IdempotencyKey, len(rows)))
	if err != nil {
		return destinations.Result{}, err
	}
	// Meta counts invalid rows and shows a sample of their values; a row
	// whose value is in the sample is rejected with Meta's reason. Others
	// Meta may have counted cannot be told apart and stay accepted.
	for j, row := range p.Data {
		for c, v := range row {
			if !isKey(p.Schema[c]) {
				continue // a country's hash is shared by many rows
			}
			if reason, bad := ans.InvalidSamples[v]; v != "" && bad {
				res.Records[idx[j]] = destinations.RecordResult{Outcome: destinations.Rejected, Reason: "Meta: " + reason}
				break
			}
		}
	}
	return res, nil
}

// Erase removes people from the audience: Meta holds nothing of ours about
// a person but the membership, and offers no other deletion.
func (d *destination) Erase(ctx context.Context, b *destinations.Batch) (destinations.Result, error) {
	return d.Write(ctx, destinations.AsRemovals(b))
}

// Check reads the audience: the token works and can see it, and Meta has
// not blocked uploads to it.
func (d *destination) Check(ctx context.Context) error {
	a, err := d.c.audience(ctx)
	if err != nil {
		return fmt.Errorf("Meta audience %s: %w", d.c.audienceID, err)
	}
	if a.Subtype != "" && a.Subtype != "CUSTOM" {
		return fmt.Errorf("Meta audience %s (%s) is a %s audience; people can be added only to a customer list (subtype CUSTOM): create one in Ads Manager and name its id",
			d.c.audienceID, a.Name, a.Subtype)
	}
	if a.OperationStatus.Code == 471 {
		return fmt.Errorf("Meta audience %s (%s) is flagged and takes no uploads until its restrictions are resolved in Audience Manager: %s",
			d.c.audienceID, a.Name, a.OperationStatus.Description)
	}
	return nil
}

// Row maps a record to its schema key → value (hashed where Meta wants),
// or says why Meta would count it invalid. Removals send only the match
// keys.
func Row(r *destinations.Record) (map[string]string, error) {
	row := map[string]string{}
	put := func(name, key, raw string, norm func(string) (string, error)) error {
		if strings.TrimSpace(raw) == "" {
			return nil
		}
		v, err := norm(raw)
		if err != nil {
			return fmt.Errorf("%s %q %v", name, raw, err)
		}
		if v == "" {
			return nil
		}
		if Hashed(key) {
			v = destinations.SHA256(v)
		}
		row[key] = v
		return nil
	}
	for _, k := range []struct{ name, key string }{{"email", "EMAIL"}, {"phone", "PHONE"}, {"external_id", "EXTERN_ID"}, {"mobile_advertiser_id", "MADID"}} {
		if err := put(k.name, k.key, r.Key[k.name], normalizers[k.key]); err != nil {
			return nil, err
		}
	}
	if len(row) == 0 {
		return nil, fmt.Errorf("no e-mail, phone, external_id or mobile_advertiser_id to match on: Meta would count the row invalid")
	}
	if r.Op == destinations.Remove {
		return row, nil
	}
	for _, f := range []struct{ name, key string }{{"first_name", "FN"}, {"last_name", "LN"}, {"gender", "GEN"},
		{"city", "CT"}, {"state", "ST"}, {"zip", "ZIP"}, {"country", "COUNTRY"}} {
		if err := put(f.name, f.key, text(r.Fields[f.name]), normalizers[f.key]); err != nil {
			return nil, err
		}
	}
	if d := text(r.Fields["birth_date"]); d != "" {
		if !dateRe.MatchString(d) {
			return nil, fmt.Errorf("birth_date %q is not a date (YYYY-MM-DD)", d)
		}
		row["DOBY"], row["DOBM"], row["DOBD"] = destinations.SHA256(d[:4]), destinations.SHA256(d[5:7]), destinations.SHA256(d[8:10])
	}
	return row, nil
}

func isKey(col string) bool {
	return col == "EMAIL" || col == "PHONE" || col == "EXTERN_ID" || col == "MADID"
}

func text(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

var (
	emailRe = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s.]+$`)
	madidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	dateRe  = regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`)
	usZipRe = regexp.MustCompile(`^\d{5}-\d{4}$`)
)

// letters keeps lower-cased letters only: Meta's rule for names, city and
// state ("no punctuation, no spaces"; letters outside ASCII are allowed).
func letters(s string) (string, error) {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s), nil
}

// normalizers are Meta's documented normalization per schema key.
var normalizers = map[string]func(string) (string, error){
	"EMAIL": func(s string) (string, error) {
		e := destinations.NormalizeEmail(s)
		if !emailRe.MatchString(e) {
			return "", fmt.Errorf("is not an e-mail address")
		}
		return e, nil
	},
	"PHONE": func(s string) (string, error) {
		t := strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(t, "+"):
		case strings.HasPrefix(t, "00"):
			t = t[2:]
		case strings.HasPrefix(t, "0"):
			return "", fmt.Errorf("has no country code: write it in E.164 (+31 6 …), or normalize the trait with `normalize: phone`")
		}
		d := strings.TrimLeft(destinations.PhoneDigits(t), "0")
		if len(d) < 7 || len(d) > 15 {
			return "", fmt.Errorf("is not a phone number with country code (7 to 15 digits)")
		}
		return d, nil
	},
	"EXTERN_ID": func(s string) (string, error) { return strings.TrimSpace(s), nil },
	"MADID": func(s string) (string, error) {
		m := strings.ToLower(strings.TrimSpace(s))
		if !madidRe.MatchString(m) {
			return "", fmt.Errorf("is not a mobile advertiser id (IDFA or AAID, 8-4-4-4-12 hex digits)")
		}
		return m, nil
	},
	"FN": letters,
	"LN": letters,
	"CT": letters,
	"ST": letters,
	"GEN": func(s string) (string, error) {
		switch g := strings.ToLower(strings.TrimSpace(s)); g {
		case "m", "male":
			return "m", nil
		case "f", "female":
			return "f", nil
		}
		return "", fmt.Errorf("is not m or f")
	},
	"ZIP": func(s string) (string, error) {
		z := strings.ToLower(strings.Join(strings.Fields(s), ""))
		if usZipRe.MatchString(z) {
			z = z[:5]
		}
		return z, nil
	},
	"COUNTRY": func(s string) (string, error) {
		c := strings.ToLower(strings.TrimSpace(s))
		if len(c) != 2 || c[0] < 'a' || c[0] > 'z' || c[1] < 'a' || c[1] > 'z' {
			return "", fmt.Errorf("is not a two-letter ISO 3166-1 country code")
		}
		return c, nil
	},
}
