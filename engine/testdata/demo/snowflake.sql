-- Cohort run of project "shop" for snowflake, output schema "cohort".
-- Tables are built under *__stage_RUNID names and published by the last statements.

CREATE SCHEMA IF NOT EXISTS "COHORT";

-- ==== step: identity ====
-- identity resolution
--   identifier customer_id (models/identity.yaml:5:7): limit 1
--   identifier email (models/identity.yaml:7:7): normalize email, exclude ^test@ | @example\.com$ | ^info@, limit 3
--   identifier phone (models/identity.yaml:14:7): normalize phone
--   identifier device_id (models/identity.yaml:17:7): max_links 10
--   identifier anonymous_id (models/identity.yaml:19:7): max_links 10
--   source shop_customers (models/sources.yaml:3:5): customer_id as customer_id, email as email, phone as phone
--   source orders (models/sources.yaml:18:5): customer_id as customer_id, email as email
--   source web_events (models/sources.yaml:26:5): anonymous_id as anonymous_id, user_id as customer_id
--   source app_events (models/sources.yaml:35:5): device_id as device_id, user_id as customer_id, email as email
--   source newsletter (models/sources.yaml:45:5): email as email
--   source support_tickets (models/sources.yaml:51:5): email as email, phone as phone
--   source lead_ads (models/sources.yaml:59:5): email as email, phone as phone
--   source cms_accounts (models/sources.yaml:67:5): email as email
CREATE SCHEMA IF NOT EXISTS "COHORT";

-- try: extend the previous run: when its state (_identity_state, _identity_links, _identity_components) is usable and
-- every source only gained rows from its watermark on, read the new rows alone and resolve again only the
-- previous profiles they touch

-- in Go: abandon unless the previous run's state is usable: no --full-refresh, every source has a timestamp, the previous
-- tables exist and _identity_state was written under the same rules and sources (one fingerprint, 313adb7fdf0db4a71156ff2bc9fc7ed7)
-- reading:
-- SELECT DISTINCT fingerprint FROM "COHORT"."_IDENTITY_STATE"

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_SALT_RUNID";

-- the key salt of the previous run
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_SALT_RUNID" AS
SELECT min(salt) AS salt FROM "COHORT"."_IDENTITY_STATE";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_MARKS_RUNID";

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_MARKS_RUNID" AS
SELECT 'shop_customers' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'shop_customers') AS since FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'shop_customers') p
UNION ALL
SELECT 'orders' AS source, (SELECT max(CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."ORDERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."ORDERS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'orders') AS since FROM "COHORT_DEMO"."ORDERS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'orders') p
UNION ALL
SELECT 'web_events' AS source, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."WEB_EVENTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."WEB_EVENTS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'web_events') AS since FROM "COHORT_DEMO"."WEB_EVENTS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'web_events') p
UNION ALL
SELECT 'app_events' AS source, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."APP_EVENTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."APP_EVENTS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'app_events') AS since FROM "COHORT_DEMO"."APP_EVENTS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'app_events') p
UNION ALL
SELECT 'newsletter' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."NEWSLETTER" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."NEWSLETTER" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'newsletter') AS since FROM "COHORT_DEMO"."NEWSLETTER" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'newsletter') p
UNION ALL
SELECT 'support_tickets' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'support_tickets') AS since FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'support_tickets') p
UNION ALL
SELECT 'lead_ads' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."LEAD_ADS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."LEAD_ADS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'lead_ads') AS since FROM "COHORT_DEMO"."LEAD_ADS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'lead_ads') p
UNION ALL
SELECT 'cms_accounts' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'cms_accounts') AS since FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'cms_accounts') p;

-- in Go: abandon unless, per source, the rows before the previous watermark are as many as then and the rows at it
-- no fewer (a row deleted, back-dated or updated changes them)
-- reading:
-- SELECT source, row_count, coalesce(prev_rows, -1), coalesce(before_since, -1), coalesce(prev_before, -1), coalesce(at_since, -1), coalesce(prev_at, -1) FROM "COHORT"."_WORK_ID_MARKS_RUNID"

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_NEW_NODES_RUNID";

-- nodes: every distinct identifier that entered the graph, with the first and last time a source saw it
-- customer_id
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_NEW_NODES_RUNID" AS
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || identifier_value) END AS key, 'customer_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- orders.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."ORDERS" src
    WHERE CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
      AND CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
  ) normalized) "ORDERS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- web_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."WEB_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
  ) normalized) "WEB_EVENTS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."APP_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
  ) normalized) "APP_EVENTS"
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- orders.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."ORDERS" src
    WHERE CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
      AND CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
  ) normalized) "ORDERS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.email
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v3
    FROM "COHORT_DEMO"."APP_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
  ) normalized) "APP_EVENTS"
    WHERE v3 IS NOT NULL
    UNION ALL
    -- newsletter.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."NEWSLETTER" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'newsletter')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'newsletter')
  ) normalized) "NEWSLETTER"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- support_tickets.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
  ) normalized) "SUPPORT_TICKETS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- lead_ads.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."LEAD_ADS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
  ) normalized) "LEAD_ADS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- cms_accounts.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."CMS_ACCOUNTS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'cms_accounts')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'cms_accounts')
  ) normalized) "CMS_ACCOUNTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- phone
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || identifier_value) END AS key, 'phone' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.phone
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v3 IS NOT NULL
    UNION ALL
    -- support_tickets.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
  ) normalized) "SUPPORT_TICKETS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- lead_ads.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."LEAD_ADS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
  ) normalized) "LEAD_ADS"
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- anonymous_id
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || identifier_value) END AS key, 'anonymous_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- web_events.anonymous_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."WEB_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
  ) normalized) "WEB_EVENTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- device_id
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || identifier_value) END AS key, 'device_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- app_events.device_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."APP_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
  ) normalized) "APP_EVENTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_SEEN_RUNID";

-- seen: the new rows' keys the previous runs read
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_SEEN_RUNID" AS
SELECT n.key, n.identifier_type, n.identifier_value, coalesce(r.root, n.key) AS comp
FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" n
JOIN "COHORT"."_IDENTITY_KEYS" k ON k.key = n.key
LEFT JOIN "COHORT"."_IDENTITY_ROOTS" r ON r.node = n.key;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_KNOWN_RUNID";

-- known: the new rows' identifiers already in a profile
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_KNOWN_RUNID" AS
SELECT n.key, p.profile_id FROM "COHORT"."_WORK_ID_SEEN_RUNID" n
JOIN "COHORT"."_IDENTITY_PROFILES" p ON p.comp = n.comp;

-- in Go: abandon when a new identifier shares a 64-bit key with another (the rebuild salts the hash)
-- reading:
-- SELECT (SELECT count(*) - count(DISTINCT key) FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID") + (
--   SELECT count(*) FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" n
--   WHERE n.key IN (SELECT key FROM "COHORT"."_WORK_ID_SEEN_RUNID") AND n.key NOT IN (SELECT key FROM "COHORT"."_WORK_ID_KNOWN_RUNID")
--     AND NOT EXISTS (SELECT 1 FROM "COHORT"."IDENTITY_REJECTIONS" r WHERE r.rule IN ('exclude', 'max_links')
--       AND r.identifier_type = n.identifier_type AND r.identifier_value = n.identifier_value))

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_KEYS__STAGE_RUNID";

-- _identity_keys: the new identifiers' keys, appended in the swap
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_KEYS__STAGE_RUNID" AS
SELECT key FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" n WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."_WORK_ID_SEEN_RUNID" x WHERE x.key = n.key);

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EXCLUDED_RUNID";

-- excluded: identifiers an exclude rule keeps out of the graph, with the first pattern they match
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EXCLUDED_RUNID" AS
SELECT key, identifier_type, identifier_value, detail
FROM (
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR)
    WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR)
    WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR) END AS detail
  FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID"
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '^test@', $2 = 'matches ^test@', $3 = '@example\.com$', $4 = 'matches @example\.com$', $5 = '^info@', $6 = 'matches ^info@';

-- excluded identifiers leave the graph
DELETE FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_NEW_EDGES_RUNID" AS
WITH -- source shop_customers (models/sources.yaml:3:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_SHOP_CUSTOMERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v3) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'shop_customers')
  ) normalized
),
-- source orders (models/sources.yaml:18:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_ORDERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."ORDERS" src
    WHERE CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
      AND CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'orders')
  ) normalized
),
-- source web_events (models/sources.yaml:26:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_WEB_EVENTS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END AS v1,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."WEB_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'web_events')
  ) normalized
),
-- source app_events (models/sources.yaml:35:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_APP_EVENTS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v3) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END AS v1,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v3
    FROM "COHORT_DEMO"."APP_EVENTS" src
    WHERE CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
      AND CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'app_events')
  ) normalized
),
-- source support_tickets (models/sources.yaml:51:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_SUPPORT_TICKETS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'support_tickets')
  ) normalized
),
-- source lead_ads (models/sources.yaml:59:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_LEAD_ADS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."LEAD_ADS" src
    WHERE CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
      AND CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'lead_ads')
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM "SOURCE_SHOP_CUSTOMERS" CROSS JOIN (VALUES (1, 2), (1, 3), (2, 3)) AS pair(i, j)
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_ORDERS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_WEB_EVENTS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM "SOURCE_APP_EVENTS" CROSS JOIN (VALUES (1, 2), (1, 3), (2, 3)) AS pair(i, j)
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_SUPPORT_TICKETS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_LEAD_ADS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID" WHERE a IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID") OR b IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_TOUCHED_RUNID";

-- the identifiers a new link touches
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_TOUCHED_RUNID" AS
SELECT a AS key FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID"
UNION
SELECT b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_TOUCHED_LINKS_RUNID";

-- their kept links
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_TOUCHED_LINKS_RUNID" AS
SELECT p.a, p.b FROM "COHORT"."_IDENTITY_LINKS" p JOIN "COHORT"."_WORK_ID_TOUCHED_RUNID" t ON t.key = p.a
UNION ALL
SELECT p.a, p.b FROM "COHORT"."_IDENTITY_LINKS" p JOIN "COHORT"."_WORK_ID_TOUCHED_RUNID" t ON t.key = p.b;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_HUB_LINKS_RUNID";

