-- profiles: one row per profile of identity_graph, one column per trait
-- trait country (models/project.yaml:27:5)
-- trait first_name (models/project.yaml:28:5)
-- trait orders_30d (models/project.yaml:29:5)
-- trait rfm (models/project.yaml:30:5)
-- trait churn_risk (models/project.yaml:31:5)
-- every profile id, once
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_PROFILE_IDS_GOLDEN" AS
SELECT DISTINCT profile_id FROM "COHORT"."IDENTITY_GRAPH";

-- source shop_customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_GOLDEN" AS
SELECT r.profile_id, r."UPDATED_AT", r."COUNTRY", r."FIRST_NAME"
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
SELECT r.profile_id, r."OCCURRED_AT", r."EVENT_NAME", r."URL", r."PRICE"
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
    -- trait orders_30d (models/project.yaml:29:5)
    CAST(count(CASE WHEN r."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) THEN 1 END) AS BIGINT) AS "ORDERS_30D"
  FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" r
  GROUP BY r.profile_id
),
-- trait country (models/project.yaml:27:5)
"TRAIT_COUNTRY" AS (
  SELECT profile_id, value AS "COUNTRY" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY count(*) DESC, max(v.ts) DESC NULLS LAST, min(v.k), CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."COUNTRY" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_GOLDEN" r WHERE r."COUNTRY" IS NOT NULL AND trim(CAST(r."COUNTRY" AS VARCHAR)) <> '') v
    GROUP BY v.profile_id, v.value
  ) ranked WHERE rn = 1
),
-- trait first_name (models/project.yaml:28:5)
"TRAIT_FIRST_NAME" AS (
  SELECT profile_id, value AS "FIRST_NAME" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.k, v.ts DESC NULLS LAST, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."FIRST_NAME" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_SHOP_CUSTOMERS__STAGE_GOLDEN" r WHERE r."FIRST_NAME" IS NOT NULL AND trim(CAST(r."FIRST_NAME" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
-- trait rfm (models/project.yaml:30:5)
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
      FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" r
      WHERE r."ORDERED_AT" IS NOT NULL
      GROUP BY r.profile_id
    ) per_profile
  ) scores
),
-- trait churn_risk (models/project.yaml:31:5)
"TRAIT_CHURN_RISK" AS (
  SELECT o.profile_id, CASE WHEN o.gap IS NULL THEN NULL
    ELSE 1 - exp(-(CASE WHEN o.elapsed > 0 THEN o.elapsed ELSE 0 END)
      / (CASE WHEN o.gap < 86400 THEN 86400 ELSE o.gap END)) END AS "CHURN_RISK"
  FROM (
    SELECT p.profile_id, (CAST(DATE_PART(EPOCH_MICROSECOND, CAST(? AS TIMESTAMP_NTZ)) AS DOUBLE) / 1000000) - p.last_s AS elapsed,
      CASE WHEN p.orders >= 2 THEN (p.last_s - p.first_s) / (p.orders - 1) ELSE pop.gap END AS gap
    FROM (
      SELECT r.profile_id, count(*) AS orders, CAST(min((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS first_s, CAST(max((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS last_s
      FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" r WHERE r."ORDERED_AT" IS NOT NULL GROUP BY r.profile_id
    ) p
    CROSS JOIN (
      SELECT avg((e.last_s - e.first_s) / (e.orders - 1)) AS gap FROM (
        SELECT count(*) AS orders, CAST(min((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS first_s, CAST(max((CAST(DATE_PART(EPOCH_MICROSECOND, r."ORDERED_AT") AS DOUBLE) / 1000000)) AS DOUBLE) AS last_s
        FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" r WHERE r."ORDERED_AT" IS NOT NULL GROUP BY r.profile_id
      ) e WHERE e.orders >= 2
    ) pop
  ) o
),
"TRAITS" AS (
  SELECT ids.profile_id,
    "TRAIT_COUNTRY"."COUNTRY" AS "COUNTRY",
    "TRAIT_FIRST_NAME"."FIRST_NAME" AS "FIRST_NAME",
    coalesce("AGGREGATES_ORDERS"."ORDERS_30D", 0) AS "ORDERS_30D",
    "TRAIT_RFM"."RFM_RECENCY" AS "RFM_RECENCY",
    "TRAIT_RFM"."RFM_FREQUENCY" AS "RFM_FREQUENCY",
    "TRAIT_RFM"."RFM_MONETARY" AS "RFM_MONETARY",
    "TRAIT_RFM"."RFM" AS "RFM",
    "TRAIT_CHURN_RISK"."CHURN_RISK" AS "CHURN_RISK"
  FROM "PROFILE_IDS" ids
  LEFT JOIN "TRAIT_COUNTRY" ON "TRAIT_COUNTRY".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_FIRST_NAME" ON "TRAIT_FIRST_NAME".profile_id = ids.profile_id
  LEFT JOIN "AGGREGATES_ORDERS" ON "AGGREGATES_ORDERS".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_RFM" ON "TRAIT_RFM".profile_id = ids.profile_id
  LEFT JOIN "TRAIT_CHURN_RISK" ON "TRAIT_CHURN_RISK".profile_id = ids.profile_id
)
SELECT profile_id, "COUNTRY", "FIRST_NAME", "ORDERS_30D", "RFM_RECENCY", "RFM_FREQUENCY", "RFM_MONETARY", "RFM", "CHURN_RISK", CAST(? AS TIMESTAMP_NTZ) AS updated_at
FROM "TRAITS"
-- parameters: $1 = '2025-05-16 12:00:00', $2 = '2025-06-15 12:00:00', $3 = '2025-06-15 12:00:00';

DROP TABLE IF EXISTS "COHORT"."_WORK_PROFILE_IDS_GOLDEN";

-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment dutch_window_shoppers (models/project.yaml:33:5)
-- segment quiet (models/project.yaml:46:5)
-- segment lapsed_or_browsing (models/project.yaml:49:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_GOLDEN" AS
WITH
-- segment dutch_window_shoppers (models/project.yaml:33:5)
"SEGMENT_DUTCH_WINDOW_SHOPPERS" AS (
  SELECT CAST('dutch_window_shoppers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE ((p."COUNTRY" IS NOT NULL AND p."COUNTRY" IN (?, ?)) AND (p."FIRST_NAME" IS NOT NULL AND CAST(p."FIRST_NAME" AS VARCHAR) LIKE ? ESCAPE '\\') AND p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ) AND (e."URL" IS NOT NULL AND CAST(e."URL" AS VARCHAR) LIKE ? ESCAPE '\\') AND ((e."PRICE" IS NOT NULL AND e."PRICE" BETWEEN ? AND ?) OR e."PRICE" IS NULL)) GROUP BY e.profile_id HAVING count(*) >= ? AND count(*) <= ?) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e GROUP BY e.profile_id HAVING count(*) >= ?) x WHERE x.profile_id = p.profile_id))
),
-- segment quiet (models/project.yaml:46:5)
"SEGMENT_QUIET" AS (
  SELECT CAST('quiet' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CASE WHEN false THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 20 THEN 'control' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 60 THEN 'email' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'sms' END AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING NOT (count(*) < ?)) x WHERE x.profile_id = p.profile_id)
),
-- segment lapsed_or_browsing (models/project.yaml:49:5)
"SEGMENT_LAPSED_OR_BROWSING" AS (
  SELECT CAST('lapsed_or_browsing' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p LEFT JOIN (SELECT DISTINCT x.profile_id FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x) ev1 ON ev1.profile_id = p.profile_id LEFT JOIN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING count(*) >= ?) ev2 ON ev2.profile_id = p.profile_id WHERE ((ev1.profile_id IS NULL) OR (ev2.profile_id IS NOT NULL) OR (p."COUNTRY" IS NOT NULL AND p."COUNTRY" = ?))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_DUTCH_WINDOW_SHOPPERS"
  UNION ALL SELECT * FROM "SEGMENT_QUIET"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_OR_BROWSING"
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(? AS TIMESTAMP_NTZ)) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
LEFT JOIN "COHORT"."SEGMENT_MEMBERSHIPS" prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'NL', $2 = 'BE', $3 = 'A\_%', $4 = '2025-05-16 12:00:00', $5 = '2025-06-15 12:00:00', $6 = '%/sale\%%', $7 = 10, $8 = 50, $9 = 3, $10 = 10, $11 = 1, $12 = '2025-06-01 12:00:00', $13 = '2025-06-15 12:00:00', $14 = 2, $15 = '2025-03-17 11:00:00', $16 = '2025-06-15 12:00:00', $17 = '2025-06-08 12:00:00', $18 = '2025-06-15 12:00:00', $19 = 2, $20 = 'NL', $21 = '2025-06-15 12:00:00';

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
-- segment dutch_window_shoppers (models/project.yaml:33:5)
"SEGMENT_DUTCH_WINDOW_SHOPPERS" AS (
  SELECT CAST('dutch_window_shoppers' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE ((p."COUNTRY" IS NOT NULL AND p."COUNTRY" IN (?, ?)) AND (p."FIRST_NAME" IS NOT NULL AND CAST(p."FIRST_NAME" AS VARCHAR) LIKE ? ESCAPE '\\') AND p.profile_id IN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ) AND (e."URL" IS NOT NULL AND CAST(e."URL" AS VARCHAR) LIKE ? ESCAPE '\\') AND ((e."PRICE" IS NOT NULL AND e."PRICE" BETWEEN ? AND ?) OR e."PRICE" IS NULL)) GROUP BY e.profile_id HAVING count(*) >= ? AND count(*) <= ?) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e GROUP BY e.profile_id HAVING count(*) >= ?) x WHERE x.profile_id = p.profile_id))
),
-- segment quiet (models/project.yaml:46:5)
"SEGMENT_QUIET" AS (
  SELECT CAST('quiet' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CASE WHEN false THEN NULL WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 20 THEN 'control' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 60 THEN 'email' WHEN MOD(TO_NUMBER(SUBSTR(MD5('split:quiet:' || p.profile_id), 1, 8), 'XXXXXXXX'), 100) < 100 THEN 'sms' END AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING NOT (count(*) < ?)) x WHERE x.profile_id = p.profile_id)
),
-- segment lapsed_or_browsing (models/project.yaml:49:5)
"SEGMENT_LAPSED_OR_BROWSING" AS (
  SELECT CAST('lapsed_or_browsing' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_GOLDEN" p LEFT JOIN (SELECT DISTINCT x.profile_id FROM (SELECT e.profile_id FROM "COHORT"."_ROWS_ORDERS__STAGE_GOLDEN" e WHERE (e."ORDERED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."ORDERED_AT" <= CAST(? AS TIMESTAMP_NTZ))) x) ev1 ON ev1.profile_id = p.profile_id LEFT JOIN (SELECT e.profile_id FROM "COHORT"."_ROWS_WEB_EVENTS__STAGE_GOLDEN" e WHERE (e."OCCURRED_AT" >= CAST(? AS TIMESTAMP_NTZ) AND e."OCCURRED_AT" <= CAST(? AS TIMESTAMP_NTZ)) GROUP BY e.profile_id HAVING count(*) >= ?) ev2 ON ev2.profile_id = p.profile_id WHERE ((ev1.profile_id IS NULL) OR (ev2.profile_id IS NOT NULL) OR (p."COUNTRY" IS NOT NULL AND p."COUNTRY" = ?))
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_DUTCH_WINDOW_SHOPPERS"
  UNION ALL SELECT * FROM "SEGMENT_QUIET"
  UNION ALL SELECT * FROM "SEGMENT_LAPSED_OR_BROWSING"
)
SELECT cur.segment, cur.profile_id, CAST(? AS TIMESTAMP_NTZ) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
-- parameters: $1 = 'NL', $2 = 'BE', $3 = 'A\_%', $4 = '2025-05-16 12:00:00', $5 = '2025-06-15 12:00:00', $6 = '%/sale\%%', $7 = 10, $8 = 50, $9 = 3, $10 = 10, $11 = 1, $12 = '2025-06-01 12:00:00', $13 = '2025-06-15 12:00:00', $14 = 2, $15 = '2025-03-17 11:00:00', $16 = '2025-06-15 12:00:00', $17 = '2025-06-08 12:00:00', $18 = '2025-06-15 12:00:00', $19 = 2, $20 = 'NL', $21 = '2025-06-15 12:00:00';

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

