package demo

import (
	"fmt"
	"strings"
)

// The generator runs in DuckDB (the target itself, or a scratch in-memory one
// whose tables are copied over). Every random draw is a hash of the seed, a
// salt naming the draw and the row's keys: the same seed, profile count and
// anchor give the same data, row for row, on every run.

// rnd is a uniform draw in [0, 1) for the given salt and key expressions; the
// query must have demo_truth.params in scope as g.
func rnd(salt string, keys ...string) string {
	return fmt.Sprintf("(hash(g.seed, '%s', %s) %% 1000003 / 1000003.0)", salt, strings.Join(keys, ", "))
}

// pick is one element of a constant list chosen by the draw r.
func pick(r string, list ...string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	return fmt.Sprintf("([%s])[1 + CAST(floor(%s * %d) AS BIGINT)]", strings.Join(q, ", "), r, len(list))
}

// byCountry picks from a list per country (the expression country).
func byCountry(country, r string, nl, be, de []string) string {
	return fmt.Sprintf("CASE %s WHEN 'NL' THEN %s WHEN 'BE' THEN %s ELSE %s END",
		country, pick(r, nl...), pick(r, be...), pick(r, de...))
}

// between is a whole-second timestamp between the timestamps a and b, placed by the draw r.
func between(a, b, r string) string {
	return fmt.Sprintf("(%s + to_seconds(CAST(floor((epoch(%s) - epoch(%s)) * %s) AS BIGINT)))", a, b, a, r)
}

// daysBefore is the timestamp t minus the draw r times the given days, in whole seconds.
func daysBefore(t string, days float64, r string) string {
	return fmt.Sprintf("(%s - to_seconds(CAST(floor(%s * %g) AS BIGINT)))", t, r, days*86400)
}

// rawEmail writes a person's (normalized) e-mail the way people type it:
// mostly as is, sometimes capitalized, shouted or with white space around.
func rawEmail(email, r string) string {
	return fmt.Sprintf(`CASE WHEN %[1]s IS NULL THEN NULL
      WHEN %[2]s < 0.75 THEN %[1]s
      WHEN %[2]s < 0.85 THEN upper(substr(%[1]s, 1, 1)) || substr(%[1]s, 2)
      WHEN %[2]s < 0.90 THEN upper(%[1]s)
      WHEN %[2]s < 0.95 THEN ' ' || %[1]s || ' '
      ELSE %[1]s || '  ' END`, email, r)
}

// rawPhone writes an E.164 number (+31 6..., +32 47..., +49 151...) in the
// formats of its country; national formats (06-...) only for Dutch numbers,
// so that the project's default_country NL reads every one correctly.
func rawPhone(phone, r string) string {
	n := "substr(" + phone + ", 4)" // the digits after the country code
	return fmt.Sprintf(`CASE WHEN %[1]s IS NULL THEN NULL
      WHEN substr(%[1]s, 1, 3) = '+31' THEN CASE
        WHEN %[2]s < 0.25 THEN '06-' || substr(%[3]s, 2)
        WHEN %[2]s < 0.45 THEN '+31 6 ' || substr(%[3]s, 2, 4) || ' ' || substr(%[3]s, 6, 4)
        WHEN %[2]s < 0.60 THEN '0031' || %[3]s
        WHEN %[2]s < 0.75 THEN '+31 (0)6 ' || substr(%[3]s, 2)
        WHEN %[2]s < 0.90 THEN '06' || substr(%[3]s, 2)
        ELSE %[1]s END
      WHEN substr(%[1]s, 1, 3) = '+32' THEN CASE
        WHEN %[2]s < 0.50 THEN '+32 ' || substr(%[3]s, 1, 3) || ' ' || substr(%[3]s, 4, 2) || ' ' || substr(%[3]s, 6, 2) || ' ' || substr(%[3]s, 8, 2)
        WHEN %[2]s < 0.80 THEN '0032' || %[3]s
        ELSE %[1]s END
      ELSE CASE
        WHEN %[2]s < 0.50 THEN '0049 ' || substr(%[3]s, 1, 3) || ' ' || substr(%[3]s, 4)
        WHEN %[2]s < 0.80 THEN '+49 ' || substr(%[3]s, 1, 3) || ' ' || substr(%[3]s, 4)
        ELSE %[1]s END
      END`, phone, r, n)
}