-- their links, kept and new, each once
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_HUB_LINKS_RUNID" AS
SELECT a, b FROM "COHORT"."_WORK_ID_TOUCHED_LINKS_RUNID"
UNION
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_HUBS_TOUCHED_RUNID";

-- junk hubs: identifiers linked to more distinct identifiers than max_links allows
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_HUBS_TOUCHED_RUNID" AS
SELECT n.key, n.identifier_type, n.identifier_value,
  'linked to ' || CAST(l.links AS VARCHAR) || ' distinct identifiers (max_links ' || CASE n.identifier_type WHEN 'device_id' THEN '10' WHEN 'anonymous_id' THEN '10' END || ')' AS detail
FROM (SELECT key, count(*) AS links FROM (SELECT a AS key FROM "COHORT"."_WORK_ID_HUB_LINKS_RUNID" e UNION ALL SELECT b FROM "COHORT"."_WORK_ID_HUB_LINKS_RUNID" e) ends GROUP BY key) l
JOIN (SELECT key, identifier_type, identifier_value FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_TOUCHED_RUNID")) n ON n.key = l.key
WHERE (n.identifier_type = 'device_id' AND l.links > 10)
   OR (n.identifier_type = 'anonymous_id' AND l.links > 10);

-- in Go: abandon when an identifier a new link touches became a junk hub (it takes links out of previous profiles)
-- reading:
-- SELECT count(*) FROM "COHORT"."_WORK_ID_HUBS_TOUCHED_RUNID" h WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."IDENTITY_REJECTIONS" p WHERE p.rule = 'max_links' AND p.identifier_type = h.identifier_type AND p.identifier_value = h.identifier_value)

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_HUBS_RUNID";

-- junk hubs: the previous ones, with the neighbours counted again where new links touch them
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_HUBS_RUNID" AS
SELECT key, identifier_type, identifier_value, detail FROM "COHORT"."_WORK_ID_HUBS_TOUCHED_RUNID"
UNION ALL
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || identifier_type || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || identifier_type || ':' || identifier_value) END, identifier_type, identifier_value, detail FROM "COHORT"."IDENTITY_REJECTIONS" p
WHERE rule = 'max_links' AND NOT EXISTS (SELECT 1 FROM "COHORT"."_WORK_ID_HUBS_TOUCHED_RUNID" h WHERE h.identifier_type = p.identifier_type AND h.identifier_value = p.identifier_value);

DELETE FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID");

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_AFFECTED_RUNID";

-- affected: the previous profiles the new rows touch, resolved again
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_AFFECTED_RUNID" AS
SELECT DISTINCT profile_id, component FROM "COHORT"."_IDENTITY_COMPONENTS" WHERE component IN (
  SELECT c.component FROM "COHORT"."_IDENTITY_COMPONENTS" c
  WHERE c.profile_id IN (SELECT DISTINCT profile_id FROM "COHORT"."_WORK_ID_KNOWN_RUNID"));

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_OLD_RUNID";

CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_OLD_RUNID" AS
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || identifier_type || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || identifier_type || ':' || identifier_value) END AS key, identifier_type, identifier_value, first_seen_at, last_seen_at, profile_id
FROM "COHORT"."IDENTITY_GRAPH"
WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_WORK_ID_AFFECTED_RUNID");

-- in Go: abandon when a new identifier has the key of another one of identity_graph
-- reading:
-- SELECT count(*) FROM "COHORT"."_WORK_ID_SEEN_RUNID" n WHERE n.key IN (SELECT key FROM "COHORT"."_WORK_ID_KNOWN_RUNID") AND NOT EXISTS (SELECT 1 FROM "COHORT"."_WORK_ID_OLD_RUNID" o
--   WHERE o.key = n.key AND o.identifier_type = n.identifier_type AND o.identifier_value = n.identifier_value)

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_NODES_RUNID";

-- nodes: the affected profiles' identifiers with the new rows' ones, first and last seen merged
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_NODES_RUNID" AS
SELECT key, identifier_type, identifier_value, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at
FROM (
  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."_WORK_ID_OLD_RUNID"
  UNION ALL
  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID"
) n
GROUP BY key, identifier_type, identifier_value;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EDGES_RUNID";

-- links: the affected profiles' (a star each, with limits a star each previous component) and the new rows'
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EDGES_RUNID" AS
SELECT least(key, hub) AS a, greatest(key, hub) AS b FROM (SELECT key, min(key) OVER (PARTITION BY component) AS hub FROM "COHORT"."_WORK_ID_OLD_RUNID" o JOIN "COHORT"."_WORK_ID_AFFECTED_RUNID" f ON f.profile_id = o.profile_id) o WHERE key <> hub
UNION
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID" WHERE a NOT IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID") AND b NOT IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID");

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_LINKS__STAGE_RUNID" AS
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID"
EXCEPT
SELECT a, b FROM "COHORT"."_WORK_ID_TOUCHED_LINKS_RUNID";

-- set incremental = 'yes'

-- if that was abandoned, instead:

-- if the increment did not read the marks already:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_MARKS_RUNID";

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_MARKS_RUNID" AS
SELECT 'shop_customers' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) AS newest FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src) r) r
UNION ALL
SELECT 'orders' AS source, (SELECT max(CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."ORDERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."ORDERS" src) AS newest FROM "COHORT_DEMO"."ORDERS" src) r) r
UNION ALL
SELECT 'web_events' AS source, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."WEB_EVENTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."WEB_EVENTS" src) AS newest FROM "COHORT_DEMO"."WEB_EVENTS" src) r) r
UNION ALL
SELECT 'app_events' AS source, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."APP_EVENTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."APP_EVENTS" src) AS newest FROM "COHORT_DEMO"."APP_EVENTS" src) r) r
UNION ALL
SELECT 'newsletter' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."NEWSLETTER" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."NEWSLETTER" src) AS newest FROM "COHORT_DEMO"."NEWSLETTER" src) r) r
UNION ALL
SELECT 'support_tickets' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) AS newest FROM "COHORT_DEMO"."SUPPORT_TICKETS" src) r) r
UNION ALL
SELECT 'lead_ads' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."LEAD_ADS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."LEAD_ADS" src) AS newest FROM "COHORT_DEMO"."LEAD_ADS" src) r) r
UNION ALL
SELECT 'cms_accounts' AS source, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."CREATED_AT" AS TIMESTAMP_NTZ)) FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) AS newest FROM "COHORT_DEMO"."CMS_ACCOUNTS" src) r) r;

-- end if

-- nodes with unique keys: when two identifiers share a key the hash is salted ('1' || type:value, then '2' ...)
-- try with salt = '', '1', '2', '3' in turn, until an attempt is not abandoned:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_SALT_RUNID";

-- the key salt of this attempt
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_SALT_RUNID" AS
SELECT CAST(? AS VARCHAR) AS salt
-- parameters: $1 = {salt} (set as the plan runs);

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_NODES_RUNID";

-- nodes: every distinct identifier that entered the graph, with the first and last time a source saw it
-- customer_id
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_NODES_RUNID" AS
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || identifier_value) END AS key, 'customer_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- orders.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."ORDERS" src
  ) normalized) "ORDERS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- web_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."WEB_EVENTS" src
  ) normalized) "WEB_EVENTS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."APP_EVENTS" src
  ) normalized) "APP_EVENTS"
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- orders.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."ORDERS" src
  ) normalized) "ORDERS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.email
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v3
    FROM "COHORT_DEMO"."APP_EVENTS" src
  ) normalized) "APP_EVENTS"
    WHERE v3 IS NOT NULL
    UNION ALL
    -- newsletter.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."NEWSLETTER" src
  ) normalized) "NEWSLETTER"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- support_tickets.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
  ) normalized) "SUPPORT_TICKETS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- lead_ads.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."LEAD_ADS" src
  ) normalized) "LEAD_ADS"
    WHERE v1 IS NOT NULL
    UNION ALL
    -- cms_accounts.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1
    FROM "COHORT_DEMO"."CMS_ACCOUNTS" src
  ) normalized) "CMS_ACCOUNTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- phone
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || identifier_value) END AS key, 'phone' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.phone
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
  ) normalized) "SHOP_CUSTOMERS"
    WHERE v3 IS NOT NULL
    UNION ALL
    -- support_tickets.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
  ) normalized) "SUPPORT_TICKETS"
    WHERE v2 IS NOT NULL
    UNION ALL
    -- lead_ads.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."LEAD_ADS" src
  ) normalized) "LEAD_ADS"
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- anonymous_id
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || identifier_value) END AS key, 'anonymous_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- web_events.anonymous_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."WEB_EVENTS" src
  ) normalized) "WEB_EVENTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- device_id
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || identifier_value) END AS key, 'device_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- app_events.device_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END AS v1
    FROM "COHORT_DEMO"."APP_EVENTS" src
  ) normalized) "APP_EVENTS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value;

-- in Go: abandon this attempt when two identifiers share a key
-- reading:
-- SELECT count(*) - count(DISTINCT key) FROM "COHORT"."_WORK_ID_NODES_RUNID"

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_KEYS__STAGE_RUNID";

-- _identity_keys: every identifier's key, for the next run's key check
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_KEYS__STAGE_RUNID" AS
SELECT key FROM "COHORT"."_WORK_ID_NODES_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EXCLUDED_RUNID";

-- excluded: identifiers an exclude rule keeps out of the graph, with the first pattern they match
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EXCLUDED_RUNID" AS
SELECT key, identifier_type, identifier_value, detail
FROM (
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR)
    WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR)
    WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR) END AS detail
  FROM "COHORT"."_WORK_ID_NODES_RUNID"
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '^test@', $2 = 'matches ^test@', $3 = '@example\.com$', $4 = 'matches @example\.com$', $5 = '^info@', $6 = 'matches ^info@';

