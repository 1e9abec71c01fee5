-- +goose Up
-- One row per `cohort run`: when, how it ended, and per-step timings and row counts.
CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    warehouse   TEXT NOT NULL,
    only_part   TEXT NOT NULL DEFAULT '',
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      TEXT NOT NULL,          -- running | succeeded | failed
    error       TEXT NOT NULL DEFAULT '',
    failed_step TEXT NOT NULL DEFAULT '',
    steps       JSONB NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_started_at ON runs (started_at);

-- +goose Down
DROP TABLE runs;