var (
	firstNL = []string{"Jan", "Sanne", "Daan", "Emma", "Lotte", "Bram", "Sophie", "Lucas", "Julia", "Thijs", "Fleur", "Ruben", "Noah", "Lisa", "Milan", "Eva", "Sem", "Tess", "Finn", "Lieke", "Jesse", "Femke", "Koen", "Laura", "Pieter", "Anouk", "Maarten", "Inge", "Wouter", "Marieke"}
	firstBE = []string{"Arne", "Lore", "Wout", "Elien", "Jens", "Hanne", "Louis", "Marie", "Victor", "Amélie", "Lars", "Ine", "Senne", "Febe", "Mathias", "Camille", "Robbe", "Nele", "Thomas", "Elise"}
	firstDE = []string{"Lukas", "Leonie", "Felix", "Hannah", "Jonas", "Mia", "Paul", "Lena", "Maximilian", "Katharina", "Jan", "Sophie", "Tim", "Laura", "Niklas", "Anna", "Moritz", "Julia", "Florian", "Sarah"}
	lastNL  = []string{"de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer", "Kok", "Vermeulen", "van der Linden", "Koster", "Prins"}
	lastBE  = []string{"Peeters", "Janssens", "Maes", "Jacobs", "Mertens", "Willems", "Claes", "Goossens", "Wouters", "De Smet", "Dubois", "Lambert", "Dupont", "Hermans", "Van Damme", "Michiels", "Leclercq", "Desmet"}
	lastDE  = []string{"Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Neumann", "Schwarz"}
	cityNL  = []string{"Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven", "Groningen", "Tilburg", "Almere", "Breda", "Nijmegen", "Haarlem", "Arnhem", "Zwolle", "Leiden", "Maastricht", "Delft"}
	cityBE  = []string{"Antwerpen", "Gent", "Brussel", "Brugge", "Leuven", "Mechelen", "Hasselt", "Kortrijk", "Liège", "Namur"}
	cityDE  = []string{"Berlin", "Hamburg", "München", "Köln", "Düsseldorf", "Frankfurt am Main", "Münster", "Aachen", "Dortmund", "Essen"}
	mailNL  = []string{"gmail.com", "gmail.com", "hotmail.com", "outlook.com", "ziggo.nl", "kpnmail.nl", "live.nl", "icloud.com", "xs4all.nl"}
	mailBE  = []string{"gmail.com", "gmail.com", "telenet.be", "skynet.be", "hotmail.com", "proximus.be", "outlook.be"}
	mailDE  = []string{"gmail.com", "web.de", "gmx.de", "gmx.net", "t-online.de", "outlook.de", "yahoo.de"}
)

// SharedMailboxes are the info@ addresses several people use (normalized).
var SharedMailboxes = []string{"info@bakkerij-jansen.nl", "info@kapsalon-vera.be", "info@autohaus-weber.de"}

// FamilyTabletMembers is how many different customers log in on the one shared family tablet.
const FamilyTabletMembers = 12

func mailboxList() []string { return SharedMailboxes }

func sqlList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
	}
	return strings.Join(q, ", ")
}

// paramsTable records how the demo was generated; every other fill reads it as g.
var paramsTable = table{Schema: TruthSchema, Name: "params", Columns: cols("seed integer, profiles integer, anchor timestamp"),
	Comment: "how this demo was generated: seed, number of people, and the anchor every timestamp lies within 2 years before"}