-- excluded identifiers leave the graph
DELETE FROM "COHORT"."_WORK_ID_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

-- end try

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EDGES_RUNID";

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EDGES_RUNID" AS
WITH -- source shop_customers (models/sources.yaml:3:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_SHOP_CUSTOMERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v3) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
  ) normalized
),
-- source orders (models/sources.yaml:18:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_ORDERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."ORDERED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "COHORT_DEMO"."ORDERS" src
  ) normalized
),
-- source web_events (models/sources.yaml:26:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_WEB_EVENTS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'anonymous_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END AS v1,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2
    FROM "COHORT_DEMO"."WEB_EVENTS" src
  ) normalized
),
-- source app_events (models/sources.yaml:35:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_APP_EVENTS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'device_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v3) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src."OCCURRED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END AS v1,
      CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS v2,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v3
    FROM "COHORT_DEMO"."APP_EVENTS" src
  ) normalized
),
-- source support_tickets (models/sources.yaml:51:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_SUPPORT_TICKETS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
  ) normalized
),
-- source lead_ads (models/sources.yaml:59:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_LEAD_ADS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."CREATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM "COHORT_DEMO"."LEAD_ADS" src
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM "SOURCE_SHOP_CUSTOMERS" CROSS JOIN (VALUES (1, 2), (1, 3), (2, 3)) AS pair(i, j)
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_ORDERS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_WEB_EVENTS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM "SOURCE_APP_EVENTS" CROSS JOIN (VALUES (1, 2), (1, 3), (2, 3)) AS pair(i, j)
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_SUPPORT_TICKETS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM "SOURCE_LEAD_ADS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM "COHORT"."_WORK_ID_EDGES_RUNID" WHERE a IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID") OR b IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_LINKS__STAGE_RUNID" AS
SELECT a, b FROM "COHORT"."_WORK_ID_EDGES_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_HUBS_RUNID";

-- junk hubs: identifiers linked to more distinct identifiers than max_links allows
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_HUBS_RUNID" AS
SELECT n.key, n.identifier_type, n.identifier_value,
  'linked to ' || CAST(l.links AS VARCHAR) || ' distinct identifiers (max_links ' || CASE n.identifier_type WHEN 'device_id' THEN '10' WHEN 'anonymous_id' THEN '10' END || ')' AS detail
FROM (SELECT key, count(*) AS links FROM (SELECT a AS key FROM "COHORT"."_WORK_ID_EDGES_RUNID" e UNION ALL SELECT b FROM "COHORT"."_WORK_ID_EDGES_RUNID" e) ends GROUP BY key) l
JOIN "COHORT"."_WORK_ID_NODES_RUNID" n ON n.key = l.key
WHERE (n.identifier_type = 'device_id' AND l.links > 10)
   OR (n.identifier_type = 'anonymous_id' AND l.links > 10);

-- junk hubs leave the graph with their links
DELETE FROM "COHORT"."_WORK_ID_EDGES_RUNID" WHERE a IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID") OR b IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID");

DELETE FROM "COHORT"."_WORK_ID_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID");

-- end try

-- connected components: in round {r} every node takes the smallest key among itself and its neighbours (its
-- choice kept in moves_{r}), and the links are contracted to those choices; until no link is left
-- repeat for {r} = 1, 2, ... while {in} has rows, at most 10000 rounds, {in} being "COHORT"."_WORK_ID_EDGES_RUNID" in round 1, then the round before's {out};
-- {out} is "COHORT"."_WORK_ID_LINKS_A_RUNID" when {r} is odd, "COHORT"."_WORK_ID_LINKS_B_RUNID" when even:

-- if {r} is a multiple of 40: the remaining keys are reshuffled instead (the guard against slow convergence on long chains):

-- the remaining nodes get new random keys: a hash of the old key salted with the round
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_work_id_moves_{r}_RUNID" AS
SELECT node, HASH(CAST(node AS VARCHAR) || 'r{r}:') AS parent
FROM (SELECT a AS node FROM {in} UNION SELECT b FROM {in}) n;

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TRANSIENT TABLE {out} AS
SELECT DISTINCT least(ra.parent, rb.parent) AS a, greatest(ra.parent, rb.parent) AS b
FROM {in} e
JOIN "COHORT"."_work_id_moves_{r}_RUNID" ra ON ra.node = e.a
JOIN "COHORT"."_work_id_moves_{r}_RUNID" rb ON rb.node = e.b;

-- if two remaining nodes got the same new key (SELECT count(*) - count(DISTINCT parent) FROM "COHORT"."_work_id_moves_{r}_RUNID" is not 0):
-- the round is undone (no moves, its links carried over as they were) and the next one is a normal round:

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TRANSIENT TABLE {out} AS
SELECT a, b FROM {in};

DROP TABLE IF EXISTS "COHORT"."_work_id_moves_{r}_RUNID";

CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_work_id_moves_{r}_RUNID" AS
SELECT a AS node, b AS parent FROM {in} WHERE 1 = 0;

-- end if

-- otherwise:

-- each node takes the smallest key among itself and its neighbours (links are a < b, so only b can move)
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_work_id_moves_{r}_RUNID" AS
SELECT b AS node, min(a) AS parent FROM {in} GROUP BY b;

DROP TABLE IF EXISTS {out};

-- contract: each link now joins its ends' choices; links inside one cluster vanish, so finished clusters drop out
CREATE OR REPLACE TRANSIENT TABLE {out} AS
SELECT DISTINCT least(pa, pb) AS a, greatest(pa, pb) AS b
FROM (
  SELECT coalesce(ma.parent, e.a) AS pa, mb.parent AS pb
  FROM {in} e
  LEFT JOIN "COHORT"."_work_id_moves_{r}_RUNID" ma ON ma.node = e.a
  JOIN "COHORT"."_work_id_moves_{r}_RUNID" mb ON mb.node = e.b
) contracted
WHERE pa <> pb;

-- end if

-- end repeat

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_ROOTS_RUNID";

CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_ROOTS_RUNID" AS
SELECT a AS node, b AS root FROM "COHORT"."_WORK_ID_EDGES_RUNID" WHERE 1 = 0;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_ROOTS_NONE_RUNID";

CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_ROOTS_NONE_RUNID" AS
SELECT a AS node, b AS root FROM "COHORT"."_WORK_ID_EDGES_RUNID" WHERE 1 = 0;

-- roots: from the last round's moves to the first, each round adds its moved nodes to the roots known so far
-- (with no round, roots stays empty: no node moved)
-- repeat for {i} from r down to 1, {in} being "COHORT"."_WORK_ID_ROOTS_NONE_RUNID" in the first round, then the round before's {out};
-- {out} is "COHORT"."_WORK_ID_ROOTS_RUNID" when {i} is odd, "COHORT"."_WORK_ID_ROOTS_B_RUNID" when even:

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TRANSIENT TABLE {out} AS
SELECT node, root FROM {in}
UNION ALL
SELECT m.node, coalesce(f.root, m.parent)
FROM "COHORT"."_work_id_moves_{i}_RUNID" m
LEFT JOIN {in} f ON f.node = m.parent
WHERE NOT EXISTS (SELECT 1 FROM {in} g WHERE g.node = m.node);

DROP TABLE IF EXISTS "COHORT"."_work_id_moves_{i}_RUNID";

DROP TABLE IF EXISTS {in};

-- end repeat

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_VIOLATORS_RUNID";

-- clusters over a limit: only these are refined
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_VIOLATORS_RUNID" AS
SELECT DISTINCT comp FROM (
  SELECT comp FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) labeled
  WHERE identifier_type IN ('customer_id', 'email')
  GROUP BY comp, identifier_type
  HAVING count(*) > CASE identifier_type WHEN 'customer_id' THEN 1 WHEN 'email' THEN 3 END
) over_limit;

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID";

-- links a limit cut (filled from the refinement)
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID" AS
SELECT CAST(NULL AS VARCHAR) AS a_type, CAST(NULL AS VARCHAR) AS a_value, CAST(NULL AS VARCHAR) AS b_type, CAST(NULL AS VARCHAR) AS b_value, CAST(NULL AS VARCHAR) AS detail LIMIT 0;

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_REFINED_RUNID";

CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_REFINED_RUNID" AS
SELECT node AS key, root AS comp, root AS component FROM "COHORT"."_WORK_ID_ROOTS_RUNID" WHERE 1 = 0;

-- if a cluster is over a limit (violators has rows):

-- if the run is incremental (edges holds a star for each previous component, not its links):

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_OVER_KEYS_RUNID";

-- the previous identifiers of the clusters over a limit
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_OVER_KEYS_RUNID" AS
SELECT o.key FROM "COHORT"."_WORK_ID_OLD_RUNID" o LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = o.key
WHERE coalesce(r.root, o.key) IN (SELECT comp FROM "COHORT"."_WORK_ID_VIOLATORS_RUNID");

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EDGES_RUNID";

-- links of the clusters over a limit: their previous identifiers' kept links, and the new ones
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EDGES_RUNID" AS
SELECT p.a, p.b FROM "COHORT"."_IDENTITY_LINKS" p JOIN "COHORT"."_WORK_ID_OVER_KEYS_RUNID" o ON o.key = p.a WHERE p.b IN (SELECT key FROM "COHORT"."_WORK_ID_OVER_KEYS_RUNID")
UNION
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID" WHERE a NOT IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID") AND b NOT IN (SELECT key FROM "COHORT"."_WORK_ID_HUBS_RUNID");

-- end if

-- in Go: the links of those clusters are rebuilt adding the strongest links first and skipping any link that would
-- break a limit; the new clusters are inserted into refined, the cut links into _identity_cut_links
-- (each column one array parameter, unnested into rows)
-- reading:
-- SELECT la.comp, la.key, la.identifier_type, la.identifier_value, lb.key AS b_key, lb.identifier_type AS b_type, lb.identifier_value AS b_value
-- FROM "COHORT"."_WORK_ID_EDGES_RUNID" e
-- JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
--   FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) la ON la.key = e.a
-- JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
--   FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) lb ON lb.key = e.b
-- WHERE la.comp IN (SELECT comp FROM "COHORT"."_WORK_ID_VIOLATORS_RUNID")

