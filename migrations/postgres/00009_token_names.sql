-- +goose Up
-- A token's name is unique among the live tokens only: a revoked token keeps
-- its row (who had access, and until when) and its name can be given again.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_name_key;
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens (name) WHERE revoked_at IS NULL;

-- +goose Down
DROP INDEX api_tokens_live_name;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_name_key UNIQUE (name);
