-- +goose Up
-- triage_writes: the pull requests the triage has begun to write to. A
-- reconcile records its pull request here before its first write to GitHub.
-- A reconcile of a pull request just opened may skip reading GitHub
-- ("fresh") only when no row exists: then no earlier reconcile can have left
-- a comment there, not even one whose answer was lost on the way back.
CREATE TABLE triage_writes (
    repository     text        NOT NULL, -- lower(owner/name)
    number         integer     NOT NULL,
    first_write_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (repository, number)
);

-- +goose Down
DROP TABLE triage_writes;