// personsTable is the truth: one row per person, with the dice that shaped
// their data. Every generated row derives from it.
var personsTable = table{Schema: TruthSchema, Name: "persons",
	Columns: cols(`person_id integer, first_name text, last_name text, email text, phone text, country text, city text,
		kind text, buyer text, n_orders integer, created_at timestamp, order_cap timestamp, customer_id text,
		customer_id2 text, created2_at timestamp, cart_abandoner boolean, n_cookies integer, n_web integer,
		n_devices integer, n_app integer, in_newsletter boolean, opted_out boolean, is_lead boolean, has_cms boolean,
		n_tickets integer, info_mailbox text, tablet_member boolean`),
	Comment: "the true people behind the demo data (kind: customer, lead, subscriber, visitor; buyer: none, one_time, repeat, loyal, lapsed_vip)",
	Fill: `WITH draw AS ( -- every person's dice
  SELECT t.person_id, g.anchor, g.seed, g.profiles,
    ` + rnd("kind", "t.person_id") + ` AS u_kind,
    ` + rnd("country", "t.person_id") + ` AS u_country,
    ` + rnd("first", "t.person_id") + ` AS u_first,
    ` + rnd("last", "t.person_id") + ` AS u_last,
    ` + rnd("city", "t.person_id") + ` AS u_city,
    ` + rnd("domain", "t.person_id") + ` AS u_domain,
    ` + rnd("phone", "t.person_id") + ` AS u_phone,
    ` + rnd("created", "t.person_id") + ` AS u_created,
    ` + rnd("buyer", "t.person_id") + ` AS u_buyer,
    ` + rnd("n_orders", "t.person_id") + ` AS u_orders,
    ` + rnd("cap", "t.person_id") + ` AS u_cap,
    ` + rnd("cart", "t.person_id") + ` AS u_cart,
    ` + rnd("rereg", "t.person_id") + ` AS u_rereg,
    ` + rnd("rereg_at", "t.person_id") + ` AS u_rereg_at,
    ` + rnd("cookies", "t.person_id") + ` AS u_cookies,
    ` + rnd("web", "t.person_id") + ` AS u_web,
    ` + rnd("app", "t.person_id") + ` AS u_app,
    ` + rnd("devices", "t.person_id") + ` AS u_devices,
    ` + rnd("n_app", "t.person_id") + ` AS u_napp,
    ` + rnd("news", "t.person_id") + ` AS u_news,
    ` + rnd("optout", "t.person_id") + ` AS u_optout,
    ` + rnd("lead", "t.person_id") + ` AS u_lead,
    ` + rnd("cms", "t.person_id") + ` AS u_cms,
    ` + rnd("tickets", "t.person_id") + ` AS u_tickets
  FROM demo_truth.params g, range(1, g.profiles + 1) t(person_id)
), who AS ( -- what kind of person, from where
  SELECT *,
    CASE WHEN u_kind < 0.10 THEN 'visitor' WHEN u_kind < 0.16 THEN 'lead'
         WHEN u_kind < 0.24 THEN 'subscriber' ELSE 'customer' END AS kind, -- 0.24: also in tablet below
    CASE WHEN u_country < 0.60 THEN 'NL' WHEN u_country < 0.85 THEN 'BE' ELSE 'DE' END AS country,
    -- 8 digits that differ for every person (48271 is prime to 10^8)
    lpad(CAST((person_id * 48271 + seed % 100000000 + 100000000) % 100000000 AS VARCHAR), 8, '0') AS digits
  FROM draw
), named AS ( -- names, contact details and buying habits
  SELECT *,
    ` + byCountry("country", "u_first", firstNL, firstBE, firstDE) + ` AS first_name,
    ` + byCountry("country", "u_last", lastNL, lastBE, lastDE) + ` AS last_name,
    ` + byCountry("country", "u_city", cityNL, cityBE, cityDE) + ` AS city,
    ` + byCountry("country", "u_domain", mailNL, mailBE, mailDE) + ` AS domain,
    CASE WHEN kind = 'visitor' OR u_phone >= 0.7 THEN NULL
         WHEN country = 'NL' THEN '+316' || digits
         WHEN country = 'BE' THEN '+3247' || substr(digits, 2)
         ELSE '+49151' || digits END AS phone,
    CASE WHEN kind <> 'customer' THEN 'none'
         WHEN u_buyer < 0.20 THEN 'none' WHEN u_buyer < 0.62 THEN 'one_time'
         WHEN u_buyer < 0.87 THEN 'repeat' WHEN u_buyer < 0.96 THEN 'loyal' ELSE 'lapsed_vip' END AS buyer
  FROM who
), habits AS (
  SELECT *,
    CASE buyer WHEN 'none' THEN 0 WHEN 'one_time' THEN 1
         WHEN 'repeat' THEN 2 + CAST(floor(u_orders * 5) AS BIGINT)
         WHEN 'loyal' THEN 8 + CAST(floor(u_orders * 18) AS BIGINT)
         ELSE 5 + CAST(floor(u_orders * 8) AS BIGINT) END AS n_orders,
    -- lapsed VIPs started long ago; everyone else within the last 2 years
    CASE WHEN buyer = 'lapsed_vip' THEN ` + daysBefore("anchor - INTERVAL 200 DAY", 520, "u_created") + `
         ELSE ` + daysBefore("anchor - INTERVAL 20 DAY", 700, "u_created") + ` END AS created_at,
    kind = 'customer' AND buyer <> 'lapsed_vip' AND u_cart < 0.05 AS cart_abandoner,
    kind = 'customer' AND u_rereg < 0.04 AS reregistered
  FROM named
), tablet AS ( -- the first customers share one family tablet (the same draw as kind, on the first few people only)
  SELECT t.person_id FROM demo_truth.params g, range(1, least(g.profiles, 1000) + 1) t(person_id)
  WHERE ` + rnd("kind", "t.person_id") + ` >= 0.24 ORDER BY t.person_id LIMIT ` + fmt.Sprint(FamilyTabletMembers) + `
)
SELECT h.person_id, first_name, last_name,
  CASE WHEN kind = 'visitor' THEN NULL
       ELSE lower(strip_accents(first_name)) || '.' || replace(lower(strip_accents(last_name)), ' ', '') || h.person_id || '@' || domain END AS email,
  phone, country, city, kind, buyer, n_orders, created_at,
  -- orders happen before this: lapsed VIPs stopped 3 to 5 months ago, cart abandoners more than a week ago
  CASE WHEN buyer = 'lapsed_vip' THEN ` + daysBefore("anchor - INTERVAL 91 DAY", 60, "u_cap") + `
       WHEN cart_abandoner THEN anchor - INTERVAL 8 DAY ELSE anchor END AS order_cap,
  CASE WHEN kind = 'customer' THEN 'C' || (100000 + h.person_id) END AS customer_id,
  CASE WHEN reregistered THEN 'C' || (100000 + profiles + h.person_id) END AS customer_id2,
  CASE WHEN reregistered THEN ` + between("created_at", "anchor", "u_rereg_at") + ` END AS created2_at,
  cart_abandoner,
  -- at most one cookie per page view, so that every cookie shows up in web_events
  CASE WHEN kind = 'customer' THEN least(1 + CAST(floor(u_cookies * 3) AS BIGINT), 2 + CAST(floor(u_web * 10) AS BIGINT))
       WHEN kind = 'visitor' THEN 1 + CAST(floor(u_cookies * 2) AS BIGINT)
       WHEN u_cookies < 0.5 THEN 1 ELSE 0 END AS n_cookies,
  CASE WHEN kind = 'customer' THEN 2 + CAST(floor(u_web * 10) AS BIGINT) + 2 * n_orders
       ELSE 2 + CAST(floor(u_web * 10) AS BIGINT) END AS n_web,
  CASE WHEN kind = 'customer' AND u_app < 0.3 THEN 1 + CAST(u_devices < 0.3 AS BIGINT) ELSE 0 END AS n_devices,
  CASE WHEN kind = 'customer' AND u_app < 0.3 THEN 5 + CAST(floor(u_napp * 15) AS BIGINT) ELSE 0 END AS n_app,
  (kind = 'customer' AND u_news < 0.45) OR kind = 'subscriber' OR (kind = 'lead' AND u_news < 0.3) AS in_newsletter,
  u_optout < 0.2 AS opted_out,
  kind = 'lead' OR (kind = 'customer' AND u_lead < 0.1) AS is_lead,
  (kind = 'customer' AND u_cms < 0.12) OR (kind = 'subscriber' AND u_cms < 0.1) AS has_cms,
  CASE WHEN kind = 'customer' AND u_tickets < 0.15 THEN 1 + CAST(floor(u_tickets / 0.15 * 3) AS BIGINT)
       WHEN kind = 'lead' AND u_tickets < 0.05 THEN 1 ELSE 0 END AS n_tickets,
  -- a few people share their small business's info@ mailbox
  CASE WHEN kind <> 'visitor' AND h.person_id % 97 = 13
       THEN ([` + sqlList(mailboxList()) + `])[1 + CAST(h.person_id // 97 % 3 AS BIGINT)] END AS info_mailbox,
  t.person_id IS NOT NULL AS tablet_member
FROM habits h LEFT JOIN tablet t ON t.person_id = h.person_id`,
}

