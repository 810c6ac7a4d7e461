-- +goose Up
-- scans: one backfill of one kind of object of one repository (docs/backfill.md).
-- A scan of kind 'repository' reads the repository itself and is the parent
-- of one scan per kind it was asked for. A list scan's spawn job learns how
-- many pages the list has (pages_total) and queues a job per page; the job
-- that completes the last page finishes the scan.
CREATE TABLE scans (
    id              bigserial   PRIMARY KEY,
    parent_id       bigint      REFERENCES scans (id) ON DELETE CASCADE,
    installation_id bigint      NOT NULL,
    owner           text        NOT NULL,
    repo            text        NOT NULL,
    repository_id   bigint,               -- known once the scan has read the repository
    kind            text        NOT NULL, -- repository, pulls, issues, comments, labels, milestones, files, pull, issue, pull_files
    number          integer,              -- the pull request or issue of pull, issue and pull_files
    kinds           text[],               -- what a repository scan spawns
    since           timestamptz,          -- only what was updated since (not for a complete scan)
    complete        boolean     NOT NULL, -- the whole list (state=all, no since): its end may sweep
    requested_by    text        NOT NULL, -- install, cli, api
    state           text        NOT NULL DEFAULT 'queued', -- queued, running, done, failed
    pages_total     integer,              -- NULL until the spawn job knows
    -- Pages done, items and the requests of completed pages are in
    -- scan_pages (a row per page, no row every page updates); these count
    -- the requests of attempts that failed.
    api_calls       bigint      NOT NULL DEFAULT 0,
    not_modified    bigint      NOT NULL DEFAULT 0, -- answers GitHub gave as 304 (free of rate limit)
    errors          integer     NOT NULL DEFAULT 0, -- failed attempts, retried or not
    swept           integer     NOT NULL DEFAULT 0, -- rows marked deleted at the end
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz,
    heartbeat_at    timestamptz NOT NULL DEFAULT now() -- last sign of life; a stalled scan is abandoned
);

-- One scan of a (repository, kind[, number]) at a time.
CREATE UNIQUE INDEX scans_one_at_a_time ON scans (lower(owner), lower(repo), kind, coalesce(number, 0))
    WHERE state IN ('queued', 'running');
CREATE INDEX scans_parent_idx ON scans (parent_id) WHERE parent_id IS NOT NULL;

-- scan_pages: the pages a scan has completed, each counted once however
-- often its job ran, with the ids it saw (for the sweep) and the requests
-- its runs made.
CREATE TABLE scan_pages (
    scan_id      bigint      NOT NULL REFERENCES scans (id) ON DELETE CASCADE,
    page         integer     NOT NULL,
    items        integer     NOT NULL,
    ids          bigint[]    NOT NULL,
    api_calls    integer     NOT NULL,
    not_modified integer     NOT NULL,
    done_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scan_id, page)
);

-- When each kind of a repository was last scanned to the end: the time the
-- scan started, so everything changed before it is in the replica.
ALTER TABLE repositories
    ADD COLUMN pulls_last_scanned_at      timestamptz,
    ADD COLUMN issues_last_scanned_at     timestamptz,
    ADD COLUMN comments_last_scanned_at   timestamptz,
    ADD COLUMN labels_last_scanned_at     timestamptz,
    ADD COLUMN milestones_last_scanned_at timestamptz,
    ADD COLUMN files_last_scanned_at      timestamptz;

-- +goose Down
ALTER TABLE repositories
    DROP COLUMN pulls_last_scanned_at,
    DROP COLUMN issues_last_scanned_at,
    DROP COLUMN comments_last_scanned_at,
    DROP COLUMN labels_last_scanned_at,
    DROP COLUMN milestones_last_scanned_at,
    DROP COLUMN files_last_scanned_at;
DROP TABLE scan_pages;
DROP TABLE scans;