-- the refined clusters replace the ones over a limit
DELETE FROM "COHORT"."_WORK_ID_ROOTS_RUNID" WHERE node IN (SELECT key FROM "COHORT"."_WORK_ID_REFINED_RUNID");

INSERT INTO "COHORT"."_WORK_ID_ROOTS_RUNID" (node, root) SELECT key, comp FROM "COHORT"."_WORK_ID_REFINED_RUNID";

-- end if

-- if the run is incremental:

-- the cut links of profiles not resolved again stay
INSERT INTO "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID" (a_type, a_value, b_type, b_value, detail)
SELECT a_type, a_value, b_type, b_value, detail FROM "COHORT"."_IDENTITY_CUT_LINKS" k
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."_WORK_ID_OLD_RUNID" o WHERE o.identifier_type = k.a_type AND o.identifier_value = k.a_value);

-- end if

-- if the run is incremental: the profiles resolved again replace theirs, the others stay:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_ANCHORS_RUNID";

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_ANCHORS_RUNID" AS
SELECT comp, 'p_' || substr(MD5(substr(min(anchor_key), 21)), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' WHEN 'phone' THEN '002' WHEN 'device_id' THEN '003' WHEN 'anonymous_id' THEN '004' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((CAST(DATE_PART(EPOCH_MICROSECOND, first_seen_at) AS DOUBLE) / 1000000) * 1000) AS BIGINT) AS VARCHAR), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) labeled) keyed
GROUP BY comp;

-- identity_graph of an incremental run: the profiles resolved again
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID" AS
SELECT a.profile_id, l.identifier_type, l.identifier_value, l.first_seen_at, l.last_seen_at
FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) l
JOIN "COHORT"."_WORK_ID_ANCHORS_RUNID" a ON a.comp = l.comp;

CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID" AS
SELECT profile_id FROM "COHORT"."_WORK_ID_AFFECTED_RUNID";

-- and every other profile as it was: a view, applied to the final table in the swap
CREATE OR REPLACE VIEW "COHORT"."IDENTITY_GRAPH__STAGE_RUNID" AS
SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."IDENTITY_GRAPH" g
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID" x WHERE x.profile_id = g.profile_id)
UNION ALL
SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID";

-- publish brings identity_graph up to date in place instead of replacing it:
-- DELETE FROM "COHORT"."IDENTITY_GRAPH" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID");
-- INSERT INTO "COHORT"."IDENTITY_GRAPH" (profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at) SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID";
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID";
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID";

DROP TABLE IF EXISTS "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID";

-- identity_rejections: what each rule kept out of the graph
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID" AS
SELECT DISTINCT identifier_type, identifier_value, rule, detail
FROM (
  SELECT identifier_type, identifier_value, 'exclude' AS rule, detail FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID"
  UNION ALL
  SELECT identifier_type, identifier_value, 'max_links' AS rule, detail FROM "COHORT"."_WORK_ID_HUBS_RUNID"
  UNION ALL
  SELECT b_type AS identifier_type, b_value AS identifier_value, 'limit' AS rule, detail FROM "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID"
  UNION ALL
  SELECT identifier_type, identifier_value, rule, detail FROM "COHORT"."IDENTITY_REJECTIONS" WHERE rule = 'exclude'
) rejected;

DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID" AS
SELECT profile_id, merged_profile_id, merged_at FROM "COHORT"."IDENTITY_LINEAGE"
UNION ALL
SELECT profile_id, merged_profile_id, CAST(? AS TIMESTAMP_NTZ) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM "COHORT"."_WORK_ID_OLD_RUNID" o
  JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) l ON l.key = o.key
  JOIN "COHORT"."_WORK_ID_ANCHORS_RUNID" n ON n.comp = l.comp
  WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."_WORK_ID_ANCHORS_RUNID" x WHERE x.profile_id = o.profile_id)
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID";

-- _identity_components: each profile's component before limits cut it, for the next run
-- (the profiles resolved again; the others stay)
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID" AS
SELECT a.profile_id, coalesce(f.component, a.comp) AS component
FROM "COHORT"."_WORK_ID_ANCHORS_RUNID" a
LEFT JOIN (SELECT DISTINCT comp, component FROM "COHORT"."_WORK_ID_REFINED_RUNID") f ON f.comp = a.comp;

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID";

CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID" AS
SELECT profile_id FROM "COHORT"."_WORK_ID_AFFECTED_RUNID";

-- publish brings _identity_components up to date in place instead of replacing it:
-- DELETE FROM "COHORT"."_IDENTITY_COMPONENTS" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID");
-- INSERT INTO "COHORT"."_IDENTITY_COMPONENTS" (profile_id, component) SELECT profile_id, component FROM "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID";
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID";
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID";

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID";

-- _identity_roots: each identifier's cluster (none: its own key), for the next run
-- (the identifiers resolved again; the others stay)
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID" AS
SELECT key AS node, comp AS root FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) l;

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID";

-- _identity_profiles: each cluster's profile, for the next run
-- (the profiles resolved again with their clusters, the previous ones without; the others stay)
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID" AS
SELECT comp, profile_id FROM "COHORT"."_WORK_ID_ANCHORS_RUNID"
UNION ALL
SELECT CAST(NULL AS BIGINT), profile_id FROM "COHORT"."_WORK_ID_AFFECTED_RUNID";

-- publish brings _identity_roots up to date in place instead of replacing it:
-- DELETE FROM "COHORT"."_IDENTITY_ROOTS" WHERE node IN (SELECT node FROM "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID");
-- INSERT INTO "COHORT"."_IDENTITY_ROOTS" (node, root) SELECT node, root FROM "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID";
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID";

-- publish brings _identity_profiles up to date in place instead of replacing it:
-- DELETE FROM "COHORT"."_IDENTITY_PROFILES" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID");
-- INSERT INTO "COHORT"."_IDENTITY_PROFILES" (comp, profile_id) SELECT comp, profile_id FROM "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID" WHERE comp IS NOT NULL;
-- DROP TABLE IF EXISTS "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID";

-- publish appends the staged rows to _identity_keys

-- publish appends the staged rows to _identity_links

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_STATE__STAGE_RUNID";

