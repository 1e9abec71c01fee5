-- Cohort run of project "minimal" for snowflake, output schema "cohort".
-- Tables are built under *__stage_RUNID names and published by the last statements.

CREATE SCHEMA IF NOT EXISTS "COHORT";

-- ==== step: identity ====
-- identity resolution
--   identifier customer_id (models/project.yaml:10:7): limit 1
--   identifier email (models/project.yaml:11:7): normalize email, exclude @example\.com$
--   source customers (models/project.yaml:2:5): id as customer_id, email as email
CREATE SCHEMA IF NOT EXISTS "COHORT";

-- try: extend the previous run: when its state (_identity_state, _identity_links, _identity_components) is usable and
-- every source only gained rows from its watermark on, read the new rows alone and resolve again only the
-- previous profiles they touch

-- in Go: abandon unless the previous run's state is usable: no --full-refresh, every source has a timestamp, the previous
-- tables exist and _identity_state was written under the same rules and sources (one fingerprint, 08c1ad9512084f08d6a51bc5871a19be)
-- reading:
-- SELECT DISTINCT fingerprint FROM "COHORT"."_IDENTITY_STATE"

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_SALT_RUNID";

-- the key salt of the previous run
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_SALT_RUNID" AS
SELECT min(salt) AS salt FROM "COHORT"."_IDENTITY_STATE";

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_MARKS_RUNID";

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_MARKS_RUNID" AS
SELECT 'customers' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "RAW"."CUSTOMERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  p.since, p.prev_rows, p.prev_before, p.prev_at, r.before_since, r.at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark, count(*) - coalesce(sum(CASE WHEN r.t >= r.since THEN 1 ELSE 0 END), 0) AS before_since, coalesce(sum(CASE WHEN r.t = r.since THEN 1 ELSE 0 END), 0) AS at_since
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "RAW"."CUSTOMERS" src) AS newest, (SELECT max(p.watermark) FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'customers') AS since FROM "RAW"."CUSTOMERS" src) r) r
CROSS JOIN (SELECT max(p.watermark) AS since, max(p.row_count) AS prev_rows, max(p.before_watermark) AS prev_before, max(p.at_watermark) AS prev_at
  FROM "COHORT"."_IDENTITY_STATE" p WHERE p.source = 'customers') p;

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
    -- customers.id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END AS v1
    FROM "RAW"."CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
  ) normalized) "CUSTOMERS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "RAW"."CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
  ) normalized) "CUSTOMERS"
    WHERE v2 IS NOT NULL
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
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR) END AS detail
  FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID"
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '@example\.com$', $2 = 'matches @example\.com$';

-- excluded identifiers leave the graph
DELETE FROM "COHORT"."_WORK_ID_NEW_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_NEW_EDGES_RUNID" AS
WITH -- source customers (models/project.yaml:2:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_CUSTOMERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "RAW"."CUSTOMERS" src
    WHERE CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) >= (SELECT since FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
      AND CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) > (SELECT CASE WHEN at_since > prev_at THEN CAST('0001-01-01 00:00:00' AS TIMESTAMP_NTZ) ELSE since END FROM "COHORT"."_WORK_ID_MARKS_RUNID" WHERE source = 'customers')
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT k1 AS a, k2 AS b FROM "SOURCE_CUSTOMERS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID" WHERE a IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID") OR b IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

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
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_LINKS__STAGE_RUNID" AS
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID"
EXCEPT
SELECT p.a, p.b FROM "COHORT"."_IDENTITY_LINKS" p JOIN "COHORT"."_WORK_ID_NEW_EDGES_RUNID" n ON n.a = p.a AND n.b = p.b;

-- set incremental = 'yes'

-- if that was abandoned, instead:

-- if the increment did not read the marks already:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_MARKS_RUNID";

-- marks: per source the newest timestamp and the rows before and at it; the next run reads only rows from that timestamp on
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_MARKS_RUNID" AS
SELECT 'customers' AS source, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "RAW"."CUSTOMERS" src) AS watermark, r.row_count, r.row_count - r.at_watermark AS before_watermark, r.at_watermark,
  CAST(NULL AS TIMESTAMP_NTZ) AS since, CAST(NULL AS BIGINT) AS prev_rows, CAST(NULL AS BIGINT) AS prev_before, CAST(NULL AS BIGINT) AS prev_at,
  CAST(NULL AS BIGINT) AS before_since, CAST(NULL AS BIGINT) AS at_since
