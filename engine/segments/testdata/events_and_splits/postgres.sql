-- profiles: one row per profile of identity_graph, one column per trait
-- trait country (models/project.yaml:27:5)
-- trait first_name (models/project.yaml:28:5)
-- trait orders_30d (models/project.yaml:29:5)
-- trait rfm (models/project.yaml:30:5)
-- trait churn_risk (models/project.yaml:31:5)
-- every profile id, once
CREATE UNLOGGED TABLE "cohort"."_work_profile_ids_golden" AS
SELECT DISTINCT profile_id FROM "cohort"."identity_graph";

ANALYZE "cohort"."_work_profile_ids_golden";

-- source shop_customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE TABLE "cohort"."_rows_shop_customers__stage_golden" AS
SELECT r.profile_id, r."updated_at", r."country", r."first_name"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "raw"."shop_customers" src
LEFT JOIN "cohort"."identity_graph" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."customer_id" AS TEXT) LIKE ' %' OR CAST(src."customer_id" AS TEXT) LIKE '% ' THEN trim(CAST(src."customer_id" AS TEXT)) ELSE CAST(src."customer_id" AS TEXT) END
LEFT JOIN "cohort"."identity_graph" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(regexp_replace(CAST(src."email" AS TEXT), '\s+', '', 'g')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

ANALYZE "cohort"."_rows_shop_customers__stage_golden";

-- source orders (models/project.yaml:8:5): its rows with their profile_id, only the columns traits and segments read
CREATE TABLE "cohort"."_rows_orders__stage_golden" AS
SELECT r.profile_id, r."ordered_at", r."total"
FROM (
SELECT src.*, g1.profile_id AS profile_id
FROM "raw"."orders" src
LEFT JOIN "cohort"."identity_graph" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."customer_id" AS TEXT) LIKE ' %' OR CAST(src."customer_id" AS TEXT) LIKE '% ' THEN trim(CAST(src."customer_id" AS TEXT)) ELSE CAST(src."customer_id" AS TEXT) END
WHERE g1.profile_id IS NOT NULL
) r;

ANALYZE "cohort"."_rows_orders__stage_golden";

-- source web_events (models/project.yaml:13:5): its rows with their profile_id, only the columns traits and segments read
CREATE TABLE "cohort"."_rows_web_events__stage_golden" AS
SELECT r.profile_id, r."occurred_at", r."event_name", r."url", r."price"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "raw"."web_events" src
LEFT JOIN "cohort"."identity_graph" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."user_id" AS TEXT) LIKE ' %' OR CAST(src."user_id" AS TEXT) LIKE '% ' THEN trim(CAST(src."user_id" AS TEXT)) ELSE CAST(src."user_id" AS TEXT) END
LEFT JOIN "cohort"."identity_graph" g2 ON g2.identifier_type = 'anonymous_id' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE WHEN CAST(src."anonymous_id" AS TEXT) LIKE ' %' OR CAST(src."anonymous_id" AS TEXT) LIKE '% ' THEN trim(CAST(src."anonymous_id" AS TEXT)) ELSE CAST(src."anonymous_id" AS TEXT) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

ANALYZE "cohort"."_rows_web_events__stage_golden";

