-- +goose Up
-- deliveries is osprey's inbox and audit log: one row per webhook delivery GitHub
-- sent us (keyed by its X-GitHub-Delivery GUID), written before GitHub gets its 2xx.
CREATE TABLE deliveries (
    guid                text PRIMARY KEY,
    event               text NOT NULL,
    action              text,
    installation_id     bigint,
    repository          text,
    sender              text,
    hook_id             bigint,
    received_at         timestamptz NOT NULL DEFAULT now(),
    status              text NOT NULL DEFAULT 'queued'
                        CHECK (status IN ('queued', 'retrying', 'processed', 'ignored', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    last_error          text,
    started_at          timestamptz,
    finished_at         timestamptz,
    redeliveries        integer NOT NULL DEFAULT 0,
    last_redelivered_at timestamptz,
    -- The exact bytes GitHub sent. json (not jsonb): Postgres checks that it
    -- is valid JSON in UTF-8 but keeps it as it came, and jsonb would refuse
    -- the \u0000 that GitHub payloads may carry. lz4 compresses several
    -- times faster than the default pglz.
    payload             json COMPRESSION lz4 NOT NULL
) WITH (fillfactor = 85);

-- Only received_at is indexed besides the key: a worker updates the row after
-- each attempt (status, attempts, times), and with no index on those columns
-- and room left on each page (fillfactor) that update is HOT and writes no
-- index entries. Operators find deliveries by time, then filter.
CREATE INDEX deliveries_received_at_idx ON deliveries (received_at);

-- +goose Down
DROP TABLE deliveries;
