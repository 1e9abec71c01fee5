// Package demo generates a realistic, dirty, deterministic demo webshop in a
// warehouse (schema raw), with the truth behind every identifier (schema
// demo_truth), and writes the demo project's YAML files that describe it.
//
// Schema raw holds what a Dutch/Belgian/German webshop's exports look like:
// shop_customers, orders, web_events, app_events, newsletter,
// support_tickets, lead_ads and cms_accounts, with the usual dirt: e-mails in
// other case and with white space, phones in national and international
// formats, empty strings and NULLs, re-registrations, test accounts, shared
// info@ mailboxes and one family tablet on which many customers log in.
//
// Schema demo_truth says who is who: persons (one row per person, with the
// dice that shaped their data), identifiers (the one person behind every
// normalized identifier of the raw tables, as the demo project's identity
// rules normalize it), junk (identifiers that are no one person's: the
// tablet, info@ mailboxes, test accounts), accounts, cookies, devices and
// params (seed, profiles, anchor time).
//
// Generation is set-based SQL run by DuckDB; every random draw is a hash of
// the seed, a salt and the row's keys, so the same Options give the same rows.
package demo
