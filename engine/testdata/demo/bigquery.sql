-- Cohort run of project "shop" for bigquery, output schema "cohort".
-- Tables are built under *__stage_RUNID names and published by the last statements.

CREATE SCHEMA IF NOT EXISTS `cohort`;

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
CREATE SCHEMA IF NOT EXISTS `cohort`;

-- try: extend the previous run: when its state (_identity_state, _identity_links, _identity_components) is usable and
-- every source only gained rows from its watermark on, read the new rows alone and resolve again only the
-- previous profiles they touch

-- in Go: abandon unless the previous run's state is usable: no --full-refresh, every source has a timestamp, the previous
-- tables exist and _identity_state was written under the same rules and sources (one fingerprint, 313adb7fdf0db4a71156ff2bc9fc7ed7)
-- reading:
-- SELECT DISTINCT fingerprint FROM `cohort`.`_identity_state`

DROP TABLE IF EXISTS `cohort`.`_work_id_salt_RUNID`;

-- the key salt of the previous run
CREATE OR REPLACE TABLE `cohort`.`_work_id_salt_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT min(salt) AS salt FROM `cohort`.`_identity_state`;

DROP TABLE IF EXISTS `cohort`.`_work_id_marks_RUNID`;

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TABLE `cohort`.`_work_id_marks_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT 'shop_customers' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`shop_customers` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`shop_customers` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'shop_customers') AS since FROM `cohort_demo`.`shop_customers` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'shop_customers') p
UNION ALL
SELECT 'orders' AS source, (SELECT max(CAST(src.`ordered_at` AS TIMESTAMP)) FROM `cohort_demo`.`orders` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`ordered_at` AS TIMESTAMP)) FROM `cohort_demo`.`orders` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'orders') AS since FROM `cohort_demo`.`orders` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'orders') p
UNION ALL
SELECT 'web_events' AS source, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`web_events` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`web_events` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'web_events') AS since FROM `cohort_demo`.`web_events` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'web_events') p
UNION ALL
SELECT 'app_events' AS source, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`app_events` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`app_events` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'app_events') AS since FROM `cohort_demo`.`app_events` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'app_events') p
UNION ALL
SELECT 'newsletter' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`newsletter` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`newsletter` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'newsletter') AS since FROM `cohort_demo`.`newsletter` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'newsletter') p
UNION ALL
SELECT 'support_tickets' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`support_tickets` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`support_tickets` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'support_tickets') AS since FROM `cohort_demo`.`support_tickets` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'support_tickets') p
UNION ALL
SELECT 'lead_ads' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`lead_ads` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`lead_ads` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'lead_ads') AS since FROM `cohort_demo`.`lead_ads` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'lead_ads') p
UNION ALL
SELECT 'cms_accounts' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`cms_accounts` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`cms_accounts` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'cms_accounts') AS since FROM `cohort_demo`.`cms_accounts` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'cms_accounts') p;

-- in Go: abandon unless, per source, the rows before the previous watermark are as many as then and the rows at it
-- no fewer (a row deleted, back-dated or updated changes them)
-- reading:
-- SELECT source, row_count, coalesce(prev_rows, -1), coalesce(before_since, -1), coalesce(prev_before, -1), coalesce(at_since, -1), coalesce(prev_at, -1) FROM `cohort`.`_work_id_marks_RUNID`

DROP TABLE IF EXISTS `cohort`.`_work_id_new_nodes_RUNID`;

-- nodes: every distinct identifier that entered the graph, with the first and last time a source saw it
-- customer_id
CREATE OR REPLACE TABLE `cohort`.`_work_id_new_nodes_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || identifier_value) END AS key, 'customer_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1
    FROM `cohort_demo`.`shop_customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
  ) normalized) `shop_customers`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- orders.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1
    FROM `cohort_demo`.`orders` src
    WHERE CAST(src.`ordered_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
      AND CAST(src.`ordered_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
  ) normalized) `orders`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- web_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`web_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
  ) normalized) `web_events`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`app_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
  ) normalized) `app_events`
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`shop_customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
  ) normalized) `shop_customers`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- orders.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`orders` src
    WHERE CAST(src.`ordered_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
      AND CAST(src.`ordered_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
  ) normalized) `orders`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.email
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v3
    FROM `cohort_demo`.`app_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
  ) normalized) `app_events`
    WHERE v3 IS NOT NULL
    UNION ALL
    -- newsletter.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`newsletter` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'newsletter')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'newsletter')
  ) normalized) `newsletter`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- support_tickets.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`support_tickets` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
  ) normalized) `support_tickets`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- lead_ads.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`lead_ads` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
  ) normalized) `lead_ads`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- cms_accounts.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`cms_accounts` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'cms_accounts')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'cms_accounts')
  ) normalized) `cms_accounts`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- phone
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || identifier_value) END AS key, 'phone' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.phone
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM `cohort_demo`.`shop_customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
  ) normalized) `shop_customers`
    WHERE v3 IS NOT NULL
    UNION ALL
    -- support_tickets.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`support_tickets` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
  ) normalized) `support_tickets`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- lead_ads.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`lead_ads` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
  ) normalized) `lead_ads`
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- anonymous_id
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || identifier_value) END AS key, 'anonymous_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- web_events.anonymous_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END AS v1
    FROM `cohort_demo`.`web_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
  ) normalized) `web_events`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- device_id
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || identifier_value) END AS key, 'device_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- app_events.device_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END AS v1
    FROM `cohort_demo`.`app_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
  ) normalized) `app_events`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value;

DROP TABLE IF EXISTS `cohort`.`_work_id_seen_RUNID`;

-- seen: the new rows' keys the previous runs read
CREATE OR REPLACE TABLE `cohort`.`_work_id_seen_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT n.key, n.identifier_type, n.identifier_value, coalesce(r.root, n.key) AS comp
FROM `cohort`.`_work_id_new_nodes_RUNID` n
JOIN `cohort`.`_identity_keys` k ON k.key = n.key
LEFT JOIN `cohort`.`_identity_roots` r ON r.node = n.key;

DROP TABLE IF EXISTS `cohort`.`_work_id_known_RUNID`;

-- known: the new rows' identifiers already in a profile
CREATE OR REPLACE TABLE `cohort`.`_work_id_known_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT n.key, p.profile_id FROM `cohort`.`_work_id_seen_RUNID` n
JOIN `cohort`.`_identity_profiles` p ON p.comp = n.comp;

-- in Go: abandon when a new identifier shares a 64-bit key with another (the rebuild salts the hash)
-- reading:
-- SELECT (SELECT count(*) - count(DISTINCT key) FROM `cohort`.`_work_id_new_nodes_RUNID`) + (
--   SELECT count(*) FROM `cohort`.`_work_id_new_nodes_RUNID` n
--   WHERE n.key IN (SELECT key FROM `cohort`.`_work_id_seen_RUNID`) AND n.key NOT IN (SELECT key FROM `cohort`.`_work_id_known_RUNID`)
--     AND NOT EXISTS (SELECT 1 FROM `cohort`.`identity_rejections` r WHERE r.rule IN ('exclude', 'max_links')
--       AND r.identifier_type = n.identifier_type AND r.identifier_value = n.identifier_value))

DROP TABLE IF EXISTS `cohort`.`_identity_keys__stage_RUNID`;

-- _identity_keys: the new identifiers' keys, appended in the swap
CREATE OR REPLACE TABLE `cohort`.`_identity_keys__stage_RUNID` AS
SELECT key FROM `cohort`.`_work_id_new_nodes_RUNID` n WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`_work_id_seen_RUNID` x WHERE x.key = n.key);

DROP TABLE IF EXISTS `cohort`.`_work_id_excluded_RUNID`;

-- excluded: identifiers an exclude rule keeps out of the graph, with the first pattern they match
CREATE OR REPLACE TABLE `cohort`.`_work_id_excluded_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT key, identifier_type, identifier_value, detail
FROM (
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p1 AS STRING)) THEN CAST(@p2 AS STRING)
    WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p3 AS STRING)) THEN CAST(@p4 AS STRING)
    WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p5 AS STRING)) THEN CAST(@p6 AS STRING) END AS detail
  FROM `cohort`.`_work_id_new_nodes_RUNID`
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '^test@', $2 = 'matches ^test@', $3 = '@example\.com$', $4 = 'matches @example\.com$', $5 = '^info@', $6 = 'matches ^info@';

-- excluded identifiers leave the graph
DELETE FROM `cohort`.`_work_id_new_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_work_id_new_edges_RUNID`;

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TABLE `cohort`.`_work_id_new_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
WITH -- source shop_customers (models/sources.yaml:3:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_shop_customers` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v3) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM `cohort_demo`.`shop_customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'shop_customers')
  ) normalized
),
-- source orders (models/sources.yaml:18:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_orders` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`orders` src
    WHERE CAST(src.`ordered_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
      AND CAST(src.`ordered_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'orders')
  ) normalized
),
-- source web_events (models/sources.yaml:26:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_web_events` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END AS v1,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`web_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'web_events')
  ) normalized
),
-- source app_events (models/sources.yaml:35:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_app_events` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v3) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END AS v1,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v3
    FROM `cohort_demo`.`app_events` src
    WHERE CAST(src.`occurred_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
      AND CAST(src.`occurred_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'app_events')
  ) normalized
),
-- source support_tickets (models/sources.yaml:51:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_support_tickets` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`support_tickets` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'support_tickets')
  ) normalized
),
-- source lead_ads (models/sources.yaml:59:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_lead_ads` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`lead_ads` src
    WHERE CAST(src.`created_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
      AND CAST(src.`created_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'lead_ads')
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM `source_shop_customers` CROSS JOIN UNNEST([STRUCT(1 AS i, 2 AS j), STRUCT(1, 3), STRUCT(2, 3)]) AS pair
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_orders` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_web_events` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM `source_app_events` CROSS JOIN UNNEST([STRUCT(1 AS i, 2 AS j), STRUCT(1, 3), STRUCT(2, 3)]) AS pair
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_support_tickets` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_lead_ads` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM `cohort`.`_work_id_new_edges_RUNID` WHERE a IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`) OR b IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_work_id_touched_RUNID`;

-- the identifiers a new link touches
CREATE OR REPLACE TABLE `cohort`.`_work_id_touched_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a AS key FROM `cohort`.`_work_id_new_edges_RUNID`
UNION DISTINCT
SELECT b FROM `cohort`.`_work_id_new_edges_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_id_touched_links_RUNID`;

-- their kept links
CREATE OR REPLACE TABLE `cohort`.`_work_id_touched_links_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT p.a, p.b FROM `cohort`.`_identity_links` p JOIN `cohort`.`_work_id_touched_RUNID` t ON t.key = p.a
UNION ALL
SELECT p.a, p.b FROM `cohort`.`_identity_links` p JOIN `cohort`.`_work_id_touched_RUNID` t ON t.key = p.b;

DROP TABLE IF EXISTS `cohort`.`_work_id_hub_links_RUNID`;

-- their links, kept and new, each once
CREATE OR REPLACE TABLE `cohort`.`_work_id_hub_links_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a, b FROM `cohort`.`_work_id_touched_links_RUNID`
UNION DISTINCT
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_id_hubs_touched_RUNID`;

-- junk hubs: identifiers linked to more distinct identifiers than max_links allows
CREATE OR REPLACE TABLE `cohort`.`_work_id_hubs_touched_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT n.key, n.identifier_type, n.identifier_value,
  'linked to ' || CAST(l.links AS STRING) || ' distinct identifiers (max_links ' || CASE n.identifier_type WHEN 'device_id' THEN '10' WHEN 'anonymous_id' THEN '10' END || ')' AS detail
FROM (SELECT key, count(*) AS links FROM (SELECT a AS key FROM `cohort`.`_work_id_hub_links_RUNID` e UNION ALL SELECT b FROM `cohort`.`_work_id_hub_links_RUNID` e) ends GROUP BY key) l
JOIN (SELECT key, identifier_type, identifier_value FROM `cohort`.`_work_id_new_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_touched_RUNID`)) n ON n.key = l.key
WHERE (n.identifier_type = 'device_id' AND l.links > 10)
   OR (n.identifier_type = 'anonymous_id' AND l.links > 10);