-- _identity_state: what this run read of each source, under which rules and key salt, and the identifiers of identity_graph
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_STATE__STAGE_RUNID" AS
SELECT source, watermark, row_count, before_watermark, at_watermark, CAST(? AS VARCHAR) AS fingerprint, (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") AS salt,
  CAST((SELECT max(identifiers) FROM "COHORT"."_IDENTITY_STATE") - (SELECT count(*) FROM "COHORT"."_WORK_ID_OLD_RUNID") + (SELECT count(*) FROM "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID") AS BIGINT) AS identifiers
FROM "COHORT"."_WORK_ID_MARKS_RUNID"
-- parameters: $1 = '313adb7fdf0db4a71156ff2bc9fc7ed7';

-- otherwise:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_ANCHORS_RUNID";

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_ANCHORS_RUNID" AS
SELECT comp, 'p_' || substr(MD5(substr(min(anchor_key), 21)), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' WHEN 'phone' THEN '002' WHEN 'device_id' THEN '003' WHEN 'anonymous_id' THEN '004' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((CAST(DATE_PART(EPOCH_MICROSECOND, first_seen_at) AS DOUBLE) / 1000000) * 1000) AS BIGINT) AS VARCHAR), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) labeled) keyed
GROUP BY comp;

DROP TABLE IF EXISTS "COHORT"."IDENTITY_GRAPH__STAGE_RUNID";

-- identity_graph: one row per identifier with its profile
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_GRAPH__STAGE_RUNID" AS
SELECT a.profile_id, l.identifier_type, l.identifier_value, l.first_seen_at, l.last_seen_at
FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM "COHORT"."_WORK_ID_NODES_RUNID" n LEFT JOIN "COHORT"."_WORK_ID_ROOTS_RUNID" r ON r.node = n.key) l
JOIN "COHORT"."_WORK_ID_ANCHORS_RUNID" a ON a.comp = l.comp;

-- publish replaces identity_graph by the staged table

DROP TABLE IF EXISTS "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID";

-- identity_rejections: what each rule kept out of the graph
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID" AS
SELECT DISTINCT identifier_type, identifier_value, rule, detail
FROM (
  SELECT identifier_type, identifier_value, 'exclude' AS rule, detail FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID"
  UNION ALL
  SELECT identifier_type, identifier_value, 'max_links' AS rule, detail FROM "COHORT"."_WORK_ID_HUBS_RUNID"
  UNION ALL
  SELECT b_type AS identifier_type, b_value AS identifier_value, 'limit' AS rule, detail FROM "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID"
) rejected;

-- if identity_graph exists (every run but the first):

-- if identity_lineage exists (every run but the first):

DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID" AS
SELECT profile_id, merged_profile_id, merged_at FROM "COHORT"."IDENTITY_LINEAGE"
UNION ALL
SELECT profile_id, merged_profile_id, CAST(? AS TIMESTAMP_NTZ) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM "COHORT"."IDENTITY_GRAPH" o
  JOIN "COHORT"."IDENTITY_GRAPH__STAGE_RUNID" n ON n.identifier_type = o.identifier_type AND n.identifier_value = o.identifier_value
  WHERE o.profile_id IN (SELECT profile_id FROM "COHORT"."IDENTITY_GRAPH" EXCEPT SELECT profile_id FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID")
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

-- otherwise (identity_lineage does not exist yet):

DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID" AS
SELECT profile_id, merged_profile_id, CAST(? AS TIMESTAMP_NTZ) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM "COHORT"."IDENTITY_GRAPH" o
  JOIN "COHORT"."IDENTITY_GRAPH__STAGE_RUNID" n ON n.identifier_type = o.identifier_type AND n.identifier_value = o.identifier_value
  WHERE o.profile_id IN (SELECT profile_id FROM "COHORT"."IDENTITY_GRAPH" EXCEPT SELECT profile_id FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID")
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

-- end if identity_lineage exists

-- otherwise (identity_graph does not exist yet):

-- if identity_lineage exists (every run but the first):

DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID" AS
SELECT profile_id, merged_profile_id, merged_at FROM "COHORT"."IDENTITY_LINEAGE";

-- otherwise (identity_lineage does not exist yet):

DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID" AS
SELECT CAST(NULL AS VARCHAR) AS profile_id, CAST(NULL AS VARCHAR) AS merged_profile_id, CAST(NULL AS TIMESTAMP_NTZ) AS merged_at LIMIT 0;

-- end if identity_lineage exists

-- end if identity_graph exists

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS__STAGE_RUNID";

-- _identity_components: each profile's component before limits cut it, for the next run
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_COMPONENTS__STAGE_RUNID" AS
SELECT a.profile_id, coalesce(f.component, a.comp) AS component
FROM "COHORT"."_WORK_ID_ANCHORS_RUNID" a
LEFT JOIN (SELECT DISTINCT comp, component FROM "COHORT"."_WORK_ID_REFINED_RUNID") f ON f.comp = a.comp;

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_ROOTS__STAGE_RUNID";

-- _identity_roots: each identifier's cluster (none: its own key), for the next run
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_ROOTS__STAGE_RUNID" AS
SELECT node, root FROM "COHORT"."_WORK_ID_ROOTS_RUNID";

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_PROFILES__STAGE_RUNID";

-- _identity_profiles: each cluster's profile, for the next run
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_PROFILES__STAGE_RUNID" AS
SELECT comp, profile_id FROM "COHORT"."_WORK_ID_ANCHORS_RUNID";

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_STATE__STAGE_RUNID";

-- _identity_state: what this run read of each source, under which rules and key salt, and the identifiers of identity_graph
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_STATE__STAGE_RUNID" AS
SELECT source, watermark, row_count, before_watermark, at_watermark, CAST(? AS VARCHAR) AS fingerprint, (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") AS salt,
  CAST((SELECT count(*) FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID") AS BIGINT) AS identifiers
FROM "COHORT"."_WORK_ID_MARKS_RUNID"
-- parameters: $1 = '313adb7fdf0db4a71156ff2bc9fc7ed7';

-- end if


-- ==== step: identity_sources ====
-- which sources hold each identifier (identity's sources)
-- _identity_sources: which sources hold each identifier, for the profile look-up, in the order of a hash of each identifier, which a look-up filters on
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID" AS
SELECT s.*, HASH(s.identifier_value) AS identifier_key FROM (
-- shop_customers.customer_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS identifier_value, 'shop_customers' AS source
FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
WHERE CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- shop_customers.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'shop_customers' AS source
FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- shop_customers.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'shop_customers' AS source
FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- orders.customer_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END AS identifier_value, 'orders' AS source
FROM "COHORT_DEMO"."ORDERS" src
WHERE CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."CUSTOMER_ID" AS VARCHAR)), '') ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- orders.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'orders' AS source
FROM "COHORT_DEMO"."ORDERS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- web_events.anonymous_id
SELECT DISTINCT 'anonymous_id' AS identifier_type, CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END AS identifier_value, 'web_events' AS source
FROM "COHORT_DEMO"."WEB_EVENTS" src
WHERE CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)), '') ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- web_events.user_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS identifier_value, 'web_events' AS source
FROM "COHORT_DEMO"."WEB_EVENTS" src
WHERE CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- app_events.device_id
SELECT DISTINCT 'device_id' AS identifier_type, CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END AS identifier_value, 'app_events' AS source
FROM "COHORT_DEMO"."APP_EVENTS" src
WHERE CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."DEVICE_ID" AS VARCHAR)), '') ELSE CAST(src."DEVICE_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- app_events.user_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END AS identifier_value, 'app_events' AS source
FROM "COHORT_DEMO"."APP_EVENTS" src
WHERE CASE WHEN CAST(src."USER_ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."USER_ID" AS VARCHAR)), '') ELSE CAST(src."USER_ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- app_events.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'app_events' AS source
FROM "COHORT_DEMO"."APP_EVENTS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- newsletter.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'newsletter' AS source
FROM "COHORT_DEMO"."NEWSLETTER" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- support_tickets.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'support_tickets' AS source
FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- support_tickets.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'support_tickets' AS source
FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- lead_ads.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'lead_ads' AS source
FROM "COHORT_DEMO"."LEAD_ADS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- lead_ads.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'lead_ads' AS source
FROM "COHORT_DEMO"."LEAD_ADS" src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- cms_accounts.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'cms_accounts' AS source
FROM "COHORT_DEMO"."CMS_ACCOUNTS" src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL
) s
ORDER BY identifier_key;


-- ==== step: profile_identifiers ====
-- each profile's identifiers with their sources (identity's graph and sources)
-- _profile_identifiers: each profile's identifiers and the sources holding them, in profile order, for the profile look-up
CREATE OR REPLACE TABLE "COHORT"."_PROFILE_IDENTIFIERS__STAGE_RUNID" AS
WITH held AS (
  SELECT identifier_type, identifier_value, LISTAGG(source, ',') AS sources FROM "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID" GROUP BY identifier_type, identifier_value
)
SELECT g.profile_id, g.identifier_type, g.identifier_value, g.first_seen_at, g.last_seen_at, held.sources
FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID" g
LEFT JOIN held ON held.identifier_type = g.identifier_type AND held.identifier_value = g.identifier_value
ORDER BY g.profile_id;


-- ==== step: profiles ====
-- profiles: one row per profile of identity_graph, one column per trait
-- trait email (models/traits.yaml:3:5)
-- trait first_name (models/traits.yaml:7:5)
-- trait last_name (models/traits.yaml:10:5)
-- trait phone (models/traits.yaml:13:5)
-- trait city (models/traits.yaml:17:5)
-- trait country (models/traits.yaml:20:5)
-- trait lifetime_value (models/traits.yaml:24:5)
-- trait order_count (models/traits.yaml:27:5)
-- trait orders_30d (models/traits.yaml:30:5)
-- trait first_order_at (models/traits.yaml:34:5)
-- trait last_order_at (models/traits.yaml:37:5)
-- trait average_order_value (models/traits.yaml:40:5)
-- trait last_seen_at (models/traits.yaml:44:5)
-- trait web_events_7d (models/traits.yaml:47:5)
-- trait app_events_30d (models/traits.yaml:51:5)
-- trait devices (models/traits.yaml:55:5)
-- trait support_tickets (models/traits.yaml:58:5)
-- trait lead_campaign (models/traits.yaml:61:5)
-- trait email_opt_in (models/traits.yaml:65:5)
-- trait ads_opt_in (models/traits.yaml:68:5)
-- trait transfer_consent (models/traits.yaml:71:5)
-- trait tier (models/traits.yaml:75:5)
-- trait rfm (models/traits.yaml:78:5)
-- trait churn_risk (models/traits.yaml:82:5)
-- identity_graph as this step reads it, each identifier type together
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_GRAPH_RUNID" AS
SELECT profile_id, identifier_type, identifier_value FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID"
ORDER BY identifier_type;

-- every profile id, once
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_PROFILE_IDS_RUNID" AS
SELECT DISTINCT profile_id FROM "COHORT"."_WORK_GRAPH_RUNID";

-- source shop_customers (models/sources.yaml:3:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" AS
SELECT r.profile_id, r."UPDATED_AT", r."EMAIL", r."FIRST_NAME", r."LAST_NAME", r."PHONE", r."CITY", r."COUNTRY"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id, g3.profile_id) AS profile_id
FROM "COHORT_DEMO"."SHOP_CUSTOMERS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."CUSTOMER_ID" AS VARCHAR)) ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g3 ON g3.identifier_type = 'phone' AND g3.identifier_value = CASE WHEN coalesce(g1.profile_id, g2.profile_id) IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id, g3.profile_id) IS NOT NULL
) r;

-- source orders (models/sources.yaml:18:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_ORDERS__STAGE_RUNID" AS
SELECT r.profile_id, r."ORDERED_AT", r."TOTAL"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "COHORT_DEMO"."ORDERS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."CUSTOMER_ID" AS VARCHAR)) ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source web_events (models/sources.yaml:26:5): its rows with their profile_id, only the columns traits and segments read, each profile's together
CREATE OR REPLACE TABLE "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" AS
SELECT r.profile_id, r."OCCURRED_AT", r."EVENT_NAME", r."VALUE"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "COHORT_DEMO"."WEB_EVENTS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."USER_ID" AS VARCHAR)) ELSE CAST(src."USER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'anonymous_id' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)) ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r
ORDER BY r.profile_id;

-- source app_events (models/sources.yaml:35:5): its rows with their profile_id, only the columns traits and segments read, each profile's together
CREATE OR REPLACE TABLE "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID" AS
SELECT r.profile_id, r."OCCURRED_AT", r."EVENT_NAME", r."DEVICE_ID"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id, g3.profile_id) AS profile_id
FROM "COHORT_DEMO"."APP_EVENTS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."USER_ID" AS VARCHAR)) ELSE CAST(src."USER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g3 ON g3.identifier_type = 'device_id' AND g3.identifier_value = CASE WHEN coalesce(g1.profile_id, g2.profile_id) IS NULL THEN CASE WHEN CAST(src."DEVICE_ID" AS VARCHAR) LIKE ' %' OR CAST(src."DEVICE_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."DEVICE_ID" AS VARCHAR)) ELSE CAST(src."DEVICE_ID" AS VARCHAR) END END
WHERE coalesce(g1.profile_id, g2.profile_id, g3.profile_id) IS NOT NULL
) r
ORDER BY r.profile_id;

