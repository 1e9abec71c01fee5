-- Cohort run of project "minimal" for bigquery, output schema "cohort".
-- Tables are built under *__stage_RUNID names and published by the last statements.

CREATE SCHEMA IF NOT EXISTS `cohort`;

-- ==== step: identity ====
-- identity resolution
--   identifier customer_id (models/project.yaml:10:7): limit 1
--   identifier email (models/project.yaml:11:7): normalize email, exclude @example\.com$
--   source customers (models/project.yaml:2:5): id as customer_id, email as email
CREATE SCHEMA IF NOT EXISTS `cohort`;

-- try: extend the previous run: when its state (_identity_state, _identity_links, _identity_components) is usable and
-- every source only gained rows from its watermark on, read the new rows alone and resolve again only the
-- previous profiles they touch

-- in Go: abandon unless the previous run's state is usable: no --full-refresh, every source has a timestamp, the previous
-- tables exist and _identity_state was written under the same rules and sources (one fingerprint, 08c1ad9512084f08d6a51bc5871a19be)
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
SELECT 'customers' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `raw`.`customers` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `raw`.`customers` src) AS newest, (SELECT max(p.watermark) FROM `cohort`.`_identity_state` p WHERE p.source = 'customers') AS since FROM `raw`.`customers` src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM `cohort`.`_identity_state` p WHERE p.source = 'customers') p;

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
    -- customers.id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END AS v1
    FROM `raw`.`customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
  ) normalized) `customers`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `raw`.`customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
  ) normalized) `customers`
    WHERE v2 IS NOT NULL
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
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p1 AS STRING)) THEN CAST(@p2 AS STRING) END AS detail
  FROM `cohort`.`_work_id_new_nodes_RUNID`
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '@example\.com$', $2 = 'matches @example\.com$';

-- excluded identifiers leave the graph
DELETE FROM `cohort`.`_work_id_new_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_work_id_new_edges_RUNID`;

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TABLE `cohort`.`_work_id_new_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
WITH -- source customers (models/project.yaml:2:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_customers` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `raw`.`customers` src
    WHERE CAST(src.`updated_at` AS TIMESTAMP) >= (SELECT since FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
      AND CAST(src.`updated_at` AS TIMESTAMP) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP) ELSE since END FROM `cohort`.`_work_id_marks_RUNID` WHERE source = 'customers')
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT k1 AS a, k2 AS b FROM `source_customers` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM `cohort`.`_work_id_new_edges_RUNID` WHERE a IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`) OR b IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

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
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_identity_links__stage_RUNID`;

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE `cohort`.`_identity_links__stage_RUNID` AS
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID`
EXCEPT DISTINCT
SELECT p.a, p.b FROM `cohort`.`_identity_links` p JOIN `cohort`.`_work_id_new_edges_RUNID` n ON n.a = p.a AND n.b = p.b;

-- set incremental = 'yes'

-- if that was abandoned, instead:

-- if the increment did not read the marks already:

DROP TABLE IF EXISTS `cohort`.`_work_id_marks_RUNID`;

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TABLE `cohort`.`_work_id_marks_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT 'customers' AS source, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `raw`.`customers` src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP) AS since, CAST(NULL AS INT64) AS prev_rows, CAST(NULL AS INT64) AS prev_before, CAST(NULL AS INT64) AS prev_at,
  CAST(NULL AS INT64) AS before_since, CAST(NULL AS INT64) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src.`updated_at` AS TIMESTAMP) AS t, (SELECT max(CAST(src.`updated_at` AS TIMESTAMP)) FROM `raw`.`customers` src) AS newest FROM `raw`.`customers` src) r) r;

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
    -- customers.id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END AS v1
    FROM `raw`.`customers` src
  ) normalized) `customers`
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `raw`.`customers` src
  ) normalized) `customers`
    WHERE v2 IS NOT NULL
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
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND REGEXP_CONTAINS(identifier_value, CAST(@p1 AS STRING)) THEN CAST(@p2 AS STRING) END AS detail
  FROM `cohort`.`_work_id_nodes_RUNID`
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '@example\.com$', $2 = 'matches @example\.com$';

-- excluded identifiers leave the graph
DELETE FROM `cohort`.`_work_id_nodes_RUNID` WHERE key IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

-- end try

DROP TABLE IF EXISTS `cohort`.`_work_id_edges_RUNID`;

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TABLE `cohort`.`_work_id_edges_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
WITH -- source customers (models/project.yaml:2:5): identifiers normalized, keyed by a 64-bit hash of type:value
`source_customers` AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) = '' THEN FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) ELSE FARM_FINGERPRINT((SELECT salt FROM `cohort`.`_work_id_salt_RUNID`) || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src.`updated_at` AS TIMESTAMP) AS seen_at,
      CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS v2
    FROM `raw`.`customers` src
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT k1 AS a, k2 AS b FROM `source_customers` WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM `cohort`.`_work_id_edges_RUNID` WHERE a IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`) OR b IN (SELECT key FROM `cohort`.`_work_id_excluded_RUNID`);

DROP TABLE IF EXISTS `cohort`.`_identity_links__stage_RUNID`;

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE `cohort`.`_identity_links__stage_RUNID` AS
SELECT a, b FROM `cohort`.`_work_id_edges_RUNID`;

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
  WHERE identifier_type IN ('customer_id')
  GROUP BY comp, identifier_type
  HAVING count(*) > CASE identifier_type WHEN 'customer_id' THEN 1 END
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
SELECT a, b FROM `cohort`.`_work_id_new_edges_RUNID`;

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
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((UNIX_MICROS(first_seen_at) / 1000000) * 1000) AS BIGINT) AS STRING), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
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
-- parameters: $1 = '08c1ad9512084f08d6a51bc5871a19be';