FROM (SELECT count(*) AS row_count, coalesce(sum(CASE WHEN r.t = r.newest THEN 1 ELSE 0 END), 0) AS at_watermark
  FROM (SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS t, (SELECT max(CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ)) FROM "RAW"."CUSTOMERS" src) AS newest FROM "RAW"."CUSTOMERS" src) r) r;

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
    -- customers.id
    SELECT v1 AS identifier_value, seen_at
    FROM (SELECT seen_at, v1
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END AS v1
    FROM "RAW"."CUSTOMERS" src
  ) normalized) "CUSTOMERS"
    WHERE v1 IS NOT NULL
) occurrences
GROUP BY identifier_value
UNION ALL
-- email
SELECT CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || identifier_value) END AS key, 'email' AS identifier_type, identifier_value, min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at
FROM (
    -- customers.email
    SELECT v2 AS identifier_value, seen_at
    FROM (SELECT seen_at, v2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "RAW"."CUSTOMERS" src
  ) normalized) "CUSTOMERS"
    WHERE v2 IS NOT NULL
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
  SELECT key, identifier_type, identifier_value, CASE WHEN identifier_type = 'email' AND (REGEXP_INSTR(identifier_value, CAST(? AS VARCHAR)) > 0) THEN CAST(? AS VARCHAR) END AS detail
  FROM "COHORT"."_WORK_ID_NODES_RUNID"
) tested
WHERE detail IS NOT NULL
-- parameters: $1 = '@example\.com$', $2 = 'matches @example\.com$';

-- excluded identifiers leave the graph
DELETE FROM "COHORT"."_WORK_ID_NODES_RUNID" WHERE key IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

-- end try

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_EDGES_RUNID";

-- links: every two identifiers of one source row, each link once with a < b
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_EDGES_RUNID" AS
WITH -- source customers (models/project.yaml:2:5): identifiers normalized, keyed by a 64-bit hash of type:value
"SOURCE_CUSTOMERS" AS (
  SELECT seen_at, v1, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'customer_id' || ':' || v1) END AS k1, v2, CASE WHEN (SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") = '' THEN HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) ELSE HASH((SELECT salt FROM "COHORT"."_WORK_ID_SALT_RUNID") || 'email' || ':' || v2) END AS k2
  FROM (
    SELECT CAST(src."UPDATED_AT" AS TIMESTAMP_NTZ) AS seen_at,
      CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END AS v1,
      NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS v2
    FROM "RAW"."CUSTOMERS" src
  ) normalized
)
SELECT DISTINCT least(a, b) AS a, greatest(a, b) AS b
FROM (
  SELECT k1 AS a, k2 AS b FROM "SOURCE_CUSTOMERS" WHERE v1 IS NOT NULL AND v2 IS NOT NULL
) pairs
WHERE a <> b;

-- links to an excluded identifier leave the graph
DELETE FROM "COHORT"."_WORK_ID_EDGES_RUNID" WHERE a IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID") OR b IN (SELECT key FROM "COHORT"."_WORK_ID_EXCLUDED_RUNID");

DROP TABLE IF EXISTS "COHORT"."_IDENTITY_LINKS__STAGE_RUNID";

-- _identity_links: the links the next run needs for max_links and limits
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_LINKS__STAGE_RUNID" AS
SELECT a, b FROM "COHORT"."_WORK_ID_EDGES_RUNID";

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
  WHERE identifier_type IN ('customer_id')
  GROUP BY comp, identifier_type
  HAVING count(*) > CASE identifier_type WHEN 'customer_id' THEN 1 END
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
SELECT a, b FROM "COHORT"."_WORK_ID_NEW_EDGES_RUNID";

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
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((CAST(DATE_PART(EPOCH_MICROSECOND, first_seen_at) AS DOUBLE) / 1000000) * 1000) AS BIGINT) AS VARCHAR), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
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
-- parameters: $1 = '08c1ad9512084f08d6a51bc5871a19be';

