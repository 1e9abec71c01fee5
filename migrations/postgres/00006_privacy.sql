-- +goose Up
-- The suppression list of `cohort forget`: forgotten identifiers, only as the
-- SHA-256 hex of "type:normalized value". Runs read no source row holding one.
CREATE TABLE suppressions (
    project         TEXT NOT NULL,
    identifier_hash TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    added_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project, identifier_hash)
);

-- One row per erasure request; step is the last step done (suppressed, output,
-- destinations, done), so that a request cut short is resumed by the next
-- forget, run or sync. profile_ids are the person's profiles when forgotten.
CREATE TABLE forget_requests (
    id           TEXT PRIMARY KEY,       -- the requested identifier's hash
    project      TEXT NOT NULL,
    step         TEXT NOT NULL,
    profile_ids  TEXT NOT NULL DEFAULT '[]', -- JSON
    requested_at TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ
);

-- What each sync's destination answered to the erasure of a request.
CREATE TABLE erasures (
    request_id  TEXT NOT NULL,
    sync        TEXT NOT NULL,
    destination TEXT NOT NULL,
    status      TEXT NOT NULL,           -- erased | removed | not_held | failed | unsupported
    records     INTEGER NOT NULL DEFAULT 0,
    detail      TEXT NOT NULL DEFAULT '',
    at          TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (request_id, sync)
);

-- +goose Down
DROP TABLE erasures;
DROP TABLE forget_requests;
DROP TABLE suppressions;
