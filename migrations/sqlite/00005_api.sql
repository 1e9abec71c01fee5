-- +goose Up
-- API tokens of `cohort serve`: only the SHA-256 of a token is kept.
CREATE TABLE api_tokens (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,  -- hex SHA-256 of the token
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
);

-- Who did what, when: every change and every profile view. Append-only:
-- the store has no statement that updates or deletes a row of it.
CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,             -- token name, or "cli"
    role    TEXT NOT NULL,
    action  TEXT NOT NULL,             -- e.g. segment.create, profile.view
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

-- Segments saved from the UI (the YAML ones live in the project).
CREATE TABLE saved_segments (
    project     TEXT NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,         -- JSON, the shape models.ParseSegment reads
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (project, name)
);

-- Syncs paused from the API: the scheduler skips them until resumed.
CREATE TABLE sync_pauses (
    project    TEXT NOT NULL,
    sync       TEXT NOT NULL,
    paused_by  TEXT NOT NULL,
    paused_at  TEXT NOT NULL,
    PRIMARY KEY (project, sync)
);

-- +goose Down
DROP TABLE sync_pauses;
DROP TABLE saved_segments;
DROP TABLE audit_log;
DROP TABLE api_tokens;
