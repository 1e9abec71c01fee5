-- +goose Up
-- A sync deleted from the UI keeps its definition, marked deleted: it is
-- neither listed, scheduled nor run, but a forget still asks its
-- destination to erase the people it sent (its snapshot stays).
ALTER TABLE saved_syncs ADD COLUMN deleted_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE saved_syncs DROP COLUMN deleted_at;