CREATE TABLE "cohort"."profiles__stage_golden" AS
WITH "profile_ids" AS (
  SELECT profile_id FROM "cohort"."_work_profile_ids_golden"
),
"aggregates_orders" AS (
  SELECT r.profile_id,
    -- trait orders_30d (models/project.yaml:29:5)
    CAST(count(*) FILTER (WHERE r."ordered_at" >= CAST($1 AS TIMESTAMP)) AS BIGINT) AS "orders_30d"
  FROM "cohort"."_rows_orders__stage_golden" r
  GROUP BY r.profile_id
),
-- trait country (models/project.yaml:27:5)
"trait_country" AS (
  SELECT profile_id, value AS "country" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY count(*) DESC, max(v.ts) DESC NULLS LAST, min(v.k), (CAST(v.value AS TEXT) COLLATE "C")) AS rn
    FROM (SELECT r.profile_id, r."country" AS value, r."updated_at" AS ts, 0 AS k FROM "cohort"."_rows_shop_customers__stage_golden" r WHERE r."country" IS NOT NULL AND trim(CAST(r."country" AS TEXT)) <> '') v
    GROUP BY v.profile_id, v.value
  ) ranked WHERE rn = 1
),
-- trait first_name (models/project.yaml:28:5)
"trait_first_name" AS (
  SELECT DISTINCT ON (v.profile_id) v.profile_id, v.value AS "first_name"
  FROM (SELECT r.profile_id, r."first_name" AS value, r."updated_at" AS ts, 0 AS k FROM "cohort"."_rows_shop_customers__stage_golden" r WHERE r."first_name" IS NOT NULL AND trim(CAST(r."first_name" AS TEXT)) <> '') v
  ORDER BY v.profile_id, v.k, v.ts DESC NULLS LAST, (CAST(v.value AS TEXT) COLLATE "C")
),
-- trait rfm (models/project.yaml:30:5)
"trait_rfm" AS (
  SELECT profile_id,
    CAST(r AS BIGINT) AS "rfm_recency",
    CAST(f AS BIGINT) AS "rfm_frequency",
    CAST(m AS BIGINT) AS "rfm_monetary",
    CASE
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 4 AND 5 THEN 'champions'
      WHEN r BETWEEN 4 AND 5 AND f BETWEEN 1 AND 2 THEN 'new'
      WHEN r BETWEEN 3 AND 5 AND f BETWEEN 3 AND 5 THEN 'loyal'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 3 AND 5 THEN 'at risk'
      WHEN r BETWEEN 1 AND 2 AND f BETWEEN 1 AND 2 THEN 'hibernating'
      WHEN r BETWEEN 1 AND 5 AND f BETWEEN 1 AND 5 THEN 'needs attention'
    END AS "rfm"
  FROM (
    SELECT profile_id,
      ntile(5) OVER (ORDER BY last_at, (profile_id COLLATE "C")) AS r,
      ntile(5) OVER (ORDER BY orders, (profile_id COLLATE "C")) AS f,
      ntile(5) OVER (ORDER BY amount, (profile_id COLLATE "C")) AS m
    FROM (
      SELECT r.profile_id, max(r."ordered_at") AS last_at, count(*) AS orders, coalesce(sum(r."total"), 0) AS amount
      FROM "cohort"."_rows_orders__stage_golden" r
      WHERE r."ordered_at" IS NOT NULL
      GROUP BY r.profile_id
    ) per_profile
  ) scores
),
-- trait churn_risk (models/project.yaml:31:5)
"trait_churn_risk" AS (
  SELECT o.profile_id, CASE WHEN o.gap IS NULL THEN NULL
    ELSE 1 - exp(-(CASE WHEN o.elapsed > 0 THEN o.elapsed ELSE 0 END)
      / (CASE WHEN o.gap < 86400 THEN 86400 ELSE o.gap END)) END AS "churn_risk"
  FROM (
    SELECT p.profile_id, CAST(extract(epoch FROM CAST($2 AS TIMESTAMP)) AS DOUBLE PRECISION) - p.last_s AS elapsed,
      CASE WHEN p.orders >= 2 THEN (p.last_s - p.first_s) / (p.orders - 1) ELSE pop.gap END AS gap
    FROM (
      SELECT r.profile_id, count(*) AS orders, CAST(min(CAST(extract(epoch FROM r."ordered_at") AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS first_s, CAST(max(CAST(extract(epoch FROM r."ordered_at") AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS last_s
      FROM "cohort"."_rows_orders__stage_golden" r WHERE r."ordered_at" IS NOT NULL GROUP BY r.profile_id
    ) p
    CROSS JOIN (
      SELECT avg((e.last_s - e.first_s) / (e.orders - 1)) AS gap FROM (
        SELECT count(*) AS orders, CAST(min(CAST(extract(epoch FROM r."ordered_at") AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS first_s, CAST(max(CAST(extract(epoch FROM r."ordered_at") AS DOUBLE PRECISION)) AS DOUBLE PRECISION) AS last_s
        FROM "cohort"."_rows_orders__stage_golden" r WHERE r."ordered_at" IS NOT NULL GROUP BY r.profile_id
      ) e WHERE e.orders >= 2
    ) pop
  ) o
),
"traits" AS (
  SELECT ids.profile_id,
    "trait_country"."country" AS "country",
    "trait_first_name"."first_name" AS "first_name",
    coalesce("aggregates_orders"."orders_30d", 0) AS "orders_30d",
    "trait_rfm"."rfm_recency" AS "rfm_recency",
    "trait_rfm"."rfm_frequency" AS "rfm_frequency",
    "trait_rfm"."rfm_monetary" AS "rfm_monetary",
    "trait_rfm"."rfm" AS "rfm",
    "trait_churn_risk"."churn_risk" AS "churn_risk"
  FROM "profile_ids" ids
  LEFT JOIN "trait_country" ON "trait_country".profile_id = ids.profile_id
  LEFT JOIN "trait_first_name" ON "trait_first_name".profile_id = ids.profile_id
  LEFT JOIN "aggregates_orders" ON "aggregates_orders".profile_id = ids.profile_id
  LEFT JOIN "trait_rfm" ON "trait_rfm".profile_id = ids.profile_id
  LEFT JOIN "trait_churn_risk" ON "trait_churn_risk".profile_id = ids.profile_id
)
SELECT profile_id, "country", "first_name", "orders_30d", "rfm_recency", "rfm_frequency", "rfm_monetary", "rfm", "churn_risk", CAST($3 AS TIMESTAMP) AS updated_at
FROM "traits"
-- parameters: $1 = '2025-05-16 12:00:00', $2 = '2025-06-15 12:00:00', $3 = '2025-06-15 12:00:00';

ANALYZE "cohort"."profiles__stage_golden";

DROP TABLE IF EXISTS "cohort"."_work_profile_ids_golden";

-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment dutch_window_shoppers (models/project.yaml:33:5)
-- segment quiet (models/project.yaml:46:5)
-- segment lapsed_or_browsing (models/project.yaml:49:5)
-- if segment_memberships exists (every run but the first):

CREATE TABLE "cohort"."segment_memberships__stage_golden" AS
WITH
-- segment dutch_window_shoppers (models/project.yaml:33:5)
"segment_dutch_window_shoppers" AS (
  SELECT CAST('dutch_window_shoppers' AS TEXT) AS segment, p.profile_id, false AS holdout, CAST(NULL AS TEXT) AS arm FROM "cohort"."profiles__stage_golden" p WHERE ((p."country" IS NOT NULL AND p."country" IN ($1, $2)) AND (p."first_name" IS NOT NULL AND CAST(p."first_name" AS TEXT) LIKE $3 ESCAPE '\') AND p.profile_id IN (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($4 AS TIMESTAMP) AND e."occurred_at" <= CAST($5 AS TIMESTAMP) AND (e."url" IS NOT NULL AND CAST(e."url" AS TEXT) LIKE $6 ESCAPE '\') AND ((e."price" IS NOT NULL AND e."price" BETWEEN $7 AND $8) OR e."price" IS NULL)) GROUP BY e.profile_id HAVING count(*) >= $9 AND count(*) <= $10) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "cohort"."_rows_orders__stage_golden" e GROUP BY e.profile_id HAVING count(*) >= $11) x WHERE x.profile_id = p.profile_id))
),
-- segment quiet (models/project.yaml:46:5)
"segment_quiet" AS (
  SELECT CAST('quiet' AS TEXT) AS segment, p.profile_id, false AS holdout, CASE WHEN false THEN NULL WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 20 THEN 'control' WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 60 THEN 'email' WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 100 THEN 'sms' END AS arm FROM "cohort"."profiles__stage_golden" p WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($12 AS TIMESTAMP) AND e."occurred_at" <= CAST($13 AS TIMESTAMP)) GROUP BY e.profile_id HAVING NOT (count(*) < $14)) x WHERE x.profile_id = p.profile_id)
),
-- segment lapsed_or_browsing (models/project.yaml:49:5)
"segment_lapsed_or_browsing" AS (
  SELECT CAST('lapsed_or_browsing' AS TEXT) AS segment, p.profile_id, false AS holdout, CAST(NULL AS TEXT) AS arm FROM "cohort"."profiles__stage_golden" p LEFT JOIN (SELECT DISTINCT x.profile_id FROM (SELECT e.profile_id FROM "cohort"."_rows_orders__stage_golden" e WHERE (e."ordered_at" >= CAST($15 AS TIMESTAMP) AND e."ordered_at" <= CAST($16 AS TIMESTAMP))) x) ev1 ON ev1.profile_id = p.profile_id LEFT JOIN (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($17 AS TIMESTAMP) AND e."occurred_at" <= CAST($18 AS TIMESTAMP)) GROUP BY e.profile_id HAVING count(*) >= $19) ev2 ON ev2.profile_id = p.profile_id WHERE ((ev1.profile_id IS NULL) OR (ev2.profile_id IS NOT NULL) OR (p."country" IS NOT NULL AND p."country" = $20))
),
"current" AS (
  SELECT * FROM "segment_dutch_window_shoppers"
  UNION ALL SELECT * FROM "segment_quiet"
  UNION ALL SELECT * FROM "segment_lapsed_or_browsing"
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST($21 AS TIMESTAMP)) AS entered_at, cur.holdout, cur.arm
FROM "current" cur
LEFT JOIN "cohort"."segment_memberships" prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'NL', $2 = 'BE', $3 = 'A\_%', $4 = '2025-05-16 12:00:00', $5 = '2025-06-15 12:00:00', $6 = '%/sale\%%', $7 = 10, $8 = 50, $9 = 3, $10 = 10, $11 = 1, $12 = '2025-06-01 12:00:00', $13 = '2025-06-15 12:00:00', $14 = 2, $15 = '2025-03-17 11:00:00', $16 = '2025-06-15 12:00:00', $17 = '2025-06-08 12:00:00', $18 = '2025-06-15 12:00:00', $19 = 2, $20 = 'NL', $21 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE TABLE "cohort"."segment_history__stage_golden" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS TEXT) AS change, CAST($1 AS TIMESTAMP) AS changed_at
FROM "cohort"."segment_memberships__stage_golden" cur
WHERE NOT EXISTS (SELECT 1 FROM "cohort"."segment_memberships" prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)
UNION ALL
SELECT prev.segment, prev.profile_id, CAST('exited' AS TEXT) AS change, CAST($2 AS TIMESTAMP) AS changed_at
FROM "cohort"."segment_memberships" prev
WHERE NOT EXISTS (SELECT 1 FROM "cohort"."segment_memberships__stage_golden" cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)
-- parameters: $1 = '2025-06-15 12:00:00', $2 = '2025-06-15 12:00:00';

-- otherwise (segment_memberships does not exist yet):

CREATE TABLE "cohort"."segment_memberships__stage_golden" AS
WITH
-- segment dutch_window_shoppers (models/project.yaml:33:5)
"segment_dutch_window_shoppers" AS (
  SELECT CAST('dutch_window_shoppers' AS TEXT) AS segment, p.profile_id, false AS holdout, CAST(NULL AS TEXT) AS arm FROM "cohort"."profiles__stage_golden" p WHERE ((p."country" IS NOT NULL AND p."country" IN ($1, $2)) AND (p."first_name" IS NOT NULL AND CAST(p."first_name" AS TEXT) LIKE $3 ESCAPE '\') AND p.profile_id IN (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($4 AS TIMESTAMP) AND e."occurred_at" <= CAST($5 AS TIMESTAMP) AND (e."url" IS NOT NULL AND CAST(e."url" AS TEXT) LIKE $6 ESCAPE '\') AND ((e."price" IS NOT NULL AND e."price" BETWEEN $7 AND $8) OR e."price" IS NULL)) GROUP BY e.profile_id HAVING count(*) >= $9 AND count(*) <= $10) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "cohort"."_rows_orders__stage_golden" e GROUP BY e.profile_id HAVING count(*) >= $11) x WHERE x.profile_id = p.profile_id))
),
-- segment quiet (models/project.yaml:46:5)
"segment_quiet" AS (
  SELECT CAST('quiet' AS TEXT) AS segment, p.profile_id, false AS holdout, CASE WHEN false THEN NULL WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 20 THEN 'control' WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 60 THEN 'email' WHEN (CAST(CAST(('x' || substr(md5('split:quiet:' || p.profile_id), 1, 8)) AS bit(32)) AS BIGINT) % 100) < 100 THEN 'sms' END AS arm FROM "cohort"."profiles__stage_golden" p WHERE NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($12 AS TIMESTAMP) AND e."occurred_at" <= CAST($13 AS TIMESTAMP)) GROUP BY e.profile_id HAVING NOT (count(*) < $14)) x WHERE x.profile_id = p.profile_id)
),
-- segment lapsed_or_browsing (models/project.yaml:49:5)
"segment_lapsed_or_browsing" AS (
  SELECT CAST('lapsed_or_browsing' AS TEXT) AS segment, p.profile_id, false AS holdout, CAST(NULL AS TEXT) AS arm FROM "cohort"."profiles__stage_golden" p LEFT JOIN (SELECT DISTINCT x.profile_id FROM (SELECT e.profile_id FROM "cohort"."_rows_orders__stage_golden" e WHERE (e."ordered_at" >= CAST($15 AS TIMESTAMP) AND e."ordered_at" <= CAST($16 AS TIMESTAMP))) x) ev1 ON ev1.profile_id = p.profile_id LEFT JOIN (SELECT e.profile_id FROM "cohort"."_rows_web_events__stage_golden" e WHERE (e."occurred_at" >= CAST($17 AS TIMESTAMP) AND e."occurred_at" <= CAST($18 AS TIMESTAMP)) GROUP BY e.profile_id HAVING count(*) >= $19) ev2 ON ev2.profile_id = p.profile_id WHERE ((ev1.profile_id IS NULL) OR (ev2.profile_id IS NOT NULL) OR (p."country" IS NOT NULL AND p."country" = $20))
),
"current" AS (
  SELECT * FROM "segment_dutch_window_shoppers"
  UNION ALL SELECT * FROM "segment_quiet"
  UNION ALL SELECT * FROM "segment_lapsed_or_browsing"
)
SELECT cur.segment, cur.profile_id, CAST($21 AS TIMESTAMP) AS entered_at, cur.holdout, cur.arm
FROM "current" cur
-- parameters: $1 = 'NL', $2 = 'BE', $3 = 'A\_%', $4 = '2025-05-16 12:00:00', $5 = '2025-06-15 12:00:00', $6 = '%/sale\%%', $7 = 10, $8 = 50, $9 = 3, $10 = 10, $11 = 1, $12 = '2025-06-01 12:00:00', $13 = '2025-06-15 12:00:00', $14 = 2, $15 = '2025-03-17 11:00:00', $16 = '2025-06-15 12:00:00', $17 = '2025-06-08 12:00:00', $18 = '2025-06-15 12:00:00', $19 = 2, $20 = 'NL', $21 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE TABLE "cohort"."segment_history__stage_golden" AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS TEXT) AS change, CAST($1 AS TIMESTAMP) AS changed_at
FROM "cohort"."segment_memberships__stage_golden" cur
-- parameters: $1 = '2025-06-15 12:00:00';

-- end if segment_memberships exists

-- if segment_history exists (every run but the first):

-- publish appends the staged rows to segment_history

-- otherwise (segment_history does not exist yet):

-- publish replaces segment_history by the staged table

-- end if segment_history exists