-- in Go: abandon when an identifier a new link touches became a junk hub (it takes links out of previous profiles)
-- reading:
-- SELECT count(*) FROM `cohort`.`_work_id_hubs_touched_RUNID` h WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`identity_rejections` p WHERE p.rule = 'max_links' AND p.identifier_type = h.identifier_type AND p.identifier_value = h.identifier_value)

DROP TABLE IF EXISTS `cohort`.`_work_id_hubs_RUNID`;

-- junk hubs: the previous ones, with the neighbours counted again where new links touch them
CREATE OR REPLACE TABLE `cohort`.`_work_id_hubs_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT key, identifier_type, identifier_value, detail FROM `cohort`.`_work_id_hubs_touched_RUNID`
UNION ALL
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || identifier_type || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || identifier_type || ':' || identifier_value) END, identifier_type, identifier_value, detail FROM `cohort`.`identity_rejections` p
WHERE rule = 'max_links' AND NOT EXISTS (SELECT 1 FROM `cohort`.`_work_id_hubs_touched_RUNID` h WHERE h.identifier_type = p.identifier_type AND h.identifier_value = p.identifier_value);

DELETE FROM `cohort`.`_work_id_new_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_work_id_affected_RUNID`;

-- affected: the previous profiles the new rows touch, resolved again
CREATE OR REPLACE TABLE `cohort`.`_work_id_affected_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT profile_id, component FROM `cohort`.`_identity_components` WHERE component IN (
  SELECT c.component FROM `cohort`.`_identity_components` c
  WHERE c.profile_id IN (SELECT DISTINCT profile_id FROM `cohort`.`_work_id_known_RUNID`));

DROP TABLE IF EXISTS `cohort`.`_work_id_old_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_work_id_old_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || identifier_type || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || identifier_type || ':' || identifier_value) END AS key, identifier_type, identifier_value, first_seen_at, last_seen_at, profile_id
FROM `cohort`.`identity_graph`
WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_work_id_affected_RUNID`);

-- in Go: abandon when a new identifier has the key of another one of identity_graph
-- reading:
-- SELECT count(*) FROM `cohort`.`_work_id_seen_RUNID` n WHERE n.key IN (SELECT key FROM `cohort`.`_work_id_known_RUNID`) AND NOT EXISTS (SELECT 1 FROM `cohort`.`_work_id_old_RUNID` o
--   WHERE o.key = n.key AND o.identifier_type = n.identifier_type AND o.identifier_value = n.identifier_value)

DROP TABLE IF EXISTS `cohort`.`_work_id_nodes_RUNID`;

-- nodes: the affected profiles' identifiers with the new rows' ones, first and last seen merged
CREATE OR REPLACE TABLE `cohort`.`_work_id_nodes_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT key, identifier_type, identifier_value, min(first_seen_at) AS first_seen_at, max(last_seen_at) AS last_seen_at
FROM (
  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`_work_id_old_RUNID`
  UNION ALL
  SELECT key, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`_work_id_new_nodes_RUNID`
) n
GROUP BY key, identifier_type, identifier_value;

DROP TABLE IF EXISTS `cohort`.`_work_id_edges_RUNID`;

-- links: the affected profiles' (a star each, with limits a star each previous component) and the new rows'
CREATE OR REPLACE TABLE `cohort`.`_work_id_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT least(key, hub) AS a, greatest(key, hub) AS b FROM (SELECT key, min(key) OVER (PARTITION BY component) AS hub FROM `cohort`.`_work_id_old_RUNID` o JOIN `cohort`.`_work_id_affected_RUNID` f ON f.profile_id = o.profile_id) o WHERE key <> hub
UNION DISTINCT
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID` WHERE a NOT IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`) AND b NOT IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_identity_links__stage_RUNID`;

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE `cohort`.`_identity_links__stage_RUNID` AS
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID`
EXCEPT DISTINCT
SELECT a, b FROM `cohort`.`_work_id_touched_links_RUNID`;

-- set incremental = 'yes'

-- if that was abandoned, instead:

-- if the increment did not read the marks already:

DROP TABLE IF EXISTS `cohort`.`_work_id_marks_RUNID`;

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TABLE `cohort`.`_work_id_marks_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT 'shop_customers' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`shop_customers` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`shop_customers` src) AS newest FROM `cohort_demo`.`shop_customers` src) r) r
UNION ALL
SELECT 'orders' AS source, (SELECT max(CAST(src.`ordered_at` AS TIMESTAMP)) FROM `cohort_demo`.`orders` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`ordered_at` AS TIMESTAMP)) FROM `cohort_demo`.`orders` src) AS newest FROM `cohort_demo`.`orders` src) r) r
UNION ALL
SELECT 'web_events' AS source, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`web_events` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`web_events` src) AS newest FROM `cohort_demo`.`web_events` src) r) r
UNION ALL
SELECT 'app_events' AS source, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`app_events` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`occurred_at` AS TIMESTAMP)) FROM `cohort_demo`.`app_events` src) AS newest FROM `cohort_demo`.`app_events` src) r) r
UNION ALL
SELECT 'newsletter' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`newsletter` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `cohort_demo`.`newsletter` src) AS newest FROM `cohort_demo`.`newsletter` src) r) r
UNION ALL
SELECT 'support_tickets' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`support_tickets` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`support_tickets` src) AS newest FROM `cohort_demo`.`support_tickets` src) r) r
UNION ALL
SELECT 'lead_ads' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`lead_ads` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`lead_ads` src) AS newest FROM `cohort_demo`.`lead_ads` src) r) r
UNION ALL
SELECT 'cms_accounts' AS source, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`cms_accounts` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`created_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`created_at` AS TIMESTAMP)) FROM `cohort_demo`.`cms_accounts` src) AS newest FROM `cohort_demo`.`cms_accounts` src) r) r;

-- end if

-- nodes with unique keys: when two identifiers share a key the hash is salted ('1' || type:value, then '2' ...)
-- try with salt = '', '1', '2', '3' in turn, until an attempt is not abandoned:

DROP TABLE IF EXISTS `cohort`.`_work_id_salt_RUNID`;

-- the key salt of this attempt
CREATE OR REPLACE TABLE `cohort`.`_work_id_salt_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT CAST(@p1 AS STRING) AS salt
-- parameters: $1 = {salt} (set as the plan runs);

DROP TABLE IF EXISTS `cohort`.`_work_id_nodes_RUNID`;

-- nodes: every distinct identifier that entered the graph, with the first and last time a source saw it
-- customer_id
CREATE OR REPLACE TABLE `cohort`.`_work_id_nodes_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || identifier_value) END AS key, 'customer_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1
    FROM `cohort_demo`.`shop_customers` src
  ) normalized) `shop_customers`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- orders.customer_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1
    FROM `cohort_demo`.`orders` src
  ) normalized) `orders`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- web_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`web_events` src
  ) normalized) `web_events`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.user_id
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`app_events` src
  ) normalized) `app_events`
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`shop_customers` src
  ) normalized) `shop_customers`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- orders.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`orders` src
  ) normalized) `orders`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- app_events.email
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v3
    FROM `cohort_demo`.`app_events` src
  ) normalized) `app_events`
    WHERE v3 IS NOT NULL
    UNION ALL
    -- newsletter.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`newsletter` src
  ) normalized) `newsletter`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- support_tickets.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`support_tickets` src
  ) normalized) `support_tickets`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- lead_ads.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`lead_ads` src
  ) normalized) `lead_ads`
    WHERE v1 IS NOT NULL
    UNION ALL
    -- cms_accounts.email
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1
    FROM `cohort_demo`.`cms_accounts` src
  ) normalized) `cms_accounts`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- phone
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || identifier_value) END AS key, 'phone' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- shop_customers.phone
    SELECT v3 AS identifier_value, seen_at
    FROM (SELECT seen_at, v3
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM `cohort_demo`.`shop_customers` src
  ) normalized) `shop_customers`
    WHERE v3 IS NOT NULL
    UNION ALL
    -- support_tickets.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`support_tickets` src
  ) normalized) `support_tickets`
    WHERE v2 IS NOT NULL
    UNION ALL
    -- lead_ads.phone
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`lead_ads` src
  ) normalized) `lead_ads`
    WHERE v2 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- anonymous_id
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || identifier_value) END AS key, 'anonymous_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- web_events.anonymous_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END AS v1
    FROM `cohort_demo`.`web_events` src
  ) normalized) `web_events`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- device_id
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || identifier_value) END AS key, 'device_id' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- app_events.device_id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END AS v1
    FROM `cohort_demo`.`app_events` src
  ) normalized) `app_events`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value;

-- in Go: abandon this attempt when two identifiers share a key
-- reading:
-- SELECT count(*) - count(DISTINCT key) FROM `cohort`.`_work_id_nodes_RUNID`