-- source newsletter (models/sources.yaml:45:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_NEWSLETTER__STAGE_RUNID" AS
SELECT r.profile_id, r."UPDATED_AT", r."OPTED_IN"
FROM (
SELECT src.*, g1.profile_id AS profile_id
FROM "COHORT_DEMO"."NEWSLETTER" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', ''))
WHERE g1.profile_id IS NOT NULL
) r;

-- source support_tickets (models/sources.yaml:51:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID" AS
SELECT r.profile_id, r."CREATED_AT", r."PHONE"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "COHORT_DEMO"."SUPPORT_TICKETS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', ''))
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'phone' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source lead_ads (models/sources.yaml:59:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID" AS
SELECT r.profile_id, r."CREATED_AT", r."PHONE", r."CAMPAIGN"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "COHORT_DEMO"."LEAD_ADS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', ''))
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'phone' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

CREATE OR REPLACE TABLE "COHORT"."PROFILES__STAGE_RUNID" AS
WITH "PROFILE_IDS" AS (
  SELECT profile_id FROM "COHORT"."_WORK_PROFILE_IDS_RUNID"
),
"AGGREGATES_ORDERS" AS (
  SELECT r.profile_id,
    -- trait lifetime_value (models/traits.yaml:24:5)
    CAST(sum(r."TOTAL") AS DOUBLE) AS "LIFETIME_VALUE",
    -- trait order_count (models/traits.yaml:27:5)
    CAST(count(*) AS BIGINT) AS "ORDER_COUNT",
    -- trait orders_30d (models/traits.yaml:30:5)
    CAST(count(CASE WHEN r."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) THEN 1 END) AS BIGINT) AS "ORDERS_30D",
    -- trait first_order_at (models/traits.yaml:34:5)
    min(r."ORDERED_AT") AS "FIRST_ORDER_AT",
    -- trait last_order_at (models/traits.yaml:37:5)
    max(r."ORDERED_AT") AS "LAST_ORDER_AT",
    -- trait average_order_value (models/traits.yaml:40:5)
    CAST(avg(r."TOTAL") AS DOUBLE) AS "AVERAGE_ORDER_VALUE"
  FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" r
  GROUP BY r.profile_id
),
"AGGREGATES_WEB_EVENTS" AS (
  SELECT r.profile_id,
    -- trait last_seen_at (models/traits.yaml:44:5)
    max(r."OCCURRED_AT") AS "LAST_SEEN_AT",
    -- trait web_events_7d (models/traits.yaml:47:5)
    CAST(count(CASE WHEN r."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) THEN 1 END) AS BIGINT) AS "WEB_EVENTS_7D"
  FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" r
  GROUP BY r.profile_id
),
"AGGREGATES_APP_EVENTS" AS (
  SELECT r.profile_id,
    -- trait app_events_30d (models/traits.yaml:51:5)
    CAST(count(CASE WHEN r."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) THEN 1 END) AS BIGINT) AS "APP_EVENTS_30D",
    -- trait devices (models/traits.yaml:55:5)
    CAST(count(DISTINCT r."DEVICE_ID") AS BIGINT) AS "DEVICES"
  FROM "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID" r
  GROUP BY r.profile_id
),
"AGGREGATES_SUPPORT_TICKETS" AS (
  SELECT r.profile_id,
    -- trait support_tickets (models/traits.yaml:58:5)
    CAST(count(*) AS BIGINT) AS "SUPPORT_TICKETS"
  FROM "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID" r
  GROUP BY r.profile_id
),
-- trait email (models/traits.yaml:3:5)
"TRAIT_EMAIL" AS (
  SELECT profile_id, value AS "EMAIL" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, NULLIF(lower(REGEXP_REPLACE(CAST(r."EMAIL" AS VARCHAR), '\\s+', '')), '') AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE NULLIF(lower(REGEXP_REPLACE(CAST(r."EMAIL" AS VARCHAR), '\\s+', '')), '') IS NOT NULL AND trim(CAST(NULLIF(lower(REGEXP_REPLACE(CAST(r."EMAIL" AS VARCHAR), '\\s+', '')), '') AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait first_name (models/traits.yaml:7:5)
"TRAIT_FIRST_NAME" AS (
  SELECT profile_id, value AS "FIRST_NAME" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.k, v.ts DESC NULLS LAST, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."FIRST_NAME" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE r."FIRST_NAME" IS NOT NULL AND trim(CAST(r."FIRST_NAME" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait last_name (models/traits.yaml:10:5)
"TRAIT_LAST_NAME" AS (
  SELECT profile_id, value AS "LAST_NAME" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.k, v.ts DESC NULLS LAST, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."LAST_NAME" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE r."LAST_NAME" IS NOT NULL AND trim(CAST(r."LAST_NAME" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait phone (models/traits.yaml:13:5)
"TRAIT_PHONE" AS (
  SELECT profile_id, value AS "PHONE" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.k, v.ts DESC NULLS LAST, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL AND trim(CAST(CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS VARCHAR)) <> ''
      UNION ALL SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r."CREATED_AT" AS ts, 1 AS k FROM "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID" r WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL AND trim(CAST(CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS VARCHAR)) <> ''
      UNION ALL SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r."CREATED_AT" AS ts, 2 AS k FROM "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID" r WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL AND trim(CAST(CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r."PHONE" AS VARCHAR), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait city (models/traits.yaml:17:5)
"TRAIT_CITY" AS (
  SELECT profile_id, value AS "CITY" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."CITY" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE r."CITY" IS NOT NULL AND trim(CAST(r."CITY" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait country (models/traits.yaml:20:5)
"TRAIT_COUNTRY" AS (
  SELECT profile_id, value AS "COUNTRY" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."COUNTRY" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID" r WHERE r."COUNTRY" IS NOT NULL AND trim(CAST(r."COUNTRY" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait lead_campaign (models/traits.yaml:61:5)
"TRAIT_LEAD_CAMPAIGN" AS (
  SELECT profile_id, value AS "LEAD_CAMPAIGN" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts ASC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."CAMPAIGN" AS value, r."CREATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID" r WHERE r."CAMPAIGN" IS NOT NULL AND trim(CAST(r."CAMPAIGN" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait email_opt_in (models/traits.yaml:65:5)
"TRAIT_EMAIL_OPT_IN" AS (
  SELECT profile_id, value AS "EMAIL_OPT_IN" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."OPTED_IN" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_NEWSLETTER__STAGE_RUNID" r WHERE r."OPTED_IN" IS NOT NULL AND trim(CAST(r."OPTED_IN" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait rfm (models/traits.yaml:78:5)
"TRAIT_RFM" AS (
  SELECT profile_id,
    CAST(r AS BIGINT) AS "RFM_RECENCY",
    CAST(f AS BIGINT) AS "RFM_FREQUENCY",
    CAST(m AS BIGINT) AS "RFM_MONETARY",
    CASE
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 4 AND 5 THEN 'champions'
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 1 AND 2 THEN 'new'
      WHEN r BETWEEN 3 AND 5 AND f BETWEEN 3 AND 5 THEN 'loyal'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 3 AND 5 THEN 'at risk'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 1 AND 2 THEN 'hibernating'
      WHEN r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 THEN 'needs attention'
    END AS "RFM"
  FROM (
    SELECT profile_id,
      ntile(5) OVER (ORDER BY last_at, profile_id) AS r,
      ntile(5) OVER (ORDER BY orders, profile_id) AS f,
      ntile(5) OVER (ORDER BY amount, profile_id) AS m
    FROM (
      SELECT r.profile_id, max(r."ORDERED_AT") AS last_at, count(*) AS orders, coalesce(sum(r."TOTAL"), 0) AS amount
      FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" r
      WHERE r."ORDERED_AT" IS NOT NULL
      GROUP BY r.profile_id
    ) per_profile
  ) scores
),
-- trait churn_risk (models/traits.yaml:82:5)
"TRAIT_CHURN_RISK" AS (
  SELECT o.profile_id, CASE WHEN o.gap IS NULL THEN NULL
    ELSE 1 - exp(-(CASE WHEN o.elapsed > 0 THEN o.elapsed ELSE 0 END)
      / (CASE WHEN o.gap < 86400 THEN 86400 ELSE o.gap END)) END AS "CHURN_RISK"
  FROM (
    SELECT p.profile_id, (CAST(DATE_PART(EPOCH_MICROSECOND, CAST(? AS TIMESTAMP_NTZ)) AS DOUBLE) / 1000000) - p.last_s AS elapsed,
      CASE WHEN p.orders >= 2 THEN (p.last_s - p.first_s) / (p.orders - 1) ELSE pop.gap END AS gap
    FROM (
      SELECT r.profile_id, count(*) AS orders, CAST(min((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS first_s, CAST(max((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS last_s
      FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" r WHERE r."ORDERED_AT" IS NOT NULL GROUP BY r.profile_id
    ) p
    CROSS JOIN (
      SELECT avg((e.last_s - e.first_s) / (e.orders - 1)) AS gap FROM (
        SELECT count(*) AS orders, CAST(min((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS first_s, CAST(max((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS last_s
        FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" r WHERE r."ORDERED_AT" IS NOT NULL GROUP BY r.profile_id
      ) e WHERE e.orders >= 2
    ) pop
  ) o
),
"TRAITS" AS (
  SELECT ids.profile_id,
    "TRAIT_EMAIL"."EMAIL" AS "EMAIL",
    "TRAIT_FIRST_NAME"."FIRST_NAME" AS "FIRST_NAME",
    "TRAIT_LAST_NAME"."LAST_NAME" AS "LAST_NAME",
    "TRAIT_PHONE"."PHONE" AS "PHONE",
    "TRAIT_CITY"."CITY" AS "CITY",
    "TRAIT_COUNTRY"."COUNTRY" AS "COUNTRY",
    "AGGREGATES_ORDERS"."LIFETIME_VALUE" AS "LIFETIME_VALUE",
    coalesce("AGGREGATES_ORDERS"."ORDER_COUNT", 0) AS "ORDER_COUNT",
    coalesce("AGGREGATES_ORDERS"."ORDERS_30D", 0) AS "ORDERS_30D",
    "AGGREGATES_ORDERS"."FIRST_ORDER_AT" AS "FIRST_ORDER_AT",
    "AGGREGATES_ORDERS"."LAST_ORDER_AT" AS "LAST_ORDER_AT",
    "AGGREGATES_ORDERS"."AVERAGE_ORDER_VALUE" AS "AVERAGE_ORDER_VALUE",
    "AGGREGATES_WEB_EVENTS"."LAST_SEEN_AT" AS "LAST_SEEN_AT",
    coalesce("AGGREGATES_WEB_EVENTS"."WEB_EVENTS_7D", 0) AS "WEB_EVENTS_7D",
    coalesce("AGGREGATES_APP_EVENTS"."APP_EVENTS_30D", 0) AS "APP_EVENTS_30D",
    coalesce("AGGREGATES_APP_EVENTS"."DEVICES", 0) AS "DEVICES",
    coalesce("AGGREGATES_SUPPORT_TICKETS"."SUPPORT_TICKETS", 0) AS "SUPPORT_TICKETS",
    "TRAIT_LEAD_CAMPAIGN"."LEAD_CAMPAIGN" AS "LEAD_CAMPAIGN",
    "TRAIT_EMAIL_OPT_IN"."EMAIL_OPT_IN" AS "EMAIL_OPT_IN",
    "TRAIT_RFM"."RFM_RECENCY" AS "RFM_RECENCY",
    "TRAIT_RFM"."RFM_FREQUENCY" AS "RFM_FREQUENCY",
    "TRAIT_RFM"."RFM_MONETARY" AS "RFM_MONETARY",
    "TRAIT_RFM"."RFM" AS "RFM",
    "TRAIT_CHURN_RISK"."CHURN_RISK" AS "CHURN_RISK"
  FROM "PROFILE_IDS" ids
  LEFT JOIN "TRAIT_EMAIL" ON "TRAIT_EMAIL".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_FIRST_NAME" ON "TRAIT_FIRST_NAME".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_LAST_NAME" ON "TRAIT_LAST_NAME".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_PHONE" ON "TRAIT_PHONE".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_CITY" ON "TRAIT_CITY".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_COUNTRY" ON "TRAIT_COUNTRY".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_ORDERS" ON "AGGREGATES_ORDERS".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_WEB_EVENTS" ON "AGGREGATES_WEB_EVENTS".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_APP_EVENTS" ON "AGGREGATES_APP_EVENTS".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_SUPPORT_TICKETS" ON "AGGREGATES_SUPPORT_TICKETS".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_LEAD_CAMPAIGN" ON "TRAIT_LEAD_CAMPAIGN".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_EMAIL_OPT_IN" ON "TRAIT_EMAIL_OPT_IN".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_RFM" ON "TRAIT_RFM".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_CHURN_RISK" ON "TRAIT_CHURN_RISK".profile_id = ids.profile_id
),
-- trait ads_opt_in (models/traits.yaml:68:5): sql over other traits
"TRAIT_ADS_OPT_IN" AS (
  SELECT prev.*, CAST((coalesce(email_opt_in, false) OR lead_campaign IS NOT NULL) AS BOOLEAN) AS "ADS_OPT_IN"
  FROM "TRAITS" prev
),
-- trait transfer_consent (models/traits.yaml:71:5): sql over other traits
"TRAIT_TRANSFER_CONSENT" AS (
  SELECT prev.*, CAST((coalesce(email_opt_in, false)) AS BOOLEAN) AS "TRANSFER_CONSENT"
  FROM "TRAIT_ADS_OPT_IN" prev
),
-- trait tier (models/traits.yaml:75:5): sql over other traits
"TRAIT_TIER" AS (
  SELECT prev.*, CAST((CASE WHEN lifetime_value >= 500 THEN 'vip' WHEN order_count >= 2 THEN 'repeat' WHEN order_count = 1 THEN 'one_time' ELSE 'prospect' END) AS VARCHAR) AS "TIER"
  FROM "TRAIT_TRANSFER_CONSENT" prev
)
SELECT profile_id, "EMAIL", "FIRST_NAME", "LAST_NAME", "PHONE", "CITY", "COUNTRY", "LIFETIME_VALUE", "ORDER_COUNT", "ORDERS_30D", "FIRST_ORDER_AT", "LAST_ORDER_AT", "AVERAGE_ORDER_VALUE", "LAST_SEEN_AT", "WEB_EVENTS_7D", "APP_EVENTS_30D", "DEVICES", "SUPPORT_TICKETS", "LEAD_CAMPAIGN", "EMAIL_OPT_IN", "ADS_OPT_IN", "TRANSFER_CONSENT", "TIER", "RFM_RECENCY", "RFM_FREQUENCY", "RFM_MONETARY", "RFM", "CHURN_RISK", CAST(? AS TIMESTAMP_NTZ) AS updated_at
FROM "TRAIT_TIER"
-- parameters: $1 = '2026-10-24 12:00:00', $2 = '2026-11-16 11:00:00', $3 = '2026-10-24 12:00:00', $4 = '2026-11-23 11:00:00', $5 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS "COHORT"."_WORK_GRAPH_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_PROFILE_IDS_RUNID";


-- ==== step: segments ====
-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment cart_abandoners (models/segments.yaml:2:5)
-- segment vip (models/segments.yaml:10:5)
-- segment lapsed_vip (models/segments.yaml:17:5)
-- segment loyal_customers (models/segments.yaml:26:5)
-- segment recent_buyers (models/segments.yaml:32:5)
-- segment newsletter_subscribers (models/segments.yaml:37:5)
-- segment high_churn_risk (models/segments.yaml:43:5)
-- segment leads_never_bought (models/segments.yaml:50:5)
-- segment dutch_app_users (models/segments.yaml:57:5)
-- segment big_spenders_recent_cart (models/segments.yaml:63:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" AS
WITH
-- segment cart_abandoners (models/segments.yaml:2:5)
"SEGMENT_CART_ABANDONERS" AS (
  SELECT CAST('cart_abandoners' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x WHERE x.profile_id = p.profile_id) AND (p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?))
),
-- segment vip (models/segments.yaml:10:5)
"SEGMENT_VIP" AS (
  SELECT CAST('vip' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?))
),
-- segment lapsed_vip (models/segments.yaml:17:5)
"SEGMENT_LAPSED_VIP" AS (
  SELECT CAST('lapsed_vip' AS VARCHAR) AS segment, p.profile_id, (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) AS holdout, CASE WHEN (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 50 THEN 'a' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'b' END AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?)) AND (p."LAST_ORDER_AT" IS NOT NULL AND p."LAST_ORDER_AT" < CAST(? AS TIMESTAMP_NTZ)))
),
-- segment loyal_customers (models/segments.yaml:26:5)
"SEGMENT_LOYAL_CUSTOMERS" AS (
  SELECT CAST('loyal_customers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."ORDER_COUNT" IS NOT NULL AND p."ORDER_COUNT" >= ?))
),
-- segment recent_buyers (models/segments.yaml:32:5)
"SEGMENT_RECENT_BUYERS" AS (
  SELECT CAST('recent_buyers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."ORDERS_30D" IS NOT NULL AND p."ORDERS_30D" >= ?))
),
-- segment newsletter_subscribers (models/segments.yaml:37:5)
"SEGMENT_NEWSLETTER_SUBSCRIBERS" AS (
  SELECT CAST('newsletter_subscribers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?) AND p."EMAIL" IS NOT NULL)
),
-- segment high_churn_risk (models/segments.yaml:43:5)
"SEGMENT_HIGH_CHURN_RISK" AS (
  SELECT CAST('high_churn_risk' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."CHURN_RISK" IS NOT NULL AND p."CHURN_RISK" >= ?) AND (p."ORDER_COUNT" IS NOT NULL AND p."ORDER_COUNT" >= ?))
),
-- segment leads_never_bought (models/segments.yaml:50:5)
"SEGMENT_LEADS_NEVER_BOUGHT" AS (
  SELECT CAST('leads_never_bought' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID" e) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" e) x WHERE x.profile_id = p.profile_id))
),
-- segment dutch_app_users (models/segments.yaml:57:5)
"SEGMENT_DUTCH_APP_USERS" AS (
  SELECT CAST('dutch_app_users' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING count(*) >= ?) AND (p."COUNTRY" IS NOT NULL AND p."COUNTRY" = ?))
),
-- segment big_spenders_recent_cart (models/segments.yaml:63:5)
"SEGMENT_BIG_SPENDERS_RECENT_CART" AS (
  SELECT CAST('big_spenders_recent_cart' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ) AND (e."VALUE" IS NOT NULL AND e."VALUE" >= ?))))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_CART_ABANDONERS"
  UNION ALL SELECT * FROM "SEGMENT_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LOYAL_CUSTOMERS"
  UNION ALL SELECT * FROM "SEGMENT_RECENT_BUYERS"
  UNION ALL SELECT * FROM "SEGMENT_NEWSLETTER_SUBSCRIBERS"
  UNION ALL SELECT * FROM "SEGMENT_HIGH_CHURN_RISK"
  UNION ALL SELECT * FROM "SEGMENT_LEADS_NEVER_BOUGHT"
  UNION ALL SELECT * FROM "SEGMENT_DUTCH_APP_USERS"
  UNION ALL SELECT * FROM "SEGMENT_BIG_SPENDERS_RECENT_CART"
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(? AS TIMESTAMP_NTZ)) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
LEFT JOIN "COHORT"."SEGMENT_MEMBERSHIPS" prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'add_to_cart', $2 = '2026-11-16 11:00:00', $3 = '2026-11-23 11:00:00', $4 = '2026-11-16 11:00:00', $5 = '2026-11-23 11:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2026-08-25 12:00:00', $12 = 8, $13 = 1, $14 = true, $15 = 0.7, $16 = 2, $17 = '2026-10-24 12:00:00', $18 = '2026-11-23 11:00:00', $19 = 3, $20 = 'NL', $21 = 'add_to_cart', $22 = '2026-11-16 11:00:00', $23 = '2026-11-23 11:00:00', $24 = 50, $25 = '2026-11-23 11:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE "COHORT"."SEGMENT_HISTORY__STAGE_RUNID" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" cur
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."SEGMENT_MEMBERSHIPS" prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)
UNION ALL
SELECT prev.segment, prev.profile_id, CAST('exited' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS" prev
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)
-- parameters: $1 = '2026-11-23 11:00:00', $2 = '2026-11-23 11:00:00';

-- otherwise (segment_memberships does not exist yet):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" AS
WITH
-- segment cart_abandoners (models/segments.yaml:2:5)
"SEGMENT_CART_ABANDONERS" AS (
  SELECT CAST('cart_abandoners' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x WHERE x.profile_id = p.profile_id) AND (p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?))
),
-- segment vip (models/segments.yaml:10:5)
"SEGMENT_VIP" AS (
  SELECT CAST('vip' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?))
),
-- segment lapsed_vip (models/segments.yaml:17:5)
"SEGMENT_LAPSED_VIP" AS (
  SELECT CAST('lapsed_vip' AS VARCHAR) AS segment, p.profile_id, (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) AS holdout, CASE WHEN (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 50 THEN 'a' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'b' END AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?)) AND (p."LAST_ORDER_AT" IS NOT NULL AND p."LAST_ORDER_AT" < CAST(? AS TIMESTAMP_NTZ)))
),
-- segment loyal_customers (models/segments.yaml:26:5)
"SEGMENT_LOYAL_CUSTOMERS" AS (
  SELECT CAST('loyal_customers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."ORDER_COUNT" IS NOT NULL AND p."ORDER_COUNT" >= ?))
),
-- segment recent_buyers (models/segments.yaml:32:5)
"SEGMENT_RECENT_BUYERS" AS (
  SELECT CAST('recent_buyers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."ORDERS_30D" IS NOT NULL AND p."ORDERS_30D" >= ?))
),
-- segment newsletter_subscribers (models/segments.yaml:37:5)
"SEGMENT_NEWSLETTER_SUBSCRIBERS" AS (
  SELECT CAST('newsletter_subscribers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?) AND p."EMAIL" IS NOT NULL)
),
-- segment high_churn_risk (models/segments.yaml:43:5)
"SEGMENT_HIGH_CHURN_RISK" AS (
  SELECT CAST('high_churn_risk' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE ((p."CHURN_RISK" IS NOT NULL AND p."CHURN_RISK" >= ?) AND (p."ORDER_COUNT" IS NOT NULL AND p."ORDER_COUNT" >= ?))
),
-- segment leads_never_bought (models/segments.yaml:50:5)
"SEGMENT_LEADS_NEVER_BOUGHT" AS (
  SELECT CAST('leads_never_bought' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID" e) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_RUNID" e) x WHERE x.profile_id = p.profile_id))
),
-- segment dutch_app_users (models/segments.yaml:57:5)
"SEGMENT_DUTCH_APP_USERS" AS (
  SELECT CAST('dutch_app_users' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING count(*) >= ?) AND (p."COUNTRY" IS NOT NULL AND p."COUNTRY" = ?))
),
-- segment big_spenders_recent_cart (models/segments.yaml:63:5)
"SEGMENT_BIG_SPENDERS_RECENT_CART" AS (
  SELECT CAST('big_spenders_recent_cart' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ) AND (e."VALUE" IS NOT NULL AND e."VALUE" >= ?))))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_CART_ABANDONERS"
  UNION ALL SELECT * FROM "SEGMENT_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LOYAL_CUSTOMERS"
  UNION ALL SELECT * FROM "SEGMENT_RECENT_BUYERS"
  UNION ALL SELECT * FROM "SEGMENT_NEWSLETTER_SUBSCRIBERS"
  UNION ALL SELECT * FROM "SEGMENT_HIGH_CHURN_RISK"
  UNION ALL SELECT * FROM "SEGMENT_LEADS_NEVER_BOUGHT"
  UNION ALL SELECT * FROM "SEGMENT_DUTCH_APP_USERS"
  UNION ALL SELECT * FROM "SEGMENT_BIG_SPENDERS_RECENT_CART"
)
SELECT cur.segment, cur.profile_id, CAST(? AS TIMESTAMP_NTZ) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
-- parameters: $1 = 'add_to_cart', $2 = '2026-11-16 11:00:00', $3 = '2026-11-23 11:00:00', $4 = '2026-11-16 11:00:00', $5 = '2026-11-23 11:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2026-08-25 12:00:00', $12 = 8, $13 = 1, $14 = true, $15 = 0.7, $16 = 2, $17 = '2026-10-24 12:00:00', $18 = '2026-11-23 11:00:00', $19 = 3, $20 = 'NL', $21 = 'add_to_cart', $22 = '2026-11-16 11:00:00', $23 = '2026-11-23 11:00:00', $24 = 50, $25 = '2026-11-23 11:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE "COHORT"."SEGMENT_HISTORY__STAGE_RUNID" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" cur
-- parameters: $1 = '2026-11-23 11:00:00';

-- end if segment_memberships exists

-- if segment_history exists (every run but the first):

-- publish appends the staged rows to segment_history

-- otherwise (segment_history does not exist yet):

-- publish replaces segment_history by the staged table

-- end if segment_history exists


-- ==== publish: replace the output tables one transaction after another ====
-- (as on every run but the first: where a step's plan chooses otherwise, its publish comments say how)
BEGIN;
DROP VIEW IF EXISTS "COHORT"."_IDENTITY_COMPONENTS__STAGE_RUNID";
COMMIT;
BEGIN;
DELETE FROM "COHORT"."_IDENTITY_COMPONENTS" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID");
INSERT INTO "COHORT"."_IDENTITY_COMPONENTS" (profile_id, component) SELECT profile_id, component FROM "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_COMPONENTS_GONE__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_IDENTITY_CUT_LINKS" LIKE "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_IDENTITY_CUT_LINKS" SWAP WITH "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_CUT_LINKS__STAGE_RUNID";
COMMIT;
BEGIN;
INSERT INTO "COHORT"."_IDENTITY_KEYS" (key) SELECT key FROM "COHORT"."_IDENTITY_KEYS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_KEYS__STAGE_RUNID";
COMMIT;
BEGIN;
INSERT INTO "COHORT"."_IDENTITY_LINKS" (a, b) SELECT a, b FROM "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP VIEW IF EXISTS "COHORT"."_IDENTITY_PROFILES__STAGE_RUNID";
COMMIT;
BEGIN;
DELETE FROM "COHORT"."_IDENTITY_PROFILES" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID");
INSERT INTO "COHORT"."_IDENTITY_PROFILES" (comp, profile_id) SELECT comp, profile_id FROM "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID" WHERE comp IS NOT NULL;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_PROFILES_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP VIEW IF EXISTS "COHORT"."_IDENTITY_ROOTS__STAGE_RUNID";
COMMIT;
BEGIN;
DELETE FROM "COHORT"."_IDENTITY_ROOTS" WHERE node IN (SELECT node FROM "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID");
INSERT INTO "COHORT"."_IDENTITY_ROOTS" (node, root) SELECT node, root FROM "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_ROOTS_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_IDENTITY_SOURCES" LIKE "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_IDENTITY_SOURCES" SWAP WITH "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_IDENTITY_STATE" LIKE "COHORT"."_IDENTITY_STATE__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_IDENTITY_STATE" SWAP WITH "COHORT"."_IDENTITY_STATE__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_STATE__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_PROFILE_IDENTIFIERS" LIKE "COHORT"."_PROFILE_IDENTIFIERS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_PROFILE_IDENTIFIERS" SWAP WITH "COHORT"."_PROFILE_IDENTIFIERS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_PROFILE_IDENTIFIERS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_APP_EVENTS" LIKE "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_APP_EVENTS" SWAP WITH "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_APP_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_LEAD_ADS" LIKE "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_LEAD_ADS" SWAP WITH "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_LEAD_ADS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_NEWSLETTER" LIKE "COHORT"."_ROWS_NEWSLETTER__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_NEWSLETTER" SWAP WITH "COHORT"."_ROWS_NEWSLETTER__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_NEWSLETTER__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_ORDERS" LIKE "COHORT"."_ROWS_ORDERS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_ORDERS" SWAP WITH "COHORT"."_ROWS_ORDERS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_ORDERS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_SHOP_CUSTOMERS" LIKE "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_SHOP_CUSTOMERS" SWAP WITH "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_SUPPORT_TICKETS" LIKE "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_SUPPORT_TICKETS" SWAP WITH "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_SUPPORT_TICKETS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_WEB_EVENTS" LIKE "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_WEB_EVENTS" SWAP WITH "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_WEB_EVENTS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP VIEW IF EXISTS "COHORT"."IDENTITY_GRAPH__STAGE_RUNID";
COMMIT;
BEGIN;
DELETE FROM "COHORT"."IDENTITY_GRAPH" WHERE profile_id IN (SELECT profile_id FROM "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID");
INSERT INTO "COHORT"."IDENTITY_GRAPH" (profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at) SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_GRAPH_NEW__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_IDENTITY_GRAPH_GONE__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."IDENTITY_LINEAGE" LIKE "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."IDENTITY_LINEAGE" SWAP WITH "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."IDENTITY_LINEAGE__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."IDENTITY_REJECTIONS" LIKE "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."IDENTITY_REJECTIONS" SWAP WITH "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."IDENTITY_REJECTIONS__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."PROFILES" LIKE "COHORT"."PROFILES__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."PROFILES" SWAP WITH "COHORT"."PROFILES__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."PROFILES__STAGE_RUNID";
COMMIT;
BEGIN;
INSERT INTO "COHORT"."SEGMENT_HISTORY" (segment, profile_id, change, changed_at) SELECT segment, profile_id, change, changed_at FROM "COHORT"."SEGMENT_HISTORY__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."SEGMENT_HISTORY__STAGE_RUNID";
COMMIT;
BEGIN;
CREATE TABLE IF NOT EXISTS "COHORT"."SEGMENT_MEMBERSHIPS" LIKE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."SEGMENT_MEMBERSHIPS" SWAP WITH "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID";
COMMIT;