-- otherwise:

DROP TABLE IF EXISTS "COHORT"."_WORK_ID_ANCHORS_RUNID";

-- anchors: per cluster the identifier of highest priority, earliest seen, then by type:value;
-- the anchor key is priority (3 chars) || first seen in ms (17) || type:value, so the id is md5 of what follows char 20
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_ID_ANCHORS_RUNID" AS
SELECT comp, 'p_' || substr(MD5(substr(min(anchor_key), 21)), 1, 16) AS profile_id
FROM (SELECT comp, CASE identifier_type WHEN 'customer_id' THEN '000' WHEN 'email' THEN '001' ELSE '999' END || coalesce(lpad(CAST(CAST(floor((CAST(DATE_PART(EPOCH_MICROSECOND, first_seen_at) AS DOUBLE) / 1000000) * 1000) AS BIGINT) AS VARCHAR), 17, '0'), '99999999999999999') || identifier_type || ':' || identifier_value AS anchor_key FROM (SELECT n.key, n.identifier_type, n.identifier_value, n.first_seen_at, n.last_seen_at, coalesce(r.root, n.key) AS comp
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
-- parameters: $1 = '08c1ad9512084f08d6a51bc5871a19be';

-- end if


-- ==== step: identity_sources ====
-- which sources hold each identifier (identity's sources)
-- _identity_sources: which sources hold each identifier, for the profile look-up, in the order of a hash of each identifier, which a look-up filters on
CREATE OR REPLACE TABLE "COHORT"."_IDENTITY_SOURCES__STAGE_RUNID" AS
SELECT s.*, HASH(s.identifier_value) AS identifier_key FROM (
-- customers.id
SELECT DISTINCT 'customer_id' AS identifier_type, CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END AS identifier_value, 'customers' AS source
FROM "RAW"."CUSTOMERS" src
WHERE CASE WHEN CAST(src."ID" AS VARCHAR) = '' THEN NULL WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN NULLIF(trim(CAST(src."ID" AS VARCHAR)), '') ELSE CAST(src."ID" AS VARCHAR) END IS NOT NULL
UNION ALL
-- customers.email
SELECT DISTINCT 'email' AS identifier_type, NULLIF(lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')), '') AS identifier_value, 'customers' AS source
FROM "RAW"."CUSTOMERS" src
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
-- trait email (models/project.yaml:13:5)
-- identity_graph as this step reads it, each identifier type together
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_GRAPH_RUNID" AS
SELECT profile_id, identifier_type, identifier_value FROM "COHORT"."IDENTITY_GRAPH__STAGE_RUNID"
ORDER BY identifier_type;

-- every profile id, once
CREATE OR REPLACE TRANSIENT TABLE "COHORT"."_WORK_PROFILE_IDS_RUNID" AS
SELECT DISTINCT profile_id FROM "COHORT"."_WORK_GRAPH_RUNID";

-- source customers (models/project.yaml:2:5): its rows with their profile_id, only the columns traits and segments read
CREATE OR REPLACE TABLE "COHORT"."_ROWS_CUSTOMERS__STAGE_RUNID" AS
SELECT r.profile_id, r."UPDATED_AT", r."EMAIL"
FROM (
SELECT src.*, coalesce(g1.profile_id, g2.profile_id) AS profile_id
FROM "RAW"."CUSTOMERS" src
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g1 ON g1.identifier_type = 'customer_id' AND g1.identifier_value = CASE WHEN CAST(src."ID" AS VARCHAR) LIKE ' %' OR CAST(src."ID" AS VARCHAR) LIKE '% ' THEN trim(CAST(src."ID" AS VARCHAR)) ELSE CAST(src."ID" AS VARCHAR) END
LEFT JOIN "COHORT"."_WORK_GRAPH_RUNID" g2 ON g2.identifier_type = 'email' AND g2.identifier_value = CASE WHEN g1.profile_id IS NULL THEN lower(REGEXP_REPLACE(CAST(src."EMAIL" AS VARCHAR), '\\s+', '')) END
WHERE coalesce(g1.profile_id, g2.profile_id) IS NOT NULL
) r;

CREATE OR REPLACE TABLE "COHORT"."PROFILES__STAGE_RUNID" AS
WITH "PROFILE_IDS" AS (
  SELECT profile_id FROM "COHORT"."_WORK_PROFILE_IDS_RUNID"
),
-- trait email (models/project.yaml:13:5)
"TRAIT_EMAIL" AS (
  SELECT profile_id, value AS "EMAIL" FROM (
    SELECT v.profile_id, v.value, row_number() OVER (PARTITION BY v.profile_id ORDER BY v.ts DESC NULLS LAST, v.k, CAST(v.value AS VARCHAR)) AS rn
    FROM (SELECT r.profile_id, r."EMAIL" AS value, r."UPDATED_AT" AS ts, 0 AS k FROM "COHORT"."_ROWS_CUSTOMERS__STAGE_RUNID" r WHERE r."EMAIL" IS NOT NULL AND trim(CAST(r."EMAIL" AS VARCHAR)) <> '') v
  ) ranked WHERE rn = 1
),
"TRAITS" AS (
  SELECT ids.profile_id,
    "TRAIT_EMAIL"."EMAIL" AS "EMAIL"
  FROM "PROFILE_IDS" ids
  LEFT JOIN "TRAIT_EMAIL" ON "TRAIT_EMAIL".profile_id = ids.profile_id
)
SELECT profile_id, "EMAIL", CAST(? AS TIMESTAMP_NTZ) AS updated_at
FROM "TRAITS"
-- parameters: $1 = '2026-11-23 11:00:00';

DROP TABLE IF EXISTS "COHORT"."_WORK_GRAPH_RUNID";

DROP TABLE IF EXISTS "COHORT"."_WORK_PROFILE_IDS_RUNID";


-- ==== step: segments ====
-- segments: members of every segment, holdouts, splits and the history of entries and exits
-- segment gmail (models/project.yaml:15:5)
-- if segment_memberships exists (every run but the first):

CREATE OR REPLACE TABLE "COHORT"."SEGMENT_MEMBERSHIPS__STAGE_RUNID" AS
WITH
-- segment gmail (models/project.yaml:15:5)
"SEGMENT_GMAIL" AS (
  SELECT CAST('gmail' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p."EMAIL" IS NOT NULL AND CAST(p."EMAIL" AS VARCHAR) LIKE ? ESCAPE '\\')
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_GMAIL"
)
SELECT cur.segment, cur.profile_id, coalesce(prev.entered_at, CAST(? AS TIMESTAMP_NTZ)) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
LEFT JOIN "COHORT"."SEGMENT_MEMBERSHIPS" prev ON prev.segment = cur.segment AND prev.profile_id = cur.profile_id
-- parameters: $1 = '%@gmail.%', $2 = '2026-11-23 11:00:00';

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
-- segment gmail (models/project.yaml:15:5)
"SEGMENT_GMAIL" AS (
  SELECT CAST('gmail' AS VARCHAR) AS segment, p.profile_id, false AS holdout, CAST(NULL AS VARCHAR) AS arm FROM "COHORT"."PROFILES__STAGE_RUNID" p WHERE (p."EMAIL" IS NOT NULL AND CAST(p."EMAIL" AS VARCHAR) LIKE ? ESCAPE '\\')
),
"CURRENT" AS (
  SELECT * FROM "SEGMENT_GMAIL"
)
SELECT cur.segment, cur.profile_id, CAST(? AS TIMESTAMP_NTZ) AS entered_at, cur.holdout, cur.arm
FROM "CURRENT" cur
-- parameters: $1 = '%@gmail.%', $2 = '2026-11-23 11:00:00';

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
CREATE TABLE IF NOT EXISTS "COHORT"."_ROWS_CUSTOMERS" LIKE "COHORT"."_ROWS_CUSTOMERS__STAGE_RUNID";
COMMIT;
BEGIN;
ALTER TABLE "COHORT"."_ROWS_CUSTOMERS" SWAP WITH "COHORT"."_ROWS_CUSTOMERS__STAGE_RUNID";
COMMIT;
BEGIN;
DROP TABLE IF EXISTS "COHORT"."_ROWS_CUSTOMERS__STAGE_RUNID";
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
