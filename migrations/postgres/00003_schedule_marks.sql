-- +goose Up
-- One row per scheduled job of `cohort serve` ("run", "sync:NAME", "sync:NAME@run"):
-- the latest scheduled time it has handled, so replicas sharing this store fire
-- each slot once, and a restart after downtime runs a missed job once, not once
-- per missed slot. A row with started_at but no finished_at was interrupted.
CREATE TABLE schedule_marks (
    project     TEXT NOT NULL,
    job         TEXT NOT NULL,
    slot        TIMESTAMPTZ NOT NULL,            -- latest handled slot (after: run: the warehouse run's end)
    claims      INTEGER NOT NULL DEFAULT 0, -- bumped by every start: a compare-and-set guard
    started_at  TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    status      TEXT NOT NULL DEFAULT '',   -- succeeded | failed | '' (never ran)
    error       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (project, job)
);

-- +goose Down
DROP TABLE schedule_marks;
