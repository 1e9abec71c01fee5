-- profiles: one row per profile of identity_graph, one column per trait
-- trait email_opt_in (models/project.yaml:27:5)
-- trait lifetime_value (models/project.yaml:28:5)
-- trait last_order_at (models/project.yaml:29:5)
-- trait tier (models/project.yaml:30:5)
-- every profile id, once
CREATE OR REPLACE TABLE `cohort`.`_work_profile_ids_golden`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT profile_id FROM `cohort`.`identity_graph`;

-- source shop_customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_shop_customers__stage_golden` AS
SELECT r.profile_id, r.`updated_at`, r.`opted_in`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `raw`.`shop_customers` src
LEFT JOIN `cohort`.`identity_graph` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`customer_id` AS STRING)) ELSE CAST(src.`customer_id` AS STRING) END
LEFT JOIN `cohort`.`identity_graph` g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

-- source orders (models/project.yaml:8:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_orders__stage_golden` AS
SELECT r.profile_id, r.`ordered_at`, r.`total`
FROM (
SELECT src.*, g1.profile_id AS profile_id
FROM `raw`.`orders` src
LEFT JOIN `cohort`.`identity_graph` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`customer_id` AS STRING) LIKE ' %' OR CAST(src.`customer_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`customer_id` AS STRING)) ELSE CAST(src.`customer_id` AS STRING) END
WHERE g1.profile_id IS NOT NULL
) r;

-- source web_events (models/project.yaml:13:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_web_events__stage_golden` AS
SELECT r.profile_id, r.`occurred_at`, r.`event_name`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `raw`.`web_events` src
LEFT JOIN `cohort`.`identity_graph` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`user_id` AS STRING) LIKE ' %' OR CAST(src.`user_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`user_id` AS STRING)) ELSE CAST(src.`user_id` AS STRING) END
LEFT JOIN `cohort`.`identity_graph` g2 ON g2.identifier_type = 'anonymous_id' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN CASE WHEN CAST(src.`anonymous_id` AS STRING) LIKE ' %' OR CAST(src.`anonymous_id` AS STRING) LIKE '% ' THEN trim(CAST(src.`anonymous_id` AS STRING)) ELSE CAST(src.`anonymous_id` AS STRING) END END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

CREATE OR REPLACE TABLE `cohort`.`profiles__stage_golden` AS
WITH `profile_ids` AS (
  SELECT profile_id FROM `cohort`.`_work_profile_ids_golden`
),
`aggregates_shop_customers` AS (
  SELECT r.profile_id,
    -- trait email_opt_in (models/project.yaml:27:5)
    ARRAY_AGG(IF(r.`opted_in` IS NOT NULL AND trim(CAST(r.`opted_in` AS STRING)) <> '', r.`opted_in`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`opted_in` AS STRING) IS NULL, CAST(r.`opted_in` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `email_opt_in`
  FROM `cohort`.`_rows_shop_customers__stage_golden` r
  GROUP BY r.profile_id
),
`aggregates_orders` AS (
  SELECT r.profile_id,
    -- trait lifetime_value (models/project.yaml:28:5)
    CAST(sum(r.`total`) AS FLOAT64) AS `lifetime_value`,
    -- trait last_order_at (models/project.yaml:29:5)
    max(r.`ordered_at`) AS `last_order_at`
  FROM `cohort`.`_rows_orders__stage_golden` r
  GROUP BY r.profile_id
),
`traits` AS (
  SELECT ids.profile_id,
    `aggregates_shop_customers`.`email_opt_in` AS `email_opt_in`,
    `aggregates_orders`.`lifetime_value` AS `lifetime_value`,
    `aggregates_orders`.`last_order_at` AS `last_order_at`
  FROM `profile_ids` ids
  LEFT JOIN `aggregates_shop_customers` ON `aggregates_shop_customers`.profile_id = ids.profile_id
  LEFT JOIN `aggregates_orders` ON `aggregates_orders`.profile_id = ids.profile_id
),
-- trait tier (models/project.yaml:30:5): sql over other traits
`trait_tier` AS (
  SELECT prev.*, CAST((CASE WHEN lifetime_value >= 500 THEN 'vip' ELSE 'regular' END) AS STRING) AS `tier`
  FROM `traits` prev
)
SELECT profile_id, `email_opt_in`, `lifetime_value`, `last_order_at`, `tier`, CAST(@p1 AS TIMESTAMP) AS updated_at
FROM `trait_tier`
-- parameters: $1 = '2025-06-15 12:00:00';

DROP TABLE IF EXISTS `cohort`.`_work_profile_ids_golden`;

-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment cart_abandoners (models/project.yaml:34:5)
-- segment vip (models/project.yaml:41:5)
-- segment lapsed_vip (models/project.yaml:46:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE `cohort`.`segment_memberships__stage_golden` AS
WITH
-- segment cart_abandoners (models/project.yaml:34:5)
`segment_cart_abandoners` AS (
  SELECT CAST('cart_abandoners' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_golden` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_golden` e WHERE (e.`event_name` = @p1 AND e.`occurred_at` >= CAST(@p2 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p3 AS TIMESTAMP))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_golden` e WHERE (e.`ordered_at` >= CAST(@p4 AS TIMESTAMP) AND e.`ordered_at` <= CAST(@p5 AS TIMESTAMP))) x WHERE x.profile_id = p.profile_id) AND (p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p6))
),
-- segment vip (models/project.yaml:41:5)
`segment_vip` AS (
  SELECT CAST('vip' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_golden` p WHERE ((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p7) OR (p.`tier` IS NOT NULL AND p.`tier` = @p8))
),
-- segment lapsed_vip (models/project.yaml:46:5)
`segment_lapsed_vip` AS (
  SELECT CAST('lapsed_vip' AS STRING) AS segment, p.profile_id, (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) AS holdout, CASE WHEN (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) THEN NULL WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 50 THEN 'a' WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 100 THEN 'b' END AS arm FROM `cohort`.`profiles__stage_golden` p WHERE (((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p9) OR (p.`tier` IS NOT NULL AND p.`tier` = @p10)) AND (p.`last_order_at` IS NOT NULL AND p.`last_order_at` < CAST(@p11 AS TIMESTAMP)))
),
`current` AS (
  SELECT * FROM `segment_cart_abandoners`
  UNION ALL SELECT * FROM `segment_vip`
  UNION ALL SELECT * FROM `segment_lapsed_vip`
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(@p12 AS TIMESTAMP)) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
LEFT JOIN `cohort`.`segment_memberships` prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = 'add_to_cart', $2 = '2025-06-08 12:00:00', $3 = '2025-06-15 12:00:00', $4 = '2025-06-08 12:00:00', $5 = '2025-06-15 12:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2025-03-17 11:00:00', $12 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE `cohort`.`segment_history__stage_golden` AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS STRING) AS change, CAST(@p1 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships__stage_golden` cur
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`segment_memberships` prev WHERE prev.segment = cur.segment AND prev.profile_id = cur.profile_id)
UNION ALL
SELECT prev.segment, prev.profile_id, CAST('exited' AS STRING) AS change, CAST(@p2 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships` prev
WHERE NOT EXISTS (SELECT 1 FROM `cohort`.`segment_memberships__stage_golden` cur WHERE cur.segment = prev.segment AND cur.profile_id = prev.profile_id)
-- parameters: $1 = '2025-06-15 12:00:00', $2 = '2025-06-15 12:00:00';

-- otherwise (segment_memberships does not exist yet):

CREATE OR REPLACE TABLE `cohort`.`segment_memberships__stage_golden` AS
WITH
-- segment cart_abandoners (models/project.yaml:34:5)
`segment_cart_abandoners` AS (
  SELECT CAST('cart_abandoners' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_golden` p WHERE (p.profile_id IN (SELECT e.profile_id FROM `cohort`.`_rows_web_events__stage_golden` e WHERE (e.`event_name` = @p1 AND e.`occurred_at` >= CAST(@p2 AS TIMESTAMP) AND e.`occurred_at` <= CAST(@p3 AS TIMESTAMP))) AND NOT EXISTS (SELECT 1 FROM (SELECT e.profile_id FROM `cohort`.`_rows_orders__stage_golden` e WHERE (e.`ordered_at` >= CAST(@p4 AS TIMESTAMP) AND e.`ordered_at` <= CAST(@p5 AS TIMESTAMP))) x WHERE x.profile_id = p.profile_id) AND (p.`email_opt_in` IS NOT NULL AND p.`email_opt_in` = @p6))
),
-- segment vip (models/project.yaml:41:5)
`segment_vip` AS (
  SELECT CAST('vip' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_golden` p WHERE ((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p7) OR (p.`tier` IS NOT NULL AND p.`tier` = @p8))
),
-- segment lapsed_vip (models/project.yaml:46:5)
`segment_lapsed_vip` AS (
  SELECT CAST('lapsed_vip' AS STRING) AS segment, p.profile_id, (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) AS holdout, CASE WHEN (MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 10) THEN NULL WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 50 THEN 'a' WHEN MOD(CAST(CONCAT('0x', SUBSTR(TO_HEX(MD5('split:lapsed_vip:' || p.profile_id)), 1, 8)) AS INT64), 100) < 100 THEN 'b' END AS arm FROM `cohort`.`profiles__stage_golden` p WHERE (((p.`lifetime_value` IS NOT NULL AND p.`lifetime_value` >= @p9) OR (p.`tier` IS NOT NULL AND p.`tier` = @p10)) AND (p.`last_order_at` IS NOT NULL AND p.`last_order_at` < CAST(@p11 AS TIMESTAMP)))
),
`current` AS (
  SELECT * FROM `segment_cart_abandoners`
  UNION ALL SELECT * FROM `segment_vip`
  UNION ALL SELECT * FROM `segment_lapsed_vip`
)
SELECT cur.segment, cur.profile_id, CAST(@p12 AS TIMESTAMP) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
-- parameters: $1 = 'add_to_cart', $2 = '2025-06-08 12:00:00', $3 = '2025-06-15 12:00:00', $4 = '2025-06-08 12:00:00', $5 = '2025-06-15 12:00:00', $6 = true, $7 = 500, $8 = 'vip', $9 = 500, $10 = 'vip', $11 = '2025-03-17 11:00:00', $12 = '2025-06-15 12:00:00';

-- history: this run's entries and exits, appended to segment_history when the run is published
CREATE OR REPLACE TABLE `cohort`.`segment_history__stage_golden` AS
SELECT cur.segment, cur.profile_id, CAST('entered' AS STRING) AS change, CAST(@p1 AS TIMESTAMP) AS changed_at
FROM `cohort`.`segment_memberships__stage_golden` cur
-- parameters: $1 = '2025-06-15 12:00:00';

-- end if segment_memberships exists

-- if segment_history exists (every run but the first):

-- publish appends the staged rows to segment_history

-- otherwise (segment_history does not exist yet):

-- publish replaces segment_history by the staged table

-- end if segment_history exists

