-- +goose Up
-- One row per `cohort sync` of one sync: when, how it ended, and what moved.
CREATE TABLE sync_runs (
    id          TEXT PRIMARY KEY,
    project     TEXT NOT NULL,
    sync        TEXT NOT NULL,
    destination TEXT NOT NULL,
    mode        TEXT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      TEXT NOT NULL,          -- running | succeeded | partial | failed
    added       BIGINT NOT NULL DEFAULT 0,
    changed     BIGINT NOT NULL DEFAULT 0,
    removed     BIGINT NOT NULL DEFAULT 0,
    rejected    BIGINT NOT NULL DEFAULT 0,
    retried     BIGINT NOT NULL DEFAULT 0,
    pending     BIGINT NOT NULL DEFAULT 0,
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_sync ON sync_runs (project, sync, started_at);
CREATE INDEX sync_runs_started_at ON sync_runs (started_at);

-- Rows a destination refused, with its reason; kept for retention.rejections.
CREATE TABLE sync_rejections (
    run_id      TEXT NOT NULL,
    project     TEXT NOT NULL,
    sync        TEXT NOT NULL,
    sync_key    TEXT NOT NULL,          -- the match key as sent (e-mail, phone, ...)
    profile_id  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    rejected_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX sync_rejections_run ON sync_rejections (run_id);
CREATE INDEX sync_rejections_at ON sync_rejections (rejected_at);

-- +goose Down
DROP TABLE sync_rejections;
DROP TABLE sync_runs;