// The shop's web address per country.
func shopURL(country string) string {
	return "CASE " + country + " WHEN 'BE' THEN 'https://www.tulpshop.be' WHEN 'DE' THEN 'https://www.tulpshop.de' ELSE 'https://www.tulpshop.nl' END"
}

// cookie is a person's c-th browser cookie (an anonymous_id).
func cookie(person, c string) string {
	return fmt.Sprintf("lower(to_hex(hash(g.seed, 'cookie', %s, %s)))", person, c)
}

// device is a person's d-th app device id.
func device(person, d string) string {
	return fmt.Sprintf("to_hex(hash(g.seed, 'device', %s, %s))", person, d)
}

var accountsTable = table{Schema: TruthSchema, Name: "accounts", Columns: cols("customer_id text, person_id integer, kind text"),
	Comment: "every shop account and whose it is (kind: primary, reregistered, test; test accounts belong to no one)",
	Fill: `SELECT customer_id, person_id, 'primary' FROM demo_truth.persons WHERE customer_id IS NOT NULL
UNION ALL
SELECT customer_id2, person_id, 'reregistered' FROM demo_truth.persons WHERE customer_id2 IS NOT NULL
UNION ALL
SELECT 'C' || (100000 + 2 * g.profiles + t.i), NULL, 'test' FROM demo_truth.params g, range(1, 4 + g.profiles // 2000) t(i)`,
}

var cookiesTable = table{Schema: TruthSchema, Name: "cookies", Columns: cols("anonymous_id text, person_id integer, n integer, login_at timestamp"),
	Comment: "every browser cookie of a person and when it first logged in (cookie 0 at registration); the shared family tablet is in junk",
	Fill: `SELECT ` + cookie("p.person_id", "p.c") + `, p.person_id, p.c, CASE WHEN p.customer_id IS NOT NULL THEN ` + cookieLogin("p") + ` END
FROM demo_truth.params g, (SELECT p.*, t.c FROM demo_truth.persons p, range(p.n_cookies) t(c)) p`,
}

