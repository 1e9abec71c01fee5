-- profiles: one row per profile of identity_graph, one column per trait
-- trait email_opt_in (models/project.yaml:27:5)
-- trait lifetime_value (models/project.yaml:28:5)
-- trait last_order_at (models/project.yaml:29:5)
-- trait tier (models/project.yaml:30:5)
-- every profile id, once
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_PROFILE_IDS_GOLDEN" AS
SELECT DISTINCT profile_id FROM "COHORT"."IDENTITY_GRAPH";

-- source shop_customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_GOLDEN" AS
SELECT r.profile_id, r."UPDATED_AT", r."OPTED_IN"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "RAW"."SHOP_CUSTOMERS" src
LEFT JOIN "COHORT"."IDENTITY_GRAPH" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."CUSTOMER_ID" AS VARCHAR)) ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."IDENTITY_GRAPH" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source orders (models/project.yaml:8:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" AS
SELECT r.profile_id, r."ORDERED_AT", r."TOTAL"
FROM (
SELECT src.*, g1.profile_id AS profile_id
FROM "RAW"."ORDERS" src
LEFT JOIN "COHORT"."IDENTITY_GRAPH" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."CUSTOMER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."CUSTOMER_ID" AS VARCHAR)) ELSE CAST(src."CUSTOMER_ID" AS VARCHAR) END
WHERE g1.profile_id IS NOT NULL
) r;

-- source web_events (models/project.yaml:13:5): its rows with their profile_id, only the columns traits and segments read, each profile's together
CREATE OR REPLACE TABLE "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" AS
SELECT r.profile_id, r."OCCURRED_AT", r."EVENT_NAME"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "RAW"."WEB_EVENTS" src
LEFT JOIN "COHORT"."IDENTITY_GRAPH" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."USER_ID" AS VARCHAR) LIKE ' %' OR CAST(src."USER_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."USER_ID" AS VARCHAR)) ELSE CAST(src."USER_ID" AS VARCHAR) END
LEFT JOIN "COHORT"."IDENTITY_GRAPH" g2 ON g2.identifier_type = 'anonymous_id' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE WHEN CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE ' %' OR CAST(src."ANONYMOUS_ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."ANONYMOUS_ID" AS VARCHAR)) ELSE CAST(src."ANONYMOUS_ID" AS VARCHAR) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r
ORDER BY r.profile_id;

CREATE OR REPLACE TABLE "COHORT"."PROFILES__STAGE_GOLDEN" AS
WITH "PROFILE_IDS" AS (
  SELECT profile_id FROM "COHORT"."_WORK_PROFILE_IDS_GOLDEN"
),
"AGGREGATES_ORDERS" AS (
  SELECT r.profile_id,
    -- trait lifetime_value (models/project.yaml:28:5)
    CAST(sum(r."TOTAL") AS DOUBLE) AS "LIFETIME_VALUE",
    -- trait last_order_at (models/project.yaml:29:5)
    max(r."ORDERED_AT") AS "LAST_ORDER_AT"
  FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" r
  GROUP BY r.profile_id
),
-- trait email_opt_in (models/project.yaml:27:5)
"TRAIT_EMAIL_OPT_IN" AS (
  SELECT profile_id, value AS "EMAIL_OPT_IN" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."OPTED_IN" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_GOLDEN" r WHERE r."OPTED_IN" IS NOT NULL AND trim(CAST(r."OPTED_IN" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
"TRAITS" AS (
  SELECT ids.profile_id,
    "TRAIT_EMAIL_OPT_IN"."EMAIL_OPT_IN" AS "EMAIL_OPT_IN",
    "AGGREGATES_ORDERS"."LIFETIME_VALUE" AS "LIFETIME_VALUE",
    "AGGREGATES_ORDERS"."LAST_ORDER_AT" AS "LAST_ORDER_AT"
  FROM "PROFILE_IDS" ids
  LEFT JOIN "TRAIT_EMAIL_OPT_IN" ON "TRAIT_EMAIL_OPT_IN".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_ORDERS" ON "AGGREGATES_ORDERS".profile_id = ids.profile_id
),
-- trait tier (models/project.yaml:30:5): sql over other traits
"TRAIT_TIER" AS (
  SELECT prev.*, CAST((CASE WHEN lifetime_value >= 500 THEN 'vip' ELSE 'regular' END) AS VARCHAR) AS "TIER"
  FROM "TRAITS" prev
)
SELECT profile_id, "EMAIL_OPT_IN", "LIFETIME_VALUE", "LAST_ORDER_AT", "TIER", CAST(? AS TIMESTAMP_NTZ) AS updated_at
FROM "TRAIT_TIER"
-- parameters: $1 = '2025-06-15 12:00:00';

DROP TABLE IF EXISTS "COHORT"."_WORK_PROFILE_IDS_GOLDEN";

-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment cart_abandoners (models/project.yaml:34:5)
-- segment vip (models/project.yaml:41:5)
-- segment lapsed_vip (models/project.yaml:46:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" AS
WITH
-- segment cart_abandoners (models/project.yaml:34:5)
"SEGMENT_CART_ABANDONERS" AS (
  SELECT CAST('cart_abandoners' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x WHERE x.profile_id = p.profile_id) AND (p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?))
),
-- segment vip (models/project.yaml:41:5)
"SEGMENT_VIP" AS (
  SELECT CAST('vip' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE ((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?))
),
-- segment lapsed_vip (models/project.yaml:46:5)
"SEGMENT_LAPSED_VIP" AS (
  SELECT CAST('lapsed_vip' AS VARCHAR) AS segment, p.profile_id, (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) AS holdout, CASE WHEN (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 50 THEN 'a' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'b' END AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE (((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?)) AND (p."LAST_ORDER_AT" IS NOT NULL AND p."LAST_ORDER_AT" < CAST(? AS TIMESTAMP_NTZ)))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_CART_ABANDONERS"
  UNION ALL SELECT * FROM "SEGMENT_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_VIP"
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(? AS TIMESTAMP_NTZ)) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
LEFT JOIN "COHORT"."SEGMENT_MEMBERSHIPS" prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'add_to_cart', $2 = '2025-06-08 12:00:00', $3 = '2025-06-15 12:00:00', $4 = '2025-06-08 12:00:00', $5 = '2025-06-15 12:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2025-03-17 11:00:00', $12 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE "COHORT"."SEGMENT_HISTORY__STAGE_GOLDEN" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" cur
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."SEGMENT_MEMBERSHIPS" prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)
UNION ALL
SELECT prev.segment, prev.profile_id, CAST('exited' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS" prev
WHERE NOT EXISTS (SELECT 1 FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)
-- parameters: $1 = '2025-06-15 12:00:00', $2 = '2025-06-15 12:00:00';

-- otherwise (segment_memberships does not exist yet):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" AS
WITH
-- segment cart_abandoners (models/project.yaml:34:5)
"SEGMENT_CART_ABANDONERS" AS (
  SELECT CAST('cart_abandoners' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE (p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."EVENT_NAME" = ? AND e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x WHERE x.profile_id = p.profile_id) AND (p."EMAIL_OPT_IN" IS NOT NULL AND p."EMAIL_OPT_IN" = ?))
),
-- segment vip (models/project.yaml:41:5)
"SEGMENT_VIP" AS (
  SELECT CAST('vip' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE ((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?))
),
-- segment lapsed_vip (models/project.yaml:46:5)
"SEGMENT_LAPSED_VIP" AS (
  SELECT CAST('lapsed_vip' AS VARCHAR) AS segment, p.profile_id, (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) AS holdout, CASE WHEN (MOD(TO_NUMBER(SUBSTR(MD5('lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 10) THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 50 THEN 'a' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:lapsed_vip:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'b' END AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE (((p."LIFETIME_VALUE" IS NOT NULL AND p."LIFETIME_VALUE" >= ?) OR (p."TIER" IS NOT NULL AND p."TIER" = ?)) AND (p."LAST_ORDER_AT" IS NOT NULL AND p."LAST_ORDER_AT" < CAST(? AS TIMESTAMP_NTZ)))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_CART_ABANDONERS"
  UNION ALL SELECT * FROM "SEGMENT_VIP"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_VIP"
)
SELECT cur.segment, cur.profile_id, CAST(? AS TIMESTAMP_NTZ) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
-- parameters: $1 = 'add_to_cart', $2 = '2025-06-08 12:00:00', $3 = '2025-06-15 12:00:00', $4 = '2025-06-08 12:00:00', $5 = '2025-06-15 12:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2025-03-17 11:00:00', $12 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE "COHORT"."SEGMENT_HISTORY__STAGE_GOLDEN" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS VARCHAR) AS change, CAST(? AS TIMESTAMP_NTZ) AS changed_at
FROM "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" cur
-- parameters: $1 = '2025-06-15 12:00:00';

-- end if segment_memberships exists

-- if segment_history exists (every run but the first):

-- publish appends the staged rows to segment_history

-- otherwise (segment_history does not exist yet):

-- publish replaces segment_history by the staged table

-- end if segment_history exists

