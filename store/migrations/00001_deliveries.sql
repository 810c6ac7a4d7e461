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
                        CHECK (status IN ('queued', 'processing', 'retrying', 'processed', 'ignored', 'failed')),
    attempts            integer NOT NULL DEFAULT 0,
    last_error          text,
    started_at          timestamptz,
    finished_at         timestamptz,
    redeliveries        integer NOT NULL DEFAULT 0,
    last_redelivered_at timestamptz,
    -- json (not jsonb) keeps the exact bytes GitHub sent, accepts every string
    -- GitHub can send (jsonb refuses \u0000), and still answers -> and ->>.
    payload             json NOT NULL
);

CREATE INDEX deliveries_received_at_idx ON deliveries (received_at);
CREATE INDEX deliveries_unfinished_idx ON deliveries (status, received_at)
    WHERE status IN ('queued', 'processing', 'retrying', 'failed');

-- +goose Down
DROP TABLE deliveries;