// cookieLogin is when the cookie c of a person (alias a, with person_id,
// created_at and the cookie number in c) first logged in: cookie 0 at
// registration, the others some time later.
func cookieLogin(a string) string {
	return "CASE WHEN " + a + ".c = 0 THEN " + a + ".created_at ELSE " +
		between(a+".created_at", "g.anchor", rnd("login", a+".person_id", a+".c")) + " END"
}

var devicesTable = table{Schema: TruthSchema, Name: "devices", Columns: cols("device_id text, person_id integer"),
	Comment: "every app device of a person",
	Fill:    `SELECT ` + device("p.person_id", "t.d") + `, p.person_id FROM demo_truth.params g, demo_truth.persons p, range(p.n_devices) t(d)`,
}

// testEmail is the e-mail of the i-th test account.
const testEmail = `CASE t.i % 4 WHEN 0 THEN 'test@tulpshop.nl' WHEN 1 THEN 'Test@Gmail.com'
       WHEN 2 THEN 'qa' || t.i || '@example.com' ELSE 'jan@example.com' END`

var shopCustomers = table{Schema: RawSchema, Name: "shop_customers",
	Columns: cols("customer_id text, email text, phone text, first_name text, last_name text, city text, country text, created_at timestamp, updated_at timestamp"),
	Comment: "webshop accounts: some people registered twice (same e-mail in other case), test accounts, empty phones",
	Fill: `WITH accounts AS ( -- every customer's account, and a second one for those who registered again
  SELECT p.*, p.customer_id AS account_id, p.created_at AS registered_at, 0 AS n FROM demo_truth.persons p WHERE p.customer_id IS NOT NULL
  UNION ALL
  SELECT p.*, p.customer_id2, p.created2_at, 1 FROM demo_truth.persons p WHERE p.customer_id2 IS NOT NULL
)
SELECT a.account_id,
  CASE WHEN a.customer_id2 IS NULL THEN ` + rawEmail("a.email", rnd("shop_email", "a.person_id")) + `
       WHEN a.n = 0 THEN a.email
       ELSE upper(substr(a.email, 1, 1)) || substr(a.email, 2) END,
  CASE WHEN a.phone IS NULL THEN (CASE WHEN ` + rnd("shop_nophone", "a.person_id", "a.n") + ` < 0.5 THEN NULL ELSE '' END)
       WHEN ` + rnd("shop_phone", "a.person_id", "a.n") + ` < 0.1 THEN ''
       ELSE ` + rawPhone("a.phone", rnd("shop_phone_fmt", "a.person_id", "a.n")) + ` END,
  a.first_name, a.last_name, a.city, a.country, a.registered_at,
  ` + between("a.registered_at", "g.anchor", rnd("shop_updated", "a.person_id", "a.n")) + `
FROM demo_truth.params g, accounts a
UNION ALL -- staff test accounts
SELECT 'C' || (100000 + 2 * g.profiles + t.i), ` + testEmail + `, NULL, 'Test', 'Account', 'Amsterdam', 'NL',
  ` + daysBefore("g.anchor", 700, rnd("test_created", "t.i")) + `, g.anchor - INTERVAL 1 DAY
FROM demo_truth.params g, range(1, 4 + g.profiles // 2000) t(i)`,
}

// orderPerson is the person_id behind an order_id (order ids are built from it).
const orderPerson = "(o.order_id - 1000000000) // 64"

var orders = table{Schema: RawSchema, Name: "orders",
	Columns: cols("order_id integer, customer_id text, email text, total decimal, currency text, status text, ordered_at timestamp"),
	Comment: "orders: many one-time buyers, loyal repeat buyers, lapsed VIPs (big spenders, last order > 90 days ago)",
	Fill: `SELECT 1000000000 + p.person_id * 64 + t.k,
  -- a re-registered customer placed the last order under the new account
  CASE WHEN p.customer_id2 IS NOT NULL AND t.k = p.n_orders - 1 AND p.n_orders > 1 THEN p.customer_id2 ELSE p.customer_id END,
  CASE WHEN ` + rnd("order_noemail", "p.person_id", "t.k") + ` < 0.05 THEN NULL
       ELSE ` + rawEmail("p.email", rnd("order_email", "p.person_id", "t.k")) + ` END,
  floor(CASE p.buyer WHEN 'lapsed_vip' THEN 150 + ` + rnd("total", "p.person_id", "t.k") + ` * 450
        WHEN 'loyal' THEN 20 + ` + rnd("total", "p.person_id", "t.k") + ` * 130
        ELSE 12 + ` + rnd("total", "p.person_id", "t.k") + ` * 110 END) + 0.95,
  'EUR',
  CASE WHEN ` + rnd("status", "p.person_id", "t.k") + ` < 0.04 THEN 'cancelled'
       WHEN ` + rnd("status", "p.person_id", "t.k") + ` < 0.07 THEN 'refunded' ELSE 'completed' END,
  ` + between("p.created_at", "p.order_cap", rnd("ordered_at", "p.person_id", "t.k")) + `
FROM demo_truth.params g, demo_truth.persons p, range(p.n_orders) t(k)`,
}