DROP TABLE IF EXISTS `cohort`.`_identity_keys__stage_RUNID`;

-- _identity_keys: every identifier's key, for the next run's key check
CREATE OR REPLACE TABLE `cohort`.`_identity_keys__stage_RUNID` AS
SELECT key FROM `cohort`.`_work_id_nodes_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_id_excluded_RUNID`;

-- excluded: identifiers an exclude rule keeps out of the graph, with the first pattern they match
CREATE OR REPLACE TABLE `cohort`.`_work_id_excluded_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT key, identifier_type, identifier_value, detail
FROM (
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p1 AS STRING)) THEN CAST(@p2 AS STRING)
    WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p3 AS STRING)) THEN CAST(@p4 AS STRING)
    WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p5 AS STRING)) THEN CAST(@p6 AS STRING) END AS detail
  FROM `cohort`.`_work_id_nodes_RUNID`
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '^test@', $2 = 'matches ^test@', $3 = '@example\.com$', $4 = 'matches @example\.com$', $5 = '^info@', $6 = 'matches ^info@';

-- excluded identifiers leave the graph
DELETE FROM `cohort`.`_work_id_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

-- end try

DROP TABLE IF EXISTS `cohort`.`_work_id_edges_RUNID`;

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TABLE `cohort`.`_work_id_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
WITH -- source shop_customers (models/sources.yaml:3:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_shop_customers` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v3) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v3
    FROM `cohort_demo`.`shop_customers` src
  ) normalized
),
-- source orders (models/sources.yaml:18:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_orders` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`ordered_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `cohort_demo`.`orders` src
  ) normalized
),
-- source web_events (models/sources.yaml:26:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_web_events` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'anonymous_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END AS v1,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2
    FROM `cohort_demo`.`web_events` src
  ) normalized
),
-- source app_events (models/sources.yaml:35:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_app_events` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'device_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v2) END AS k2, v3, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v3) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v3) END AS k3
  FROM (
    SELECT CAST(src.`occurred_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END AS v1,
      CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS v2,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v3
    FROM `cohort_demo`.`app_events` src
  ) normalized
),
-- source support_tickets (models/sources.yaml:51:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_support_tickets` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`support_tickets` src
  ) normalized
),
-- source lead_ads (models/sources.yaml:59:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_lead_ads` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'phone' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`created_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v1,
      CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS v2
    FROM `cohort_demo`.`lead_ads` src
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM `source_shop_customers` CROSS JOIN UNNEST([STRUCT(1 AS i, 2 AS j), STRUCT(1, 3), STRUCT(2, 3)]) AS pair
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_orders` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_web_events` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT a, b FROM (
    SELECT CASE pair.i WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 1 THEN CASE WHEN v1 IS NOT NULL THEN k1 END WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END END AS a, CASE pair.j WHEN 2 THEN CASE WHEN v2 IS NOT NULL THEN k2 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END WHEN 3 THEN CASE WHEN v3 IS NOT NULL THEN k3 END END AS b
    FROM `source_app_events` CROSS JOIN UNNEST([STRUCT(1 AS i, 2 AS j), STRUCT(1, 3), STRUCT(2, 3)]) AS pair
  ) unpivoted WHERE a IS NOT NULL AND b IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_support_tickets` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
  UNION ALL
  SELECT k1 AS a, k2 AS b FROM `source_lead_ads` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM `cohort`.`_work_id_edges_RUNID` WHERE a IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`) OR b IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_identity_links__stage_RUNID`;

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE `cohort`.`_identity_links__stage_RUNID` AS
SELECT a, b FROM `cohort`.`_work_id_edges_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_id_hubs_RUNID`;

-- junk hubs: identifiers linked to more distinct identifiers than max_links allows
CREATE OR REPLACE TABLE `cohort`.`_work_id_hubs_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT n.key, n.identifier_type, n.identifier_value,
  'linked to ' || CAST(l.links AS STRING) || ' distinct identifiers (max_links ' || CASE n.identifier_type WHEN 'device_id' THEN '10' WHEN 'anonymous_id' THEN '10' END || ')' AS detail
FROM (SELECT key, count(*) AS links FROM (SELECT a AS key FROM `cohort`.`_work_id_edges_RUNID` e UNION ALL SELECT b FROM `cohort`.`_work_id_edges_RUNID` e) ends GROUP BY key) l
JOIN `cohort`.`_work_id_nodes_RUNID` n ON n.key = l.key
WHERE (n.identifier_type = 'device_id' AND l.links > 10)
   OR (n.identifier_type = 'anonymous_id' AND l.links > 10);

-- junk hubs leave the graph with their links
DELETE FROM `cohort`.`_work_id_edges_RUNID` WHERE a IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`) OR b IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`);

DELETE FROM `cohort`.`_work_id_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`);

-- end try

-- connected components: in round {r} every node takes the smallest key among itself and its neighbours (its
-- choice kept in moves_{r}), and the links are contracted to those choices; until no link is left
-- repeat for {r} = 1, 2, ... while {in} has rows, at most 10000 rounds, {in} being `cohort`.`_work_id_edges_RUNID` in round 1, then the round before's {out};
-- {out} is `cohort`.`_work_id_links_a_RUNID` when {r} is odd, `cohort`.`_work_id_links_b_RUNID` when even:

-- if {r} is a multiple of 40: the remaining keys are reshuffled instead (the guard against slow convergence on long chains):

-- the remaining nodes get new random keys: a hash of the old key salted with the round
CREATE OR REPLACE TABLE `cohort`.`_work_id_moves_{r}_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT node, FARM_FINGERPRINT(CAST(node AS STRING) || 'r{r}:') AS parent
FROM (SELECT a AS node FROM {in} UNION DISTINCT SELECT b FROM {in}) n;

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TABLE {out}
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT least(ra.parent, rb.parent) AS a, greatest(ra.parent, rb.parent) AS b
FROM {in} e
JOIN `cohort`.`_work_id_moves_{r}_RUNID` ra ON ra.node = e.a
JOIN `cohort`.`_work_id_moves_{r}_RUNID` rb ON rb.node = e.b;

-- if two remaining nodes got the same new key (SELECT count(*) - count(DISTINCT parent) FROM `cohort`.`_work_id_moves_{r}_RUNID` is not 0):
-- the round is undone (no moves, its links carried over as they were) and the next one is a normal round:

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TABLE {out}
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a, b FROM {in};

DROP TABLE IF EXISTS `cohort`.`_work_id_moves_{r}_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_work_id_moves_{r}_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a AS node, b AS parent FROM {in} WHERE 1 = 0;

-- end if

-- otherwise:

-- each node takes the smallest key among itself and its neighbours (links are a < b, so only b can move)
CREATE OR REPLACE TABLE `cohort`.`_work_id_moves_{r}_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT b AS node, min(a) AS parent FROM {in} GROUP BY b;

DROP TABLE IF EXISTS {out};

-- contract: each link now joins its ends' choices; links inside one cluster vanish, so finished clusters drop out
CREATE OR REPLACE TABLE {out}
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT least(pa, pb) AS a, greatest(pa, pb) AS b
FROM (
  SELECT coalesce(ma.parent, e.a) AS pa, mb.parent AS pb
  FROM {in} e
  LEFT JOIN `cohort`.`_work_id_moves_{r}_RUNID` ma ON ma.node = e.a
  JOIN `cohort`.`_work_id_moves_{r}_RUNID` mb ON mb.node = e.b
) contracted
WHERE pa <> pb;

-- end if

-- end repeat

DROP TABLE IF EXISTS `cohort`.`_work_id_roots_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_work_id_roots_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a AS node, b AS root FROM `cohort`.`_work_id_edges_RUNID` WHERE 1 = 0;

DROP TABLE IF EXISTS `cohort`.`_work_id_roots_none_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_work_id_roots_none_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT a AS node, b AS root FROM `cohort`.`_work_id_edges_RUNID` WHERE 1 = 0;

-- roots: from the last round's moves to the first, each round adds its moved nodes to the roots known so far
-- (with no round, roots stays empty: no node moved)
-- repeat for {i} from r down to 1, {in} being `cohort`.`_work_id_roots_none_RUNID` in the first round, then the round before's {out};
-- {out} is `cohort`.`_work_id_roots_RUNID` when {i} is odd, `cohort`.`_work_id_roots_b_RUNID` when even:

DROP TABLE IF EXISTS {out};

CREATE OR REPLACE TABLE {out}
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT node, root FROM {in}
UNION ALL
SELECT m.node, coalesce(f.root, m.parent)
FROM `cohort`.`_work_id_moves_{i}_RUNID` m
LEFT JOIN {in} f ON f.node = m.parent
WHERE NOT EXISTS (SELECT 1 FROM {in} g WHERE g.node = m.node);

DROP TABLE IF EXISTS `cohort`.`_work_id_moves_{i}_RUNID`;

DROP TABLE IF EXISTS {in};

-- end repeat

DROP TABLE IF EXISTS `cohort`.`_work_id_violators_RUNID`;

-- clusters over a limit: only these are refined
CREATE OR REPLACE TABLE `cohort`.`_work_id_violators_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT comp FROM (
  SELECT comp FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) labeled
  WHERE identifier_type IN ('customer_id', 'email')
  GROUP BY comp, identifier_type
  HAVING count(*) > CASE identifier_type WHEN 'customer_id' THEN 1 WHEN 'email' THEN 3 END
) over_limit;

DROP TABLE IF EXISTS `cohort`.`_identity_cut_links__stage_RUNID`;

-- links a limit cut (filled from the refinement)
CREATE OR REPLACE TABLE `cohort`.`_identity_cut_links__stage_RUNID` AS
SELECT CAST(NULL AS STRING) AS a_type, CAST(NULL AS STRING) AS a_value, CAST(NULL AS STRING) AS b_type, CAST(NULL AS STRING) AS b_value, CAST(NULL AS STRING) AS detail LIMIT 0;

