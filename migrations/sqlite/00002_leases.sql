-- +goose Up
-- One row per held lease (see engine/state/lease.go): an exclusive claim on a
-- key such as "project:shop", renewed by its holder until released. A row
-- whose expires_at has passed, or whose process is gone, may be taken over.
CREATE TABLE leases (
    key         TEXT PRIMARY KEY,
    token       TEXT NOT NULL,          -- unique per acquisition
    holder      TEXT NOT NULL,          -- what holds it, e.g. "cohort run"
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,          -- RFC 3339, UTC
    expires_at  TEXT NOT NULL
);

-- +goose Down
DROP TABLE leases;