var webEvents = table{Schema: RawSchema, Name: "web_events",
	Columns: cols("event_id integer, anonymous_id text, user_id text, event_name text, url text, product_id text, value decimal, occurred_at timestamp"),
	Comment: "web tracking: cookies that log in later, several per person, one shared family tablet, cart abandoners",
	Fill: `WITH browse AS ( -- every person's page views, spread over their cookies
  SELECT p.person_id, p.customer_id, p.country, p.created_at, t.k, t.k % p.n_cookies AS c,
    ` + rnd("event", "p.person_id", "t.k") + ` AS u_event,
    ` + rnd("product", "p.person_id", "t.k") + ` AS u_product,
    ` + between("greatest(p.created_at - INTERVAL 30 DAY, g.anchor - INTERVAL 729 DAY)", "g.anchor", rnd("browse_at", "p.person_id", "t.k")) + ` AS occurred_at,
    ` + rnd("logged_out", "p.person_id", "t.k") + ` AS u_out
  FROM demo_truth.params g, demo_truth.persons p, range(p.n_web) t(k)
  WHERE p.n_cookies > 0
), browse_events AS (
  SELECT b.person_id * 1000 + b.k AS event_id, ` + cookie("b.person_id", "b.c") + ` AS anonymous_id,
    -- logged in once the cookie has logged in (as demo_truth.cookies says), unless the visitor logged out
    CASE WHEN b.occurred_at >= ` + cookieLogin("b") + ` AND b.u_out < 0.85 THEN b.customer_id END AS user_id,
    CASE WHEN b.u_event < 0.50 THEN 'page_view' WHEN b.u_event < 0.78 THEN 'product_view'
         WHEN b.u_event < 0.88 THEN 'add_to_cart' WHEN b.u_event < 0.91 THEN 'checkout_started' ELSE 'search' END AS event_name,
    b.country, 10000 + CAST(floor(b.u_product * 800) AS BIGINT) AS product, b.u_product, b.occurred_at
  FROM demo_truth.params g, browse b
), abandoned AS ( -- cart abandoners came back this week, filled a cart and left
  SELECT p.person_id * 1000 + 990 + t.k AS event_id, ` + cookie("p.person_id", "0") + ` AS anonymous_id, p.customer_id AS user_id,
    (['page_view', 'product_view', 'add_to_cart'])[1 + t.k] AS event_name, p.country,
    10000 + CAST(floor(` + rnd("cart_product", "p.person_id") + ` * 800) AS BIGINT) AS product,
    ` + rnd("cart_product", "p.person_id") + ` AS u_product,
    ` + daysBefore("g.anchor - INTERVAL 1 HOUR", 6, rnd("cart_at", "p.person_id")) + ` + to_seconds(t.k * 40) AS occurred_at
  FROM demo_truth.params g, demo_truth.persons p, range(3) t(k)
  WHERE p.cart_abandoner
), tablet AS ( -- the family tablet: one cookie, many customers
  SELECT 2000000000000 + p.person_id * 100 + t.k AS event_id, lower(to_hex(hash(g.seed, 'family tablet'))) AS anonymous_id,
    p.customer_id AS user_id, CASE WHEN t.k % 3 = 0 THEN 'page_view' ELSE 'product_view' END AS event_name, p.country,
    10000 + CAST(floor(` + rnd("tablet_product", "p.person_id", "t.k") + ` * 800) AS BIGINT) AS product,
    ` + rnd("tablet_product", "p.person_id", "t.k") + ` AS u_product,
    ` + between("p.created_at", "g.anchor", rnd("tablet_at", "p.person_id", "t.k")) + ` AS occurred_at
  FROM demo_truth.params g, demo_truth.persons p, range(15) t(k)
  WHERE p.tablet_member
), pages AS (
  SELECT * FROM browse_events UNION ALL SELECT * FROM abandoned UNION ALL SELECT * FROM tablet
)
SELECT event_id, anonymous_id, user_id, event_name,
  ` + shopURL("country") + ` || CASE event_name
    WHEN 'page_view' THEN ` + pick("u_product", "/", "/sale", "/nieuw", "/wonen", "/keuken", "/tuin", "/cadeaus", "/verlichting") + `
    WHEN 'search' THEN '/zoeken?q=' || ` + pick("u_product", "vaas", "kussen", "lamp", "plaid", "pannenset", "kaars", "bloempot") + `
    WHEN 'checkout_started' THEN '/checkout' ELSE '/p/' || product END,
  CASE WHEN event_name IN ('product_view', 'add_to_cart') THEN 'P' || product END,
  CASE WHEN event_name IN ('product_view', 'add_to_cart') THEN 4.95 + product * 37 % 120 END,
  occurred_at
FROM pages
UNION ALL -- every order: checkout, then the thank-you page
SELECT 1000000000000 + (o.order_id - 1000000000) * 2 + t.s, ` + cookie(orderPerson, "0") + `, o.customer_id,
  CASE t.s WHEN 0 THEN 'checkout_started' ELSE 'order_completed' END,
  ` + shopURL("p.country") + ` || CASE t.s WHEN 0 THEN '/checkout' ELSE '/bedankt' END,
  NULL, CASE t.s WHEN 1 THEN o.total END,
  o.ordered_at - to_seconds(180 * (1 - t.s))
FROM demo_truth.params g, cohort_demo.orders o JOIN demo_truth.persons p ON p.person_id = ` + orderPerson + `, range(2) t(s)`,
}