DROP TABLE IF EXISTS `cohort`.`_work_id_refined_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_work_id_refined_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT node AS key, root AS comp, root AS component FROM `cohort`.`_work_id_roots_RUNID` WHERE 1 = 0;

-- if a cluster is over a limit (violators has rows):

-- if the run is incremental (edges holds a star for each previous component, not its links):

DROP TABLE IF EXISTS `cohort`.`_work_id_over_keys_RUNID`;

-- the previous identifiers of the clusters over a limit
CREATE OR REPLACE TABLE `cohort`.`_work_id_over_keys_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT o.key FROM `cohort`.`_work_id_old_RUNID` o LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = o.key
WHERE coalesce(r.root, o.key) IN (SELECT comp FROM `cohort`.`_work_id_violators_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_work_id_edges_RUNID`;

-- links of the clusters over a limit: their previous identifiers' kept links, and the new ones
CREATE OR REPLACE TABLE `cohort`.`_work_id_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT p.a, p.b FROM `cohort`.`_identity_links` p JOIN `cohort`.`_work_id_over_keys_RUNID` o ON o.key = p.a WHERE p.b IN (SELECT key FROM `cohort`.`_work_id_over_keys_RUNID`)
UNION DISTINCT
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID` WHERE a NOT IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`) AND b NOT IN (SELECT key FROM `cohort`.`_work_id_hubs_RUNID`);

-- end if

-- in Go: the links of those clusters are rebuilt adding the strongest links first and skipping any link that would
-- break a limit; the new clusters are inserted into refined, the cut links into _identity_cut_links
-- (each column one array parameter, unnested into rows)
-- reading:
-- SELECT la.comp, la.key, la.identifier_type, la.identifier_value, lb.key AS b_key, lb.identifier_type AS b_type, lb.identifier_value AS b_value
-- FROM `cohort`.`_work_id_edges_RUNID` e
-- JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
--   FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) la ON la.key = e.a
-- JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
--   FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) lb ON lb.key = e.b
-- WHERE la.comp IN (SELECT comp FROM `cohort`.`_work_id_violators_RUNID`)

-- the refined clusters replace the ones over a limit
DELETE FROM `cohort`.`_work_id_roots_RUNID` WHERE node IN (SELECT key FROM `cohort`.`_work_id_refined_RUNID`);

INSERT INTO `cohort`.`_work_id_roots_RUNID` (node, root) SELECT key, comp FROM `cohort`.`_work_id_refined_RUNID`;

-- end if

-- if the run is incremental:

-- the cut links of profiles not resolved again stay
INSERT INTO `cohort`.`_identity_cut_links__stage_RUNID` (a_type, a_value, b_type, b_value, detail)
SELECT a_type, a_value, b_type, b_value, detail FROM `cohort`.`_identity_cut_links` k
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`_work_id_old_RUNID` o WHERE o.identifier_type = k.a_type AND o.identifier_value = k.a_value);

-- end if

-- if the run is incremental: the profiles resolved again replace theirs, the others stay:

DROP TABLE IF EXISTS `cohort`.`_work_id_anchors_RUNID`;

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TABLE `cohort`.`_work_id_anchors_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT comp, 'p_' || substr(TO_HEX(MD5(substr(min(anchor_key), 21))), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' WHEN 'phone' THEN '002' WHEN 'device_id' THEN '003' WHEN 'anonymous_id' THEN '004' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((UNIX_MICROS(first_seen_at) / 1000000) * 1000) AS BIGINT) AS STRING), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) labeled) keyed
GROUP BY comp;

-- identity_graph of an incremental run: the profiles resolved again
CREATE OR REPLACE TABLE `cohort`.`_identity_graph_new__stage_RUNID` AS
SELECT a.profile_id, l.identifier_type, l.identifier_value, l.first_seen_at, l.last_seen_at
FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) l
JOIN `cohort`.`_work_id_anchors_RUNID` a ON a.comp = l.comp;

CREATE OR REPLACE TABLE `cohort`.`_identity_graph_gone__stage_RUNID` AS
SELECT profile_id FROM `cohort`.`_work_id_affected_RUNID`;

-- and every other profile as it was: a view, applied to the final table in the swap
CREATE OR REPLACE VIEW `cohort`.`identity_graph__stage_RUNID` AS
SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`identity_graph` g
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`_identity_graph_gone__stage_RUNID` x WHERE x.profile_id = g.profile_id)
UNION ALL
SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`_identity_graph_new__stage_RUNID`;

-- publish brings identity_graph up to date in place instead of replacing it:
-- DELETE FROM `cohort`.`identity_graph` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_graph_gone__stage_RUNID`);
-- INSERT INTO `cohort`.`identity_graph` (profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at) SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`_identity_graph_new__stage_RUNID`;
-- DROP TABLE IF EXISTS `cohort`.`_identity_graph_new__stage_RUNID`;
-- DROP TABLE IF EXISTS `cohort`.`_identity_graph_gone__stage_RUNID`;

DROP TABLE IF EXISTS `cohort`.`identity_rejections__stage_RUNID`;

-- identity_rejections: what each rule kept out of the graph
CREATE OR REPLACE TABLE `cohort`.`identity_rejections__stage_RUNID` AS
SELECT DISTINCT identifier_type, identifier_value, rule, detail
FROM (
  SELECT identifier_type, identifier_value, 'exclude' AS rule, detail FROM `cohort`.`_work_id_excluded_RUNID`
  UNION ALL
  SELECT identifier_type, identifier_value, 'max_links' AS rule, detail FROM `cohort`.`_work_id_hubs_RUNID`
  UNION ALL
  SELECT b_type AS identifier_type, b_value AS identifier_value, 'limit' AS rule, detail FROM `cohort`.`_identity_cut_links__stage_RUNID`
  UNION ALL
  SELECT identifier_type, identifier_value, rule, detail FROM `cohort`.`identity_rejections` WHERE rule = 'exclude'
) rejected;

DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE `cohort`.`identity_lineage__stage_RUNID` AS
SELECT profile_id, merged_profile_id, merged_at FROM `cohort`.`identity_lineage`
UNION ALL
SELECT profile_id, merged_profile_id, CAST(@p1 AS TIMESTAMP) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM `cohort`.`_work_id_old_RUNID` o
  JOIN (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) l ON l.key = o.key
  JOIN `cohort`.`_work_id_anchors_RUNID` n ON n.comp = l.comp
  WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`_work_id_anchors_RUNID` x WHERE x.profile_id = o.profile_id)
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS `cohort`.`_identity_components_new__stage_RUNID`;

-- _identity_components: each profile's component before limits cut it, for the next run
-- (the profiles resolved again; the others stay)
CREATE OR REPLACE TABLE `cohort`.`_identity_components_new__stage_RUNID` AS
SELECT a.profile_id, coalesce(f.component, a.comp) AS component
FROM `cohort`.`_work_id_anchors_RUNID` a
LEFT JOIN (SELECT DISTINCT comp, component FROM `cohort`.`_work_id_refined_RUNID`) f ON f.comp = a.comp;

DROP TABLE IF EXISTS `cohort`.`_identity_components_gone__stage_RUNID`;

CREATE OR REPLACE TABLE `cohort`.`_identity_components_gone__stage_RUNID` AS
SELECT profile_id FROM `cohort`.`_work_id_affected_RUNID`;

-- publish brings _identity_components up to date in place instead of replacing it:
-- DELETE FROM `cohort`.`_identity_components` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_components_gone__stage_RUNID`);
-- INSERT INTO `cohort`.`_identity_components` (profile_id, component) SELECT profile_id, component FROM `cohort`.`_identity_components_new__stage_RUNID`;
-- DROP TABLE IF EXISTS `cohort`.`_identity_components_new__stage_RUNID`;
-- DROP TABLE IF EXISTS `cohort`.`_identity_components_gone__stage_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_identity_roots_new__stage_RUNID`;

-- _identity_roots: each identifier's cluster (none: its own key), for the next run
-- (the identifiers resolved again; the others stay)
CREATE OR REPLACE TABLE `cohort`.`_identity_roots_new__stage_RUNID` AS
SELECT key AS node, comp AS root FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) l;

DROP TABLE IF EXISTS `cohort`.`_identity_profiles_new__stage_RUNID`;

-- _identity_profiles: each cluster's profile, for the next run
-- (the profiles resolved again with their clusters, the previous ones without; the others stay)
CREATE OR REPLACE TABLE `cohort`.`_identity_profiles_new__stage_RUNID` AS
SELECT comp, profile_id FROM `cohort`.`_work_id_anchors_RUNID`
UNION ALL
SELECT CAST(NULL AS INT64), profile_id FROM `cohort`.`_work_id_affected_RUNID`;

-- publish brings _identity_roots up to date in place instead of replacing it:
-- DELETE FROM `cohort`.`_identity_roots` WHERE node IN (SELECT node FROM `cohort`.`_identity_roots_new__stage_RUNID`);
-- INSERT INTO `cohort`.`_identity_roots` (node, root) SELECT node, root FROM `cohort`.`_identity_roots_new__stage_RUNID`;
-- DROP TABLE IF EXISTS `cohort`.`_identity_roots_new__stage_RUNID`;

-- publish brings _identity_profiles up to date in place instead of replacing it:
-- DELETE FROM `cohort`.`_identity_profiles` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_profiles_new__stage_RUNID`);
-- INSERT INTO `cohort`.`_identity_profiles` (comp, profile_id) SELECT comp, profile_id FROM `cohort`.`_identity_profiles_new__stage_RUNID` WHERE comp IS NOT NULL;
-- DROP TABLE IF EXISTS `cohort`.`_identity_profiles_new__stage_RUNID`;

-- publish appends the staged rows to _identity_keys

-- publish appends the staged rows to _identity_links

DROP TABLE IF EXISTS `cohort`.`_identity_state__stage_RUNID`;

-- _identity_state: what this run read of each source, under which rules and key salt, and the identifiers of identity_graph
CREATE OR REPLACE TABLE `cohort`.`_identity_state__stage_RUNID` AS
SELECT source, watermark, row_count, before_watermark, at_watermark, CAST(@p1 AS STRING) AS fingerprint, (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) AS salt,
  CAST((SELECT max(identifiers) FROM `cohort`.`_identity_state`) - (SELECT count(*) FROM `cohort`.`_work_id_old_RUNID`) + (SELECT count(*) FROM `cohort`.`_identity_graph_new__stage_RUNID`) AS INT64) AS identifiers
FROM `cohort`.`_work_id_marks_RUNID`
-- parameters: $1 = '313adb7fdf0db4a71156ff2bc9fc7ed7';

-- otherwise:

DROP TABLE IF EXISTS `cohort`.`_work_id_anchors_RUNID`;

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TABLE `cohort`.`_work_id_anchors_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT comp, 'p_' || substr(TO_HEX(MD5(substr(min(anchor_key), 21))), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' WHEN 'phone' THEN '002' WHEN 'device_id' THEN '003' WHEN 'anonymous_id' THEN '004' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((UNIX_MICROS(first_seen_at) / 1000000) * 1000) AS BIGINT) AS STRING), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) labeled) keyed
GROUP BY comp;

DROP TABLE IF EXISTS `cohort`.`identity_graph__stage_RUNID`;

-- identity_graph: one row per identifier with its profile
CREATE OR REPLACE TABLE `cohort`.`identity_graph__stage_RUNID` AS
SELECT a.profile_id, l.identifier_type, l.identifier_value, l.first_seen_at, l.last_seen_at
FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
  FROM `cohort`.`_work_id_nodes_RUNID` n LEFT JOIN `cohort`.`_work_id_roots_RUNID` r ON r.node = n.key) l
