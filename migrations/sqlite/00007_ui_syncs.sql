-- +goose Up
-- Syncs created from the UI (the YAML ones live in the project): the
-- definition as the API received it, validated, re-read and re-validated
-- against the project whenever it is used.
CREATE TABLE saved_syncs (
    project     TEXT NOT NULL,
    name        TEXT NOT NULL,
    definition  TEXT NOT NULL,         -- JSON, the shape models.ParseSync reads
    updated_by  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (project, name)
);

-- +goose Down
DROP TABLE saved_syncs;