var appEvents = table{Schema: RawSchema, Name: "app_events",
	Columns: cols("event_id integer, device_id text, user_id text, email text, event_name text, occurred_at timestamp"),
	Comment: "mobile app events: devices, log-ins that sometimes carry the e-mail",
	Fill: `WITH taps AS (
  SELECT p.person_id, p.customer_id, p.email, t.k, t.k % p.n_devices AS d,
    ` + rnd("app_event", "p.person_id", "t.k") + ` AS u_event,
    ` + between("p.created_at", "g.anchor", rnd("app_at", "p.person_id", "t.k")) + ` AS occurred_at,
    ` + rnd("app_user", "p.person_id", "t.k") + ` AS u_user,
    ` + rnd("app_email", "p.person_id", "t.k") + ` AS u_email,
    ` + device("p.person_id", "t.k % p.n_devices") + ` AS device_id
  FROM demo_truth.params g, demo_truth.persons p, range(p.n_app) t(k)
  WHERE p.n_app > 0
)
SELECT 3000000000000 + person_id * 100 + k, device_id,
  CASE WHEN k < 2 OR u_user < 0.8 THEN customer_id END,
  -- the first event of each device is the log-in; it carries the e-mail most of the time
  CASE WHEN k < 2 AND u_email < 0.6 THEN ` + rawEmail("email", "u_email / 0.6") + ` END,
  CASE WHEN k < 2 THEN 'login' WHEN u_event < 0.15 THEN 'app_open' WHEN u_event < 0.65 THEN 'screen_view'
       WHEN u_event < 0.90 THEN 'product_view' ELSE 'add_to_cart' END,
  occurred_at
FROM taps`,
}

var newsletter = table{Schema: RawSchema, Name: "newsletter",
	Columns: cols("subscriber_id text, email text, opted_in boolean, consent_at timestamp, source text, updated_at timestamp"),
	Comment: "newsletter sign-ups and later opt-outs; e-mails typed with capitals and spaces",
	Fill: `WITH signups AS (
  SELECT p.person_id, coalesce(p.info_mailbox, p.email) AS email, p.opted_out,
    ` + between("p.created_at", "g.anchor", rnd("news_at", "p.person_id")) + ` AS consent_at,
    ` + rnd("news_later", "p.person_id") + ` AS u_later,
    ` + rnd("news_email", "p.person_id") + ` AS u_email,
    ` + pick(rnd("news_source", "p.person_id"), "checkout", "footer", "popup", "facebook_lead", "winactie") + ` AS source,
    g.anchor
  FROM demo_truth.params g, demo_truth.persons p
  WHERE p.in_newsletter
)
SELECT 'S' || (person_id * 2), ` + rawEmail("email", "u_email") + `, true, consent_at, source, consent_at FROM signups
UNION ALL -- some unsubscribed later
SELECT 'S' || (person_id * 2 + 1), ` + rawEmail("email", "1 - u_email") + `, false, consent_at, 'unsubscribe_link',
  ` + between("consent_at", "anchor", "u_later") + ` FROM signups WHERE opted_out
UNION ALL -- the team tried the form
SELECT 'S0' || t.i, CASE t.i WHEN 1 THEN 'test@tulpshop.nl' ELSE ' TEST@tulpshop.nl' END, true, g.anchor - INTERVAL 400 DAY, 'footer', g.anchor - INTERVAL 400 DAY
FROM demo_truth.params g, range(1, 3) t(i)`,
}