-- otherwise:

DROP TABLE IF EXISTS `cohort`.`_work_id_anchors_RUNID`;

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TABLE `cohort`.`_work_id_anchors_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT comp, 'p_' || substr(TO_HEX(MD5(substr(min(anchor_key), 21))), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((UNIX_MICROS(first_seen_at) / 1000000) * 1000) AS BIGINT) AS STRING), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
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
-- parameters: $1 = '08c1ad9512084f08d6a51bc5871a19be';

-- end if


-- ==== step: identity_sources ====
-- which sources hold each identifier (identity's sources)
-- _identity_sources: which sources hold each identifier, for the profile look-up
CREATE OR REPLACE TABLE `cohort`.`_identity_sources__stage_RUNID` AS
-- customers.id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END AS identifier_value, 'customers' AS source
FROM `raw`.`customers` src
WHERE CASE WHEN CAST(src.`id` AS STRING) = '' THEN NULL WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN NULLIF(trim(CAST(src.`id` AS STRING)), '') ELSE CAST(src.`id` AS STRING) END IS NOT NULL
UNION ALL
-- customers.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') AS identifier_value, 'customers' AS source
FROM `raw`.`customers` src
WHERE NULLIF(lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')), '') IS NOT NULL;


-- ==== step: profiles ====
-- profiles: one row per profile of identity_graph, one column per trait
-- trait email (models/project.yaml:13:5)
-- identity_graph as this step reads it
CREATE OR REPLACE TABLE `cohort`.`_work_graph_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT profile_id, identifier_type, identifier_value FROM `cohort`.`identity_graph__stage_RUNID`;

-- every profile id, once
CREATE OR REPLACE TABLE `cohort`.`_work_profile_ids_RUNID`
OPTIONS (expiration_timestamp = TIMESTAMP_ADD(CURRENT_TIMESTAMP(), INTERVAL 1 DAY)) AS
SELECT DISTINCT profile_id FROM `cohort`.`_work_graph_RUNID`;

-- source customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE `cohort`.`_rows_customers__stage_RUNID` AS
SELECT r.profile_id, r.`updated_at`, r.`email`
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM `raw`.`customers` src
LEFT JOIN `cohort`.`_work_graph_RUNID` g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src.`id` AS STRING) LIKE ' %' OR CAST(src.`id` AS STRING) LIKE '% ' THEN trim(CAST(src.`id` AS STRING)) ELSE CAST(src.`id` AS STRING) END
LEFT JOIN `cohort`.`_work_graph_RUNID` g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src.`email` AS STRING), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

CREATE OR REPLACE TABLE `cohort`.`profiles__stage_RUNID` AS
WITH `profile_ids` AS (
  SELECT profile_id FROM `cohort`.`_work_profile_ids_RUNID`
),
`aggregates_customers` AS (
  SELECT r.profile_id,
    -- trait email (models/project.yaml:13:5)
    ARRAY_AGG(IF(r.`email` IS NOT NULL AND trim(CAST(r.`email` AS STRING)) <> '', r.`email`, NULL) IGNORE NULLS ORDER BY r.`updated_at` DESC, CAST(r.`email` AS STRING) IS NULL, CAST(r.`email` AS STRING) LIMIT 1)[SAFE_OFFSET(0)] AS `email`
  FROM `cohort`.`_rows_customers__stage_RUNID` r
  GROUP BY r.profile_id
),
`traits` AS (
  SELECT ids.profile_id,
    `aggregates_customers`.`email` AS `email`
  FROM `profile_ids` ids
  LEFT JOIN `aggregates_customers` ON `aggregates_customers`.profile_id = ids.profile_id
)
SELECT profile_id, `email`, CAST(@p1 AS TIMESTAMP) AS updated_at
FROM `traits`
-- parameters: $1 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS `cohort`.`_work_graph_RUNID`;

DROP TABLE IF EXISTS `cohort`.`_work_profile_ids_RUNID`;


-- ==== step: segments ====
-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment gmail (models/project.yaml:15:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE `cohort`.`segment_memberships__stage_RUNID` AS
WITH
-- segment gmail (models/project.yaml:15:5)
`segment_gmail` AS (
  SELECT CAST('gmail' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.`email` IS NOT NULL AND CAST(p.`email` AS STRING) LIKE @p1)
),
`current` AS (
  SELECT * FROM `segment_gmail`
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(@p2 AS TIMESTAMP)) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
LEFT JOIN `cohort`.`segment_memberships` prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = '%@gmail.%', $2 = '2026-11-23 11:00:00';

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
-- segment gmail (models/project.yaml:15:5)
`segment_gmail` AS (
  SELECT CAST('gmail' AS STRING) AS segment, p.profile_id, false AS holdout, CAST(NULL AS STRING) AS arm FROM `cohort`.`profiles__stage_RUNID` p WHERE (p.`email` IS NOT NULL AND CAST(p.`email` AS STRING) LIKE @p1)
),
`current` AS (
  SELECT * FROM `segment_gmail`
)
SELECT cur.segment, cur.profile_id, CAST(@p2 AS TIMESTAMP) AS entered_at, cur.holdout, cur.arm
FROM `current` cur
-- parameters: $1 = '%@gmail.%', $2 = '2026-11-23 11:00:00';

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
CREATE OR REPLACE TABLE `cohort`.`_rows_customers` COPY `cohort`.`_rows_customers__stage_RUNID`;
COMMIT;
BEGIN;
DROP TABLE IF EXISTS `cohort`.`_rows_customers__stage_RUNID`;
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
