-- +goose Up
-- One row per `cohort run`: when, how it ended, and per-step timings and row counts.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    only_part   TEXT NOT NULL DEFAULT '',
    started_at  TEXT NOT NULL,          -- RFC 3339, UTC
    finished_at TEXT,
    status      TEXT NOT NULL,          -- running | succeeded | failed
    error       TEXT NOT NULL DEFAULT '',
    failed_step TEXT NOT NULL DEFAULT '',
    steps       TEXT NOT NULL DEFAULT '[]' -- JSON: [{name, started_at, seconds, rows:{table:n}, details:[...]}]
);
CREATE INDEX runs_started_at ON runs (started_at);

-- +goose Down
DROP TABLE runs;