var supportTickets = table{Schema: RawSchema, Name: "support_tickets",
	Columns: cols("ticket_id integer, email text, phone text, subject text, status text, created_at timestamp"),
	Comment: "support tickets: phones in Dutch, Belgian and German formats, missing e-mails, shared info@ mailboxes",
	Fill: `SELECT 500000 + p.person_id * 4 + t.k,
  CASE WHEN p.info_mailbox IS NOT NULL THEN upper(substr(p.info_mailbox, 1, 1)) || substr(p.info_mailbox, 2)
       WHEN ` + rnd("ticket_email", "p.person_id", "t.k") + ` < 0.10 THEN NULL
       WHEN ` + rnd("ticket_email", "p.person_id", "t.k") + ` < 0.15 THEN ''
       ELSE ` + rawEmail("p.email", rnd("ticket_email_fmt", "p.person_id", "t.k")) + ` END,
  CASE WHEN ` + rnd("ticket_phone", "p.person_id", "t.k") + ` < 0.7 THEN ` + rawPhone("p.phone", rnd("ticket_phone_fmt", "p.person_id", "t.k")) + ` END,
  ` + pick(rnd("subject", "p.person_id", "t.k"), "Waar blijft mijn bestelling?", "Retour aanvragen", "Product beschadigd ontvangen",
		"Factuur nodig", "Adres wijzigen", "Wo bleibt meine Bestellung?", "Betaling mislukt", "Vraag over levertijd") + `,
  ` + pick(rnd("ticket_status", "p.person_id", "t.k"), "open", "pending", "solved", "solved", "closed") + `,
  ` + between("p.created_at", "g.anchor", rnd("ticket_at", "p.person_id", "t.k")) + `
FROM demo_truth.params g, demo_truth.persons p, range(p.n_tickets) t(k)`,
}

var leadAds = table{Schema: RawSchema, Name: "lead_ads",
	Columns: cols("lead_id text, email text, phone text, full_name text, campaign text, created_at timestamp"),
	Comment: "Facebook lead-ads leads; some never became customers",
	Fill: `SELECT 'l:' || printf('%012x', hash(g.seed, 'lead', p.person_id) % 281474976710656),
  CASE WHEN p.info_mailbox IS NOT NULL THEN p.info_mailbox
       ELSE ` + rawEmail("p.email", rnd("lead_email", "p.person_id")) + ` END,
  CASE WHEN p.phone IS NULL THEN NULL
       WHEN ` + rnd("lead_phone", "p.person_id") + ` < 0.1 THEN ''
       ELSE ` + rawPhone("p.phone", rnd("lead_phone_fmt", "p.person_id")) + ` END,
  CASE WHEN ` + rnd("lead_name", "p.person_id") + ` < 0.1 THEN upper(p.first_name || ' ' || p.last_name)
       ELSE p.first_name || ' ' || p.last_name END,
  ` + pick(rnd("campaign", "p.person_id"), "fb_voorjaarsactie_2025", "fb_black_friday_2025", "fb_winactie_2026", "ig_nieuwe_collectie_2026") + `,
  ` + daysBefore("greatest(p.created_at, g.anchor - INTERVAL 700 DAY)", 25, rnd("lead_at", "p.person_id")) + `
FROM demo_truth.params g, demo_truth.persons p
WHERE p.is_lead
UNION ALL -- the marketer tested the form
SELECT 'l:test' || t.i, CASE t.i WHEN 1 THEN 'test@tulpshop.nl' ELSE 'lead' || t.i || '@example.com' END, NULL, 'Test Lead',
  'fb_winactie_2026', g.anchor - INTERVAL 30 DAY
FROM demo_truth.params g, range(1, 3) t(i)`,
}

var cmsAccounts = table{Schema: RawSchema, Name: "cms_accounts",
	Columns: cols("account_id integer, email text, username text, created_at timestamp, last_login_at timestamp"),
	Comment: "accounts of the shop's inspiration blog (comments, wish lists)",
	Fill: `SELECT 70000 + p.person_id, ` + rawEmail("coalesce(p.info_mailbox, p.email)", rnd("cms_email", "p.person_id")) + `,
  lower(strip_accents(p.first_name)) || '_' || (p.person_id % 1000),
  ` + between("p.created_at", "g.anchor", rnd("cms_at", "p.person_id")) + `,
  CASE WHEN ` + rnd("cms_login", "p.person_id") + ` < 0.8 THEN ` + daysBefore("g.anchor", 90, rnd("cms_login", "p.person_id")) + ` END
FROM demo_truth.params g, demo_truth.persons p
WHERE p.has_cms
UNION ALL
SELECT 69999, 'test@tulpshop.nl', 'admin', g.anchor - INTERVAL 720 DAY, g.anchor - INTERVAL 2 DAY FROM demo_truth.params g`,
}