JOIN `cohort`.`_work_id_anchors_RUNID` a ON a.comp = l.comp;

-- publish replaces identity_graph by the staged table

DROP TABLE IF EXISTS `cohort`.`identity_rejections__stage_RUNID`;

-- identity_rejections: what each rule kept out of the graph
CREATE OR REPLACE TABLE `cohort`.`identity_rejections__stage_RUNID` AS
SELECT DISTINCT identifier_type, identifier_value, rule, detail
FROM (
  SELECT identifier_type, identifier_value, 'exclude' AS rule, detail FROM `cohort`.`_work_id_excluded_RUNID`
  UNION ALL
  SELECT identifier_type, identifier_value, 'max_links' AS rule, detail FROM `cohort`.`_work_id_hubs_RUNID`
  UNION ALL
  SELECT b_type AS identifier_type, b_value AS identifier_value, 'limit' AS rule, detail FROM `cohort`.`_identity_cut_links__stage_RUNID`
) rejected;

-- if identity_graph exists (every run but the first):

-- if identity_lineage exists (every run but the first):

DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE `cohort`.`identity_lineage__stage_RUNID` AS
SELECT profile_id, merged_profile_id, merged_at FROM `cohort`.`identity_lineage`
UNION ALL
SELECT profile_id, merged_profile_id, CAST(@p1 AS TIMESTAMP) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM `cohort`.`identity_graph` o
  JOIN `cohort`.`identity_graph__stage_RUNID` n ON n.identifier_type = o.identifier_type AND n.identifier_value = o.identifier_value
  WHERE o.profile_id IN (SELECT profile_id FROM `cohort`.`identity_graph` EXCEPT DISTINCT SELECT profile_id FROM `cohort`.`identity_graph__stage_RUNID`)
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

-- otherwise (identity_lineage does not exist yet):

DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE `cohort`.`identity_lineage__stage_RUNID` AS
SELECT profile_id, merged_profile_id, CAST(@p1 AS TIMESTAMP) AS merged_at
FROM (
  SELECT n.profile_id, o.profile_id AS merged_profile_id,
    row_number() OVER (PARTITION BY o.profile_id ORDER BY count(*) DESC, n.profile_id) AS pick
  FROM `cohort`.`identity_graph` o
  JOIN `cohort`.`identity_graph__stage_RUNID` n ON n.identifier_type = o.identifier_type AND n.identifier_value = o.identifier_value
  WHERE o.profile_id IN (SELECT profile_id FROM `cohort`.`identity_graph` EXCEPT DISTINCT SELECT profile_id FROM `cohort`.`identity_graph__stage_RUNID`)
  GROUP BY n.profile_id, o.profile_id
) merged
WHERE pick = 1
-- parameters: $1 = '2026-11-23 11:00:00';

-- end if identity_lineage exists

-- otherwise (identity_graph does not exist yet):

-- if identity_lineage exists (every run but the first):

DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE `cohort`.`identity_lineage__stage_RUNID` AS
SELECT profile_id, merged_profile_id, merged_at FROM `cohort`.`identity_lineage`;

-- otherwise (identity_lineage does not exist yet):

DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;

-- identity_lineage: previous lineage, plus every previous profile id that stopped existing, merged into the profile that holds most of its identifiers
CREATE OR REPLACE TABLE `cohort`.`identity_lineage__stage_RUNID` AS
SELECT CAST(NULL AS STRING) AS profile_id, CAST(NULL AS STRING) AS merged_profile_id, CAST(NULL AS TIMESTAMP) AS merged_at LIMIT 0;

-- end if identity_lineage exists

-- end if identity_graph exists

DROP TABLE IF EXISTS `cohort`.`_identity_components__stage_RUNID`;

-- _identity_components: each profile's component before limits cut it, for the next run
CREATE OR REPLACE TABLE `cohort`.`_identity_components__stage_RUNID` AS
SELECT a.profile_id, coalesce(f.component, a.comp) AS component
FROM `cohort`.`_work_id_anchors_RUNID` a
LEFT JOIN (SELECT DISTINCT comp, component FROM `cohort`.`_work_id_refined_RUNID`) f ON f.comp = a.comp;

DROP TABLE IF EXISTS `cohort`.`_identity_roots__stage_RUNID`;

-- _identity_roots: each identifier's cluster (none: its own key), for the next run
CREATE OR REPLACE TABLE `cohort`.`_identity_roots__stage_RUNID` AS
SELECT node, root FROM `cohort`.`_work_id_roots_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_identity_profiles__stage_RUNID`;

-- _identity_profiles: each cluster's profile, for the next run
CREATE OR REPLACE TABLE `cohort`.`_identity_profiles__stage_RUNID` AS
SELECT comp, profile_id FROM `cohort`.`_work_id_anchors_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_identity_state__stage_RUNID`;

-- _identity_state: what this run read of each source, under which rules and key salt, and the identifiers of identity_graph
CREATE OR REPLACE TABLE `cohort`.`_identity_state__stage_RUNID` AS
SELECT source, watermark, row_count, before_watermark, at_watermark, CAST(@p1 AS STRING) AS fingerprint, (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) AS salt,
  CAST((SELECT count(*) FROM `cohort`.`identity_graph__stage_RUNID`) AS INT64) AS identifiers
FROM `cohort`.`_work_id_marks_RUNID`
-- parameters: $1 = '313adb7fdf0db4a71156ff2bc9fc7ed7';

-- end if


-- ==== step: identity_sources ====
-- which sources hold each identifier (identity's sources)
-- _identity_sources: which sources hold each identifier, for the profile look-up
CREATE OR REPLACE TABLE `cohort`.`_identity_sources__stage_RUNID` AS
-- shop_customers.customer_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS identifier_value, 'shop_customers' AS source
FROM `cohort_demo`.`shop_customers` src
WHERE CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END IS NOT NULL
UNION ALL
-- shop_customers.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'shop_customers' AS source
FROM `cohort_demo`.`shop_customers` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- shop_customers.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'shop_customers' AS source
FROM `cohort_demo`.`shop_customers` src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- orders.customer_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END AS identifier_value, 'orders' AS source
FROM `cohort_demo`.`orders` src
WHERE CASE WHEN CAST(src.`customer_id` AS STRING) = '' THEN NULL WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`customer_id` AS STRING)), '') ELSE CAST(src.`customer_id` AS STRING) END IS NOT NULL
UNION ALL
-- orders.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'orders' AS source
FROM `cohort_demo`.`orders` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- web_events.anonymous_id
SELECT DISTINCT 'anonymous_id' AS identifier_type, CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END AS identifier_value, 'web_events' AS source
FROM `cohort_demo`.`web_events` src
WHERE CASE WHEN CAST(src.`anonymous_id` AS STRING) = '' THEN NULL WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`anonymous_id` AS STRING)), '') ELSE CAST(src.`anonymous_id` AS STRING) END IS NOT NULL
UNION ALL
-- web_events.user_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS identifier_value, 'web_events' AS source
FROM `cohort_demo`.`web_events` src
WHERE CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END IS NOT NULL
UNION ALL
-- app_events.device_id
SELECT DISTINCT 'device_id' AS identifier_type, CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END AS identifier_value, 'app_events' AS source
FROM `cohort_demo`.`app_events` src
WHERE CASE WHEN CAST(src.`device_id` AS STRING) = '' THEN NULL WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`device_id` AS STRING)), '') ELSE CAST(src.`device_id` AS STRING) END IS NOT NULL
UNION ALL
-- app_events.user_id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END AS identifier_value, 'app_events' AS source
FROM `cohort_demo`.`app_events` src
WHERE CASE WHEN CAST(src.`user_id` AS STRING) = '' THEN NULL WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`user_id` AS STRING)), '') ELSE CAST(src.`user_id` AS STRING) END IS NOT NULL
UNION ALL
-- app_events.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'app_events' AS source
FROM `cohort_demo`.`app_events` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- newsletter.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'newsletter' AS source
FROM `cohort_demo`.`newsletter` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- support_tickets.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'support_tickets' AS source
FROM `cohort_demo`.`support_tickets` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- support_tickets.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'support_tickets' AS source
FROM `cohort_demo`.`support_tickets` src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- lead_ads.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'lead_ads' AS source
FROM `cohort_demo`.`lead_ads` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL
UNION ALL
-- lead_ads.phone
SELECT DISTINCT 'phone' AS identifier_type, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS identifier_value, 'lead_ads' AS source
FROM `cohort_demo`.`lead_ads` src
WHERE CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END IS NOT NULL
UNION ALL
-- cms_accounts.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'cms_accounts' AS source
FROM `cohort_demo`.`cms_accounts` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL;


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
-- identity_graph as this step reads it
CREATE OR REPLACE TABLE `cohort`.`_work_graph_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT profile_id, identifier_type, identifier_value FROM `cohort`.`identity_graph__stage_RUNID`;

-- every profile id, once
CREATE OR REPLACE TABLE `cohort`.`_work_profile_ids_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT profile_id FROM `cohort`.`_work_graph_RUNID`;

-- source shop_customers (models/sources.yaml:3:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_shop_customers__stage_RUNID` AS
SELECT r.profile_id, r.`updated_at`, r.`email`, r.`first_name`, r.`last_name`, r.`phone`, r.`city`, r.`country`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id, g3.profile_id) AS profile_id
FROM `cohort_demo`.`shop_customers` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`customer_id` AS STRING)) ELSE CAST(src.`customer_id` AS STRING) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g3 ON g3.identifier_type = 'phone' AND g3.identifier_value = CASE WHEN coalesce(g1.profile_id, g2.profile_id) IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id, g3.profile_id) IS NOT NULL
) r;

-- source orders (models/sources.yaml:18:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_orders__stage_RUNID` AS
SELECT r.profile_id, r.`ordered_at`, r.`total`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `cohort_demo`.`orders` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`customer_id` AS STRING)) ELSE CAST(src.`customer_id` AS STRING) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source web_events (models/sources.yaml:26:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_web_events__stage_RUNID` AS
SELECT r.profile_id, r.`occurred_at`, r.`event_name`, r.`value`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `cohort_demo`.`web_events` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`user_id` AS STRING)) ELSE CAST(src.`user_id` AS STRING) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'anonymous_id' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`anonymous_id` AS STRING)) ELSE CAST(src.`anonymous_id` AS STRING) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source app_events (models/sources.yaml:35:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_app_events__stage_RUNID` AS
SELECT r.profile_id, r.`occurred_at`, r.`event_name`, r.`device_id`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id, g3.profile_id) AS profile_id
FROM `cohort_demo`.`app_events` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`user_id` AS STRING)) ELSE CAST(src.`user_id` AS STRING) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g3 ON g3.identifier_type = 'device_id' AND g3.identifier_value = CASE WHEN coalesce(g1.profile_id, g2.profile_id) IS NULL THEN CASE WHEN CAST(src.`device_id` AS STRING) LIKE ' %' OR CAST(src.`device_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`device_id` AS STRING)) ELSE CAST(src.`device_id` AS STRING) END END
WHERE coalesce(g1.profile_id, g2.profile_id, g3.profile_id) IS NOT NULL
) r;

-- source newsletter (models/sources.yaml:45:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_newsletter__stage_RUNID` AS
SELECT r.profile_id, r.`updated_at`, r.`opted_in`
FROM (
SELECT src.*, g1.profile_id AS profile_id
FROM `cohort_demo`.`newsletter` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', ''))
WHERE g1.profile_id IS NOT NULL
) r;

-- source support_tickets (models/sources.yaml:51:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_support_tickets__stage_RUNID` AS
SELECT r.profile_id, r.`created_at`, r.`phone`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `cohort_demo`.`support_tickets` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', ''))
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'phone' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source lead_ads (models/sources.yaml:59:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_lead_ads__stage_RUNID` AS
SELECT r.profile_id, r.`created_at`, r.`phone`, r.`campaign`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `cohort_demo`.`lead_ads` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'email' AND g1.identifier_value = lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', ''))
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'phone' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE
    WHEN length(replace((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), '+', '')) < 6 THEN NULL
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '+' THEN '+' || replace(substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2), '+', '')
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 2) = '00' THEN '+' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 3)
    WHEN substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 1, 1) = '0' THEN '+31' || substr((REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')), 2)
    ELSE '+' || (REGEXP_REPLACE(REGEXP_REPLACE(CAST(src.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', '')) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

CREATE OR REPLACE TABLE `cohort`.`profiles__stage_RUNID` AS
WITH `profile_ids` AS (
  SELECT profile_id FROM `cohort`.`_work_profile_ids_RUNID`
),
`aggregates_shop_customers` AS (
  SELECT r.profile_id,
    -- trait email (models/traits.yaml:3:5)
    ARRAY_AGG(IF(r.`normalized_email` IS NOT NULL AND trim(CAST(r.`normalized_email` AS STRING)) <> '', r.`normalized_email`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`normalized_email` AS STRING) IS NULL, CAST(r.`normalized_email` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `email`,
    -- trait first_name (models/traits.yaml:7:5)
    ARRAY_AGG(IF(r.`first_name` IS NOT NULL AND trim(CAST(r.`first_name` AS STRING)) <> '', r.`first_name`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`first_name` AS STRING) IS NULL, CAST(r.`first_name` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `first_name`,
    -- trait last_name (models/traits.yaml:10:5)
    ARRAY_AGG(IF(r.`last_name` IS NOT NULL AND trim(CAST(r.`last_name` AS STRING)) <> '', r.`last_name`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`last_name` AS STRING) IS NULL, CAST(r.`last_name` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `last_name`,
    -- trait city (models/traits.yaml:17:5)
    ARRAY_AGG(IF(r.`city` IS NOT NULL AND trim(CAST(r.`city` AS STRING)) <> '', r.`city`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`city` AS STRING) IS NULL, CAST(r.`city` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `city`,
    -- trait country (models/traits.yaml:20:5)
    ARRAY_AGG(IF(r.`country` IS NOT NULL AND trim(CAST(r.`country` AS STRING)) <> '', r.`country`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`country` AS STRING) IS NULL, CAST(r.`country` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `country`
  FROM (
    SELECT r.*, NULLIF(lower(REGEXP_REPLACE(CAST(r.`email` AS STRING), '\\s+', '')), '') AS `normalized_email`
    FROM `cohort`.`_rows_shop_customers__stage_RUNID` r
  ) r
  GROUP BY r.profile_id
),
`aggregates_orders` AS (
  SELECT r.profile_id,
    -- trait lifetime_value (models/traits.yaml:24:5)
    CAST(sum(r.`total`) AS FLOAT64) AS `lifetime_value`,
    -- trait order_count (models/traits.yaml:27:5)
    CAST(count(*) AS INT64) AS `order_count`,
    -- trait orders_30d (models/traits.yaml:30:5)
    CAST(count(CASE WHEN r.`ordered_at` >= CAST(@p1 AS TIMESTAMP) THEN 1 END) AS INT64) AS `orders_30d`,
    -- trait first_order_at (models/traits.yaml:34:5)
    min(r.`ordered_at`) AS `first_order_at`,
    -- trait last_order_at (models/traits.yaml:37:5)
    max(r.`ordered_at`) AS `last_order_at`,
    -- trait average_order_value (models/traits.yaml:40:5)
    CAST(avg(r.`total`) AS FLOAT64) AS `average_order_value`
  FROM `cohort`.`_rows_orders__stage_RUNID` r
  GROUP BY r.profile_id
),
`aggregates_web_events` AS (
  SELECT r.profile_id,
    -- trait last_seen_at (models/traits.yaml:44:5)
    max(r.`occurred_at`) AS `last_seen_at`,
    -- trait web_events_7d (models/traits.yaml:47:5)
    CAST(count(CASE WHEN r.`occurred_at` >= CAST(@p2 AS TIMESTAMP) THEN 1 END) AS INT64) AS `web_events_7d`
  FROM `cohort`.`_rows_web_events__stage_RUNID` r
  GROUP BY r.profile_id
),
`aggregates_app_events` AS (
  SELECT r.profile_id,
    -- trait app_events_30d (models/traits.yaml:51:5)
    CAST(count(CASE WHEN r.`occurred_at` >= CAST(@p3 AS TIMESTAMP) THEN 1 END) AS INT64) AS `app_events_30d`,
    -- trait devices (models/traits.yaml:55:5)
    CAST(count(DISTINCT r.`device_id`) AS INT64) AS `devices`
  FROM `cohort`.`_rows_app_events__stage_RUNID` r
  GROUP BY r.profile_id
),
`aggregates_support_tickets` AS (
  SELECT r.profile_id,
    -- trait support_tickets (models/traits.yaml:58:5)
    CAST(count(*) AS INT64) AS `support_tickets`
  FROM `cohort`.`_rows_support_tickets__stage_RUNID` r
  GROUP BY r.profile_id
),
`aggregates_lead_ads` AS (
  SELECT r.profile_id,
    -- trait lead_campaign (models/traits.yaml:61:5)
    ARRAY_AGG(IF(r.`campaign` IS NOT NULL AND trim(CAST(r.`campaign` AS STRING)) <> '', r.`campaign`, NULL) IGNORE NULLS ORDER BY r.`created_at` IS NULL, r.`created_at`, CAST(r.`campaign` AS STRING) IS NULL, CAST(r.`campaign` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `lead_campaign`
  FROM `cohort`.`_rows_lead_ads__stage_RUNID` r
  GROUP BY r.profile_id
),
`aggregates_newsletter` AS (
  SELECT r.profile_id,
    -- trait email_opt_in (models/traits.yaml:65:5)
    ARRAY_AGG(IF(r.`opted_in` IS NOT NULL AND trim(CAST(r.`opted_in` AS STRING)) <> '', r.`opted_in`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`opted_in` AS STRING) IS NULL, CAST(r.`opted_in` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `email_opt_in`
  FROM `cohort`.`_rows_newsletter__stage_RUNID` r
  GROUP BY r.profile_id
),
-- trait phone (models/traits.yaml:13:5)
`trait_phone` AS (
  SELECT v.profile_id, ARRAY_AGG(IF(v.value IS NOT NULL AND trim(CAST(v.value AS STRING)) <> '', v.value, NULL) IGNORE NULLS ORDER BY v.k IS NULL, v.k, v.ts DESC, CAST(v.value AS STRING) IS NULL, CAST(v.value AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `phone`
  FROM (SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r.`updated_at` AS ts, 0 AS k FROM `cohort`.`_rows_shop_customers__stage_RUNID` r
      UNION ALL SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r.`created_at` AS ts, 1 AS k FROM `cohort`.`_rows_support_tickets__stage_RUNID` r
      UNION ALL SELECT r.profile_id, CASE
    WHEN length(replace((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), '+', '')) < 6 THEN NULL
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '+' THEN '+' || replace(substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2), '+', '')
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 2) = '00' THEN '+' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 3)
    WHEN substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 1, 1) = '0' THEN '+31' || substr((NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')), 2)
    ELSE '+' || (NULLIF(REGEXP_REPLACE(REGEXP_REPLACE(CAST(r.`phone` AS STRING), '\\(0\\)', ''), '[^0-9+]', ''), '')) END AS value, r.`created_at` AS ts, 2 AS k FROM `cohort`.`_rows_lead_ads__stage_RUNID` r) v
  GROUP BY v.profile_id
),
-- trait rfm (models/traits.yaml:78:5)
`trait_rfm` AS (
  SELECT profile_id,
    CAST(r AS INT64) AS `rfm_recency`,
    CAST(f AS INT64) AS `rfm_frequency`,
    CAST(m AS INT64) AS `rfm_monetary`,
    CASE
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 4 AND 5 THEN 'champions'
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 1 AND 2 THEN 'new'
      WHEN r BETWEEN 3 AND 5 AND f BETWEEN 3 AND 5 THEN 'loyal'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 3 AND 5 THEN 'at risk'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 1 AND 2 THEN 'hibernating'
      WHEN r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 THEN 'needs attention'
    END AS `rfm`
  FROM (
    SELECT profile_id,
      ntile(5) OVER (ORDER BY last_at, profile_id) AS r,
      ntile(5) OVER (ORDER BY orders, profile_id) AS f,
      ntile(5) OVER (ORDER BY amount, profile_id) AS m
    FROM (
      SELECT r.profile_id, max(r.`ordered_at`) AS last_at, count(*) AS orders, coalesce(sum(r.`total`), 0) AS amount
      FROM `cohort`.`_rows_orders__stage_RUNID` r
      WHERE r.`ordered_at` IS NOT NULL
      GROUP BY r.profile_id
    ) per_profile
  ) scores
),
-- trait churn_risk (models/traits.yaml:82:5)
`trait_churn_risk` AS (
  SELECT o.profile_id, CASE WHEN o.gap IS NULL THEN NULL
    ELSE 1 - exp(-(CASE WHEN o.elapsed > 0 THEN o.elapsed ELSE 0 END)
      / (CASE WHEN o.gap < 86400 THEN 86400 ELSE o.gap END)) END AS `churn_risk`
  FROM (
    SELECT p.profile_id, (UNIX_MICROS(CAST(@p4 AS TIMESTAMP)) / 1000000) - p.last_s AS elapsed,
      CASE WHEN p.orders >= 2 THEN (p.last_s - p.first_s) / (p.orders - 1) ELSE pop.gap END AS gap
    FROM (
      SELECT r.profile_id, count(*) AS orders, CAST(min((UNIX_MICROS(r.`ordered_at`) / 1000000)) AS FLOAT64) AS first_s, CAST(max((UNIX_MICROS(r.`ordered_at`) / 1000000)) AS FLOAT64) AS last_s
      FROM `cohort`.`_rows_orders__stage_RUNID` r WHERE r.`ordered_at` IS NOT NULL GROUP BY r.profile_id
    ) p
    CROSS JOIN (
      SELECT avg((e.last_s - e.first_s) / (e.orders - 1)) AS gap FROM (
        SELECT count(*) AS orders, CAST(min((UNIX_MICROS(r.`ordered_at`) / 1000000)) AS FLOAT64) AS first_s, CAST(max((UNIX_MICROS(r.`ordered_at`) / 1000000)) AS FLOAT64) AS last_s
        FROM `cohort`.`_rows_orders__stage_RUNID` r WHERE r.`ordered_at` IS NOT NULL GROUP BY r.profile_id
      ) e WHERE e.orders >= 2
    ) pop
  ) o
),
`traits` AS (
  SELECT ids.profile_id,
    `aggregates_shop_customers`.`email` AS `email`,
    `aggregates_shop_customers`.`first_name` AS `first_name`,
    `aggregates_shop_customers`.`last_name` AS `last_name`,
    `trait_phone`.`phone` AS `phone`,
    `aggregates_shop_customers`.`city` AS `city`,
    `aggregates_shop_customers`.`country` AS `country`,
    `aggregates_orders`.`lifetime_value` AS `lifetime_value`,
    coalesce(`aggregates_orders`.`order_count`, 0) AS `order_count`,
    coalesce(`aggregates_orders`.`orders_30d`, 0) AS `orders_30d`,
    `aggregates_orders`.`first_order_at` AS `first_order_at`,
    `aggregates_orders`.`last_order_at` AS `last_order_at`,
    `aggregates_orders`.`average_order_value` AS `average_order_value`,
    `aggregates_web_events`.`last_seen_at` AS `last_seen_at`,
    coalesce(`aggregates_web_events`.`web_events_7d`, 0) AS `web_events_7d`,
    coalesce(`aggregates_app_events`.`app_events_30d`, 0) AS `app_events_30d`,
    coalesce(`aggregates_app_events`.`devices`, 0) AS `devices`,
    coalesce(`aggregates_support_tickets`.`support_tickets`, 0) AS `support_tickets`,
    `aggregates_lead_ads`.`lead_campaign` AS `lead_campaign`,
    `aggregates_newsletter`.`email_opt_in` AS `email_opt_in`,
    `trait_rfm`.`rfm_recency` AS `rfm_recency`,
    `trait_rfm`.`rfm_frequency` AS `rfm_frequency`,
    `trait_rfm`.`rfm_monetary` AS `rfm_monetary`,
    `trait_rfm`.`rfm` AS `rfm`,
    `trait_churn_risk`.`churn_risk` AS `churn_risk`
  FROM `profile_ids` ids
  LEFT JOIN `aggregates_shop_customers` ON `aggregates_shop_customers`.profile_id = ids.profile_id
  LEFT JOIN `trait_phone` ON `trait_phone`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_orders` ON `aggregates_orders`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_web_events` ON `aggregates_web_events`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_app_events` ON `aggregates_app_events`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_support_tickets` ON `aggregates_support_tickets`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_lead_ads` ON `aggregates_lead_ads`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_newsletter` ON `aggregates_newsletter`.profile_id = ids.profile_id
  LEFT JOIN `trait_rfm` ON `trait_rfm`.profile_id = ids.profile_id
  LEFT JOIN `trait_churn_risk` ON `trait_churn_risk`.profile_id = ids.profile_id
),
-- trait ads_opt_in (models/traits.yaml:68:5): sql over other traits
`trait_ads_opt_in` AS (
  SELECT prev.*, CAST((coalesce(email_opt_in, false) OR lead_campaign IS NOT NULL) AS BOOL) AS `ads_opt_in`
  FROM `traits` prev
),
-- trait transfer_consent (models/traits.yaml:71:5): sql over other traits
`trait_transfer_consent` AS (
  SELECT prev.*, CAST((coalesce(email_opt_in, false)) AS BOOL) AS `transfer_consent`
  FROM `trait_ads_opt_in` prev
),
-- trait tier (models/traits.yaml:75:5): sql over other traits
`trait_tier` AS (
  SELECT prev.*, CAST((CASE WHEN lifetime_value >= 500 THEN 'vip' WHEN order_count >= 2 THEN 'repeat' WHEN order_count = 1 THEN 'one_time' ELSE 'prospect' END) AS STRING) AS `tier`
  FROM `trait_transfer_consent` prev
)
SELECT profile_id, `email`, `first_name`, `last_name`, `phone`, `city`, `country`, `lifetime_value`, `order_count`, `orders_30d`, `first_order_at`, `last_order_at`, `average_order_value`, `last_seen_at`, `web_events_7d`, `app_events_30d`, `devices`, `support_tickets`, `lead_campaign`, `email_opt_in`, `ads_opt_in`, `transfer_consent`, `tier`, `rfm_recency`, `rfm_frequency`, `rfm_monetary`, `rfm`, `churn_risk`, CAST(@p5 AS TIMESTAMP) AS updated_at
FROM `trait_tier`
-- parameters: $1 = '2026-10-24 12:00:00', $2 = '2026-11-16 11:00:00', $3 = '2026-10-24 12:00:00', $4 = '2026-11-23 11:00:00', $5 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS `cohort`.`_work_graph_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_profile_ids_RUNID`;


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

CREATE OR REPLACE TABLE `cohort`.`segment_memberships__stage_RUNID` AS
WITH
-- segment cart_abandoners (models/segments.yaml:2:5)
`segment_cart_abandoners` AS (
  SELECT CAST('cart_abandoners' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_RUNID` e WHERE (e.`event_name` = @p1 AND e.`occurred_at` >= CAST(@p2 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p3 AS TIMESTAMP))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_RUNID` e WHERE (e.`ordered_at` >= CAST(@p4 AS TIMESTAMP) AND e.`ordered_at` <= CAST(@p5 AS TIMESTAMP))) x WHERE x.profile_id = p.profile_id) AND (p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p6))
),
-- segment vip (models/segments.yaml:10:5)
`segment_vip` AS (
  SELECT CAST('vip' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p7) OR (p.`tier` IS NOT NULL AND p.`tier` = @p8))
),
-- segment lapsed_vip (models/segments.yaml:17:5)
`segment_lapsed_vip` AS (
  SELECT CAST('lapsed_vip' AS STRING) AS segment, p.profile_id, (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) AS holdout, CASE WHEN (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) THEN NULL WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 50 THEN 'a' WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 100 THEN 'b' END AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p9) OR (p.`tier` IS NOT NULL AND p.`tier` = @p10)) AND (p.`last_order_at` IS NOT NULL AND p.`last_order_at` < CAST(@p11 AS TIMESTAMP)))
),
-- segment loyal_customers (models/segments.yaml:26:5)
`segment_loyal_customers` AS (
  SELECT CAST('loyal_customers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`order_count` IS NOT NULL AND p.`order_count` >= @p12))
),
-- segment recent_buyers (models/segments.yaml:32:5)
`segment_recent_buyers` AS (
  SELECT CAST('recent_buyers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`orders_30d` IS NOT NULL AND p.`orders_30d` >= @p13))
),
-- segment newsletter_subscribers (models/segments.yaml:37:5)
`segment_newsletter_subscribers` AS (
  SELECT CAST('newsletter_subscribers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p14) AND p.`email` IS NOT NULL)
),
-- segment high_churn_risk (models/segments.yaml:43:5)
`segment_high_churn_risk` AS (
  SELECT CAST('high_churn_risk' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`churn_risk` IS NOT NULL AND p.`churn_risk` >= @p15) AND (p.`order_count` IS NOT NULL AND p.`order_count` >= @p16))
),
-- segment leads_never_bought (models/segments.yaml:50:5)
`segment_leads_never_bought` AS (
  SELECT CAST('leads_never_bought' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_lead_ads__stage_RUNID` e) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_RUNID` e) x WHERE x.profile_id = p.profile_id))
),
-- segment dutch_app_users (models/segments.yaml:57:5)
`segment_dutch_app_users` AS (
  SELECT CAST('dutch_app_users' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_app_events__stage_RUNID` e WHERE (e.`occurred_at` >= CAST(@p17 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p18 AS TIMESTAMP)) GROUP BY e.profile_id HAVING count(*) >= @p19) AND (p.`country` IS NOT NULL AND p.`country` = @p20))
),
-- segment big_spenders_recent_cart (models/segments.yaml:63:5)
`segment_big_spenders_recent_cart` AS (
  SELECT CAST('big_spenders_recent_cart' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_RUNID` e WHERE (e.`event_name` = @p21 AND e.`occurred_at` >= CAST(@p22 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p23 AS TIMESTAMP) AND (e.`value` IS NOT NULL AND e.`value` >= @p24))))
),
`current` AS (
  SELECT * FROM `segment_cart_abandoners`
  UNION ALL SELECT * FROM `segment_vip`
  UNION ALL SELECT * FROM `segment_lapsed_vip`
  UNION ALL SELECT * FROM `segment_loyal_customers`
  UNION ALL SELECT * FROM `segment_recent_buyers`
  UNION ALL SELECT * FROM `segment_newsletter_subscribers`
  UNION ALL SELECT * FROM `segment_high_churn_risk`
  UNION ALL SELECT * FROM `segment_leads_never_bought`
  UNION ALL SELECT * FROM `segment_dutch_app_users`
  UNION ALL SELECT * FROM `segment_big_spenders_recent_cart`
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(@p25 AS TIMESTAMP)) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
LEFT JOIN `cohort`.`segment_memberships` prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'add_to_cart', $2 = '2026-11-16 11:00:00', $3 = '2026-11-23 11:00:00', $4 = '2026-11-16 11:00:00', $5 = '2026-11-23 11:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2026-08-25 12:00:00', $12 = 8, $13 = 1, $14 = true, $15 = 0.7, $16 = 2, $17 = '2026-10-24 12:00:00', $18 = '2026-11-23 11:00:00', $19 = 3, $20 = 'NL', $21 = 'add_to_cart', $22 = '2026-11-16 11:00:00', $23 = '2026-11-23 11:00:00', $24 = 50, $25 = '2026-11-23 11:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE `cohort`.`segment_history__stage_RUNID` AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS STRING) AS change, CAST(@p1 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships__stage_RUNID` cur
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`segment_memberships` prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)
UNION ALL
SELECT prev.segment, prev.profile_id, CAST('exited' AS STRING) AS change, CAST(@p2 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships` prev
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`segment_memberships__stage_RUNID` cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)
-- parameters: $1 = '2026-11-23 11:00:00', $2 = '2026-11-23 11:00:00';

-- otherwise (segment_memberships does not exist yet):

CREATE OR REPLACE TABLE `cohort`.`segment_memberships__stage_RUNID` AS
WITH
-- segment cart_abandoners (models/segments.yaml:2:5)
`segment_cart_abandoners` AS (
  SELECT CAST('cart_abandoners' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_RUNID` e WHERE (e.`event_name` = @p1 AND e.`occurred_at` >= CAST(@p2 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p3 AS TIMESTAMP))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_RUNID` e WHERE (e.`ordered_at` >= CAST(@p4 AS TIMESTAMP) AND e.`ordered_at` <= CAST(@p5 AS TIMESTAMP))) x WHERE x.profile_id = p.profile_id) AND (p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p6))
),
-- segment vip (models/segments.yaml:10:5)
`segment_vip` AS (
  SELECT CAST('vip' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p7) OR (p.`tier` IS NOT NULL AND p.`tier` = @p8))
),
-- segment lapsed_vip (models/segments.yaml:17:5)
`segment_lapsed_vip` AS (
  SELECT CAST('lapsed_vip' AS STRING) AS segment, p.profile_id, (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) AS holdout, CASE WHEN (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) THEN NULL WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 50 THEN 'a' WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 100 THEN 'b' END AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p9) OR (p.`tier` IS NOT NULL AND p.`tier` = @p10)) AND (p.`last_order_at` IS NOT NULL AND p.`last_order_at` < CAST(@p11 AS TIMESTAMP)))
),
-- segment loyal_customers (models/segments.yaml:26:5)
`segment_loyal_customers` AS (
  SELECT CAST('loyal_customers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`order_count` IS NOT NULL AND p.`order_count` >= @p12))
),
-- segment recent_buyers (models/segments.yaml:32:5)
`segment_recent_buyers` AS (
  SELECT CAST('recent_buyers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`orders_30d` IS NOT NULL AND p.`orders_30d` >= @p13))
),
-- segment newsletter_subscribers (models/segments.yaml:37:5)
`segment_newsletter_subscribers` AS (
  SELECT CAST('newsletter_subscribers' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p14) AND p.`email` IS NOT NULL)
),
-- segment high_churn_risk (models/segments.yaml:43:5)
`segment_high_churn_risk` AS (
  SELECT CAST('high_churn_risk' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE ((p.`churn_risk` IS NOT NULL AND p.`churn_risk` >= @p15) AND (p.`order_count` IS NOT NULL AND p.`order_count` >= @p16))
),
-- segment leads_never_bought (models/segments.yaml:50:5)
`segment_leads_never_bought` AS (
  SELECT CAST('leads_never_bought' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_lead_ads__stage_RUNID` e) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_RUNID` e) x WHERE x.profile_id = p.profile_id))
),
-- segment dutch_app_users (models/segments.yaml:57:5)
`segment_dutch_app_users` AS (
  SELECT CAST('dutch_app_users' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_app_events__stage_RUNID` e WHERE (e.`occurred_at` >= CAST(@p17 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p18 AS TIMESTAMP)) GROUP BY e.profile_id HAVING count(*) >= @p19) AND (p.`country` IS NOT NULL AND p.`country` = @p20))
),
-- segment big_spenders_recent_cart (models/segments.yaml:63:5)
`segment_big_spenders_recent_cart` AS (
  SELECT CAST('big_spenders_recent_cart' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_RUNID` e WHERE (e.`event_name` = @p21 AND e.`occurred_at` >= CAST(@p22 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p23 AS TIMESTAMP) AND (e.`value` IS NOT NULL AND e.`value` >= @p24))))
),
`current` AS (
  SELECT * FROM `segment_cart_abandoners`
  UNION ALL SELECT * FROM `segment_vip`
  UNION ALL SELECT * FROM `segment_lapsed_vip`
  UNION ALL SELECT * FROM `segment_loyal_customers`
  UNION ALL SELECT * FROM `segment_recent_buyers`
  UNION ALL SELECT * FROM `segment_newsletter_subscribers`
  UNION ALL SELECT * FROM `segment_high_churn_risk`
  UNION ALL SELECT * FROM `segment_leads_never_bought`
  UNION ALL SELECT * FROM `segment_dutch_app_users`
  UNION ALL SELECT * FROM `segment_big_spenders_recent_cart`
)
SELECT cur.segment, cur.profile_id, CAST(@p25 AS TIMESTAMP) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
-- parameters: $1 = 'add_to_cart', $2 = '2026-11-16 11:00:00', $3 = '2026-11-23 11:00:00', $4 = '2026-11-16 11:00:00', $5 = '2026-11-23 11:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2026-08-25 12:00:00', $12 = 8, $13 = 1, $14 = true, $15 = 0.7, $16 = 2, $17 = '2026-10-24 12:00:00', $18 = '2026-11-23 11:00:00', $19 = 3, $20 = 'NL', $21 = 'add_to_cart', $22 = '2026-11-16 11:00:00', $23 = '2026-11-23 11:00:00', $24 = 50, $25 = '2026-11-23 11:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE `cohort`.`segment_history__stage_RUNID` AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS STRING) AS change, CAST(@p1 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships__stage_RUNID` cur
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
DROP VIEW IF EXISTS `cohort`.`_identity_components__stage_RUNID`;
COMMIT;
BEGIN;
DELETE FROM `cohort`.`_identity_components` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_components_gone__stage_RUNID`);
INSERT INTO `cohort`.`_identity_components` (profile_id, component) SELECT profile_id, component FROM `cohort`.`_identity_components_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_components_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_components_gone__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_identity_cut_links` COPY `cohort`.`_identity_cut_links__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_cut_links__stage_RUNID`;
COMMIT;
BEGIN;
INSERT INTO `cohort`.`_identity_keys` (key) SELECT key FROM `cohort`.`_identity_keys__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_keys__stage_RUNID`;
COMMIT;
BEGIN;
INSERT INTO `cohort`.`_identity_links` (a, b) SELECT a, b FROM `cohort`.`_identity_links__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_links__stage_RUNID`;
COMMIT;
BEGIN;
DROP VIEW IF EXISTS `cohort`.`_identity_profiles__stage_RUNID`;
COMMIT;
BEGIN;
DELETE FROM `cohort`.`_identity_profiles` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_profiles_new__stage_RUNID`);
INSERT INTO `cohort`.`_identity_profiles` (comp, profile_id) SELECT comp, profile_id FROM `cohort`.`_identity_profiles_new__stage_RUNID` WHERE comp IS NOT NULL;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_profiles_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP VIEW IF EXISTS `cohort`.`_identity_roots__stage_RUNID`;
COMMIT;
BEGIN;
DELETE FROM `cohort`.`_identity_roots` WHERE node IN (SELECT node FROM `cohort`.`_identity_roots_new__stage_RUNID`);
INSERT INTO `cohort`.`_identity_roots` (node, root) SELECT node, root FROM `cohort`.`_identity_roots_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_roots_new__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_identity_sources` COPY `cohort`.`_identity_sources__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_sources__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_identity_state` COPY `cohort`.`_identity_state__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_state__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_app_events` COPY `cohort`.`_rows_app_events__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_app_events__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_lead_ads` COPY `cohort`.`_rows_lead_ads__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_lead_ads__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_newsletter` COPY `cohort`.`_rows_newsletter__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_newsletter__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_orders` COPY `cohort`.`_rows_orders__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_orders__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_shop_customers` COPY `cohort`.`_rows_shop_customers__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_shop_customers__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_support_tickets` COPY `cohort`.`_rows_support_tickets__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_support_tickets__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`_rows_web_events` COPY `cohort`.`_rows_web_events__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_web_events__stage_RUNID`;
COMMIT;
BEGIN;
DROP VIEW IF EXISTS `cohort`.`identity_graph__stage_RUNID`;
COMMIT;
BEGIN;
DELETE FROM `cohort`.`identity_graph` WHERE profile_id IN (SELECT profile_id FROM `cohort`.`_identity_graph_gone__stage_RUNID`);
INSERT INTO `cohort`.`identity_graph` (profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at) SELECT profile_id, identifier_type, identifier_value, first_seen_at, last_seen_at FROM `cohort`.`_identity_graph_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_graph_new__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_identity_graph_gone__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`identity_lineage` COPY `cohort`.`identity_lineage__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`identity_lineage__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`identity_rejections` COPY `cohort`.`identity_rejections__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`identity_rejections__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`profiles` COPY `cohort`.`profiles__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`profiles__stage_RUNID`;
COMMIT;
BEGIN;
INSERT INTO `cohort`.`segment_history` (segment, profile_id, change, changed_at) SELECT segment, profile_id, change, changed_at FROM `cohort`.`segment_history__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`segment_history__stage_RUNID`;
COMMIT;
BEGIN;
CREATE OR REPLACE TABLE `cohort`.`segment_memberships` COPY `cohort`.`segment_memberships__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`segment_memberships__stage_RUNID`;
COMMIT;
